// Socket.IO v5 conformance: every Socket.IO line of ../shared/CONFORMANCE.md, checked byte
// for byte over a raw WebSocket (and, for the basics, raw long-polling) against the
// conformance server's /socket.io/ (namespaces / and /custom, `auth`, `message` ->
// `message-back`, `message-with-ack`; connectTimeout 1000).
//
// Server under test: $SIO_BIN_DIR/conformance (skipped while it is not built), or the Node
// reference server with SIO_TEST_TARGET=reference (which validates these tests).
//   SIO_TEST_TARGET=reference node --test tests/interop/socketio.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { conformanceTarget, startConformance, stopAndCheck } from './lib/server.mjs';
import { Polling, closeHttp, request, SEP } from './lib/http.mjs';
import { connectWs } from './lib/ws.mjs';
import { JITTER, budget } from './lib/timeouts.mjs';

const CONNECT_TIMEOUT = 1000;
const PING_INTERVAL = 300;
const target = conformanceTarget();

const PH0 = '{"_placeholder":true,"num":0}';
const PH1 = '{"_placeholder":true,"num":1}';

describe(`Socket.IO v5 against ${target.name}`, { skip: target.skip }, () => {
  let server;
  const sockets = [];

  before(async () => {
    server = await startConformance(target);
  });

  after(async () => {
    for (const s of sockets) s.terminate();
    closeHttp();
    await stopAndCheck(server);
  });

  /** An Engine.IO WebSocket session on /socket.io/ (open packet consumed), pings answered. */
  async function eio({ autoPong = true } = {}) {
    const s = connectWs(`${server.wsUrl}/socket.io/?EIO=4&transport=websocket`, { autoPong });
    sockets.push(s);
    await s.opened;
    const open = await s.nextText();
    assert.match(open, /^0\{"sid":"[^"]+","upgrades":\[\],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000\}$/);
    return s;
  }

  /** `eio()` plus CONNECT to `/`: the CONNECT answer and the `auth` event consumed. */
  async function connected(opts) {
    const s = await eio(opts);
    s.send('40');
    assert.match(await s.nextText(), /^40\{"sid":"[^"]+"\}$/);
    assert.equal(await s.nextText(), '42["auth",{}]');
    return s;
  }

  async function assertNoMessage(s, ms) {
    const got = await s.drain(ms);
    assert.deepEqual(got, [], `unexpected frames: ${JSON.stringify(got)}`);
  }

  describe('connect', () => {
    test('40 -> 40{"sid":"…"} (one key), then 42["auth",{}]', async () => {
      const s = await eio();
      s.send('40');
      const ack = await s.nextText();
      assert.match(ack, /^40\{"sid":"[^"]+"\}$/);
      assert.deepEqual(Object.keys(JSON.parse(ack.slice(2))), ['sid']);
      assert.equal(await s.nextText(), '42["auth",{}]');
    });

    test('40{"token":"123"} -> 40{…} then 42["auth",{"token":"123"}]', async () => {
      const s = await eio();
      s.send('40{"token":"123"}');
      assert.match(await s.nextText(), /^40\{"sid":"[^"]+"\}$/);
      assert.equal(await s.nextText(), '42["auth",{"token":"123"}]');
    });

    test('40/custom, -> 40/custom,{"sid":"…"} then 42/custom,["auth",{}]', async () => {
      const s = await eio();
      s.send('40/custom,');
      assert.match(await s.nextText(), /^40\/custom,\{"sid":"[^"]+"\}$/);
      assert.equal(await s.nextText(), '42/custom,["auth",{}]');
    });

    test('40/custom,{"token":"abc"} -> 40/custom,{…} then 42/custom,["auth",{"token":"abc"}]', async () => {
      const s = await eio();
      s.send('40/custom,{"token":"abc"}');
      assert.match(await s.nextText(), /^40\/custom,\{"sid":"[^"]+"\}$/);
      assert.equal(await s.nextText(), '42/custom,["auth",{"token":"abc"}]');
    });

    test('40/custom (no trailing comma) is accepted', async () => {
      const s = await eio();
      s.send('40/custom');
      assert.match(await s.nextText(), /^40\/custom,\{"sid":"[^"]+"\}$/);
      assert.equal(await s.nextText(), '42/custom,["auth",{}]');
    });

    test('40/random -> 44/random,{"message":"Invalid namespace"}; the connection stays open', async () => {
      const s = await eio();
      s.send('40/random');
      assert.equal(await s.nextText(), '44/random,{"message":"Invalid namespace"}');
      s.send('40');
      assert.match(await s.nextText(), /^40\{"sid":"[^"]+"\}$/);
      assert.equal(await s.nextText(), '42["auth",{}]');
      assert.equal(s.isClosed, false);
    });

    test('4abc -> the server closes the connection', async () => {
      const s = await eio();
      s.send('4abc');
      await s.waitClosed();
    });

    test('no CONNECT at all -> closed after connectTimeout', async () => {
      const s = await eio(); // pings answered: only the missing CONNECT can close it
      const t0 = Date.now();
      await s.waitClosed(CONNECT_TIMEOUT + budget(2000));
      const waited = Date.now() - t0;
      assert.ok(waited >= CONNECT_TIMEOUT - JITTER && waited <= CONNECT_TIMEOUT + 3 * JITTER,
        `closed ${waited} ms after the open packet, expected ~${CONNECT_TIMEOUT}`);
    });

    test('over polling: no CONNECT -> the session is closed after connectTimeout', async () => {
      const p = new Polling(server.url, '/socket.io/');
      await p.handshake();
      const t0 = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - t0 < CONNECT_TIMEOUT + budget(2000)) {
        const res = await p.get({ timeout: budget(3000) });
        status = res.status;
        if (status === 200 && res.text.split(SEP).includes('2')) await p.post('3');
        if (status === 200 && res.text.split(SEP).includes('1')) break;
      }
      const waited = Date.now() - t0;
      assert.ok(waited >= CONNECT_TIMEOUT - JITTER && waited <= CONNECT_TIMEOUT + 3 * JITTER,
        `closed ${waited} ms after the handshake, expected ~${CONNECT_TIMEOUT}`);
      assert.equal((await p.get()).status, 400);
    });

    test('over polling: POST 40 -> GETs bring 40{"sid":"…"} then 42["auth",{}]', async () => {
      const p = new Polling(server.url, '/socket.io/');
      await p.handshake();
      const post = await p.post('40');
      assert.equal(post.status, 200);
      const packets = await collectPolling(p, 2);
      assert.match(packets[0], /^40\{"sid":"[^"]+"\}$/);
      assert.equal(packets[1], '42["auth",{}]');
    });
  });

  describe('disconnect', () => {
    test('41 -> nothing sent back and the Engine.IO connection stays up', async () => {
      const s = await connected({ autoPong: false });
      s.send('41');
      // The next frame is the server's ping: no answer to the DISCONNECT, no close.
      const next = await s.nextText(PING_INTERVAL + budget(1000));
      assert.equal(next, '2');
      s.send('3');
      // The Engine.IO session is still usable: connect again.
      s.send('40');
      assert.match(await s.nextText(), /^40\{"sid":"[^"]+"\}$/);
      assert.equal(await s.nextText(), '42["auth",{}]');
    });

    test('40/custom then 41/custom, then an event on / still gets its answer', async () => {
      const s = await connected();
      s.send('40/custom');
      assert.match(await s.nextText(), /^40\/custom,\{"sid":"[^"]+"\}$/);
      assert.equal(await s.nextText(), '42/custom,["auth",{}]');
      s.send('41/custom');
      s.send('42["message","still here"]');
      assert.equal(await s.nextText(), '42["message-back","still here"]');
      await assertNoMessage(s, 50);
    });
  });

  describe('events and acks', () => {
    test('42["message",1,"2",{"3":[true]}] -> 42["message-back",1,"2",{"3":[true]}]', async () => {
      const s = await connected();
      s.send('42["message",1,"2",{"3":[true]}]');
      assert.equal(await s.nextText(), '42["message-back",1,"2",{"3":[true]}]');
    });

    test('452-["message",<2 placeholders>] + 010203, 040506 -> 452-["message-back",…] + the same frames in order', async () => {
      const s = await connected();
      s.send(`452-["message",${PH0},${PH1}]`);
      s.send(Buffer.from([1, 2, 3]));
      s.send(Buffer.from([4, 5, 6]));
      assert.equal(await s.nextText(), `452-["message-back",${PH0},${PH1}]`);
      assert.equal((await s.nextBinary()).toString('hex'), '010203');
      assert.equal((await s.nextBinary()).toString('hex'), '040506');
    });

    test('42456["message-with-ack",1,"2",{"3":[false]}] -> 43456[1,"2",{"3":[false]}]', async () => {
      const s = await connected();
      s.send('42456["message-with-ack",1,"2",{"3":[false]}]');
      assert.equal(await s.nextText(), '43456[1,"2",{"3":[false]}]');
    });

    test('452-789["message-with-ack",<2 placeholders>] + 2 frames -> 462-789[<2 placeholders>] + the same frames', async () => {
      const s = await connected();
      s.send(`452-789["message-with-ack",${PH0},${PH1}]`);
      s.send(Buffer.from([1, 2, 3]));
      s.send(Buffer.from([4, 5, 6]));
      assert.equal(await s.nextText(), `462-789[${PH0},${PH1}]`);
      assert.equal((await s.nextBinary()).toString('hex'), '010203');
      assert.equal((await s.nextBinary()).toString('hex'), '040506');
    });

    test('events on /custom get no answer there (no handler), / still answers', async () => {
      const s = await connected();
      s.send('40/custom,');
      assert.match(await s.nextText(), /^40\/custom,\{"sid":"[^"]+"\}$/);
      assert.equal(await s.nextText(), '42/custom,["auth",{}]');
      s.send('42/custom,["message","x"]');
      s.send('42["message","y"]');
      assert.equal(await s.nextText(), '42["message-back","y"]');
    });

    test('JSON written back is compact and keeps the client\'s key order', async () => {
      const s = await connected();
      s.send('42[ "message" , {"z":1, "a" : [ 1 , {"y":null,"b":"x"} ] , "m":{}} , [ ] ]');
      assert.equal(await s.nextText(), '42["message-back",{"z":1,"a":[1,{"y":null,"b":"x"}],"m":{}},[]]');
    });

    test('arguments come back as JSON.stringify writes them (1e20, 0.1, \\u0000, lone surrogate, deep nesting)', async () => {
      const s = await connected();
      const args = '[1e20,0.1,-5,1.5E3,"\\u0000","\\ud800","\\/","a\\"b\\\\c\\n",' +
        `${'['.repeat(32)}true${']'.repeat(32)},{"k":1E-7}]`;
      const sent = `42["message",${args.slice(1)}`;
      s.send(sent);
      const expected = `42${JSON.stringify(['message-back', ...JSON.parse(args)])}`;
      assert.equal(await s.nextText(), expected);
    });

    test('binary placeholders at any depth: each buffer comes back in its place', async () => {
      const s = await connected();
      s.send(`452-12["message-with-ack",{"a":[1,${PH1}],"b":{"c":${PH0}}},"t"]`);
      s.send(Buffer.from([0xaa]));
      s.send(Buffer.from([0xbb, 0xcc]));
      const head = await s.nextText();
      const m = /^462-12(\[.*\])$/.exec(head);
      assert.ok(m, `not a BINARY_ACK 12 with 2 attachments: ${head}`);
      const frames = [await s.nextBinary(), await s.nextBinary()];
      // The server may number placeholders as it likes; what matters is where each buffer lands.
      const args = reconstruct(JSON.parse(m[1]), frames);
      assert.deepEqual(args, [{ a: [1, 'bbcc'], b: { c: 'aa' } }, 't']);
    });

    test('over polling: binary event as b+base64 attachments comes back the same way', async () => {
      const p = new Polling(server.url, '/socket.io/');
      await p.handshake();
      await p.post('40');
      const hello = await collectPolling(p, 2);
      assert.equal(hello[1], '42["auth",{}]');
      const post = await p.post([`452-["message",${PH0},${PH1}]`, 'bAQID', 'bBAUG'].join(SEP));
      assert.equal(post.status, 200);
      const back = await collectPolling(p, 3);
      assert.deepEqual(back, [`452-["message-back",${PH0},${PH1}]`, 'bAQID', 'bBAUG']);
    });

    test('over polling: several events in one POST payload, answered in order', async () => {
      // (After the CONNECT answer: Node's socket.io closes a connection whose event for a
      // namespace overtakes that namespace's pending CONNECT; clients never do that.)
      const p = new Polling(server.url, '/socket.io/');
      await p.handshake();
      await p.post('40');
      await collectPolling(p, 2);
      const post = await p.post(['42["message","a"]', '42["message","b"]', '421["message-with-ack","c"]'].join(SEP));
      assert.equal(post.status, 200);
      assert.deepEqual(await collectPolling(p, 3), ['42["message-back","a"]', '42["message-back","b"]', '431["c"]']);
    });

    test('over polling: binary attachments arriving in a later POST than their header', async () => {
      const p = new Polling(server.url, '/socket.io/');
      await p.handshake();
      await p.post('40');
      await collectPolling(p, 2);
      assert.equal((await p.post(`452-["message",${PH0},${PH1}]`)).status, 200);
      assert.equal((await p.post('bAQID')).status, 200);
      assert.equal((await p.post('bBAUG')).status, 200);
      assert.deepEqual(await collectPolling(p, 3), [`452-["message-back",${PH0},${PH1}]`, 'bAQID', 'bBAUG']);
    });

    test('CORS on /socket.io/: any origin (preflight and GET)', async () => {
      const origin = 'http://example.test:8080';
      const url = `${server.url}/socket.io/?EIO=4&transport=polling`;
      const pre = await request(url, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
      });
      assert.ok(pre.status === 200 || pre.status === 204, `preflight status ${pre.status}`);
      assert.ok(['*', origin].includes(pre.headers['access-control-allow-origin']),
        `preflight Access-Control-Allow-Origin: ${pre.headers['access-control-allow-origin']}`);
      const res = await request(url, { headers: { Origin: origin } });
      assert.equal(res.status, 200);
      assert.ok(['*', origin].includes(res.headers['access-control-allow-origin']));
    });

    test('over polling: ack, then 4abc -> the session is closed (then GET -> 400)', async () => {
      const p = new Polling(server.url, '/socket.io/');
      await p.handshake();
      await p.post('40');
      await collectPolling(p, 2);
      await p.post('42456["message-with-ack",1,"2",{"3":[false]}]');
      assert.deepEqual(await collectPolling(p, 1), ['43456[1,"2",{"3":[false]}]']);
      try { await p.post('4abc'); } catch { /* the server may drop the request */ }
      // A GET may still see the close packet; after that the sid is gone.
      let res = await p.get();
      if (res.status === 200) {
        assert.ok(res.text.split(SEP).every((pkt) => pkt === '1' || pkt === '6' || pkt === '2'),
          `only close/noop/ping packets may follow: ${JSON.stringify(res.text)}`);
        res = await p.get();
      }
      assert.equal(res.status, 400);
    });

    test('4abc (unknown packet type) -> the server closes the connection', async () => {
      const s = await connected();
      s.send('4abc');
      await s.waitClosed();
    });

    test('42{} (event payload not an array) -> the server closes the connection', async () => {
      const s = await connected();
      s.send('42{}');
      await s.waitClosed();
    });

    test('42abc[…] (bad ack id) -> the server closes the connection', async () => {
      const s = await connected();
      s.send('42abc["message-with-ack",1,"2",{"3":[false]}]');
      await s.waitClosed();
    });
  });
});

/**
 * GETs on a polling session until `n` packets other than pings have arrived (pings are
 * answered); returns those packets in order.
 */
async function collectPolling(p, n) {
  const out = [];
  const deadline = Date.now() + budget(3000);
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${out.length}/${n} packets: ${JSON.stringify(out)}`);
    const res = await p.get();
    assert.equal(res.status, 200, `GET: ${res.status} ${res.text}`);
    for (const pkt of res.text.split(SEP)) {
      if (pkt === '2') await p.post('3');
      else out.push(pkt);
    }
  }
  return out;
}

/** Replaces placeholders with the hex of their attachment (each used exactly once). */
function reconstruct(value, frames) {
  const used = new Set();
  const walk = (v) => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      if (v._placeholder === true && Number.isInteger(v.num)) {
        assert.ok(v.num >= 0 && v.num < frames.length && !used.has(v.num), `bad placeholder ${JSON.stringify(v)}`);
        used.add(v.num);
        return frames[v.num].toString('hex');
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  const out = walk(value);
  assert.equal(used.size, frames.length, 'every attachment is referenced once');
  return out;
}
