// Engine.IO v4 conformance: every Engine.IO line of ../shared/CONFORMANCE.md, checked byte
// for byte over raw HTTP long-polling and raw WebSocket against the conformance server's
// echo at /engine.io/ (pingInterval 300, pingTimeout 200, maxPayload 1000000).
//
// Server under test: $SIO_BIN_DIR/conformance (skipped while it is not built), or the Node
// reference server with SIO_TEST_TARGET=reference (which validates these tests).
//   SIO_TEST_TARGET=reference node --test tests/interop/engineio.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { conformanceTarget, startConformance, stopAndCheck } from './lib/server.mjs';
import { Polling, request, closeHttp, SEP } from './lib/http.mjs';
import { connectWs, openWs } from './lib/ws.mjs';
import { JITTER, budget, sleep, withTimeout } from './lib/timeouts.mjs';
import { Socket as EioSocket } from 'engine.io-client';

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const target = conformanceTarget();

const OPEN_POLLING_RE = /^0\{"sid":"([^"]+)","upgrades":\["websocket"\],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000\}$/;
const OPEN_WS_RE = /^0\{"sid":"([^"]+)","upgrades":\[\],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000\}$/;

describe(`Engine.IO v4 against ${target.name}`, { skip: target.skip }, () => {
  let server;
  let base; // http://127.0.0.1:PORT
  let wsBase; // ws://127.0.0.1:PORT
  const sockets = [];

  before(async () => {
    server = await startConformance(target);
    base = server.url;
    wsBase = server.wsUrl;
  });

  after(async () => {
    for (const s of sockets) s.terminate();
    closeHttp();
    await stopAndCheck(server);
  });

  const eioUrl = (query) => `${base}/engine.io/?${query}`;
  const session = () => new Polling(base, '/engine.io/');
  const ws = (query = 'EIO=4&transport=websocket') => {
    const s = connectWs(`${wsBase}/engine.io/?${query}`);
    sockets.push(s);
    return s;
  };
  const openSocket = async (query) => {
    const s = ws(query);
    await s.opened;
    return s;
  };
  async function wsSession() {
    const s = await openSocket();
    const open = await s.nextText();
    assert.match(open, OPEN_WS_RE);
    return s;
  }
  function assertErrorJson(res, code, message, status = 400) {
    assert.equal(res.status, status, `status for ${JSON.stringify(res.text)}`);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(res.text, JSON.stringify({ code, message }));
  }

  describe('handshake', () => {
    test('polling GET ?EIO=4&transport=polling -> 200 0{sid,upgrades:["websocket"],pingInterval,pingTimeout,maxPayload}', async () => {
      const res = await request(eioUrl('EIO=4&transport=polling'));
      assert.equal(res.status, 200);
      const m = OPEN_POLLING_RE.exec(res.text);
      assert.ok(m, `open packet not exactly as expected: ${res.text}`);
      assert.ok(m[1].length >= 16, `sid too short to be unguessable: ${m[1]}`);
      const again = await request(eioUrl('EIO=4&transport=polling'));
      assert.notEqual(OPEN_POLLING_RE.exec(again.text)[1], m[1], 'each session gets its own sid');
    });

    test('websocket ?EIO=4&transport=websocket -> first message 0{...} with "upgrades":[]', async () => {
      const s = await openSocket();
      const first = await s.next();
      assert.equal(first.binary, false);
      assert.match(first.data, OPEN_WS_RE);
    });

    test('missing EIO -> 400 {"code":5,"message":"Unsupported protocol version"}', async () => {
      assertErrorJson(await request(eioUrl('transport=polling')), 5, 'Unsupported protocol version');
    });

    test('bad EIO (3, 5, abc) -> 400 code 5', async () => {
      for (const v of ['3', '5', 'abc']) {
        assertErrorJson(await request(eioUrl(`EIO=${v}&transport=polling`)), 5, 'Unsupported protocol version');
      }
    });

    test('missing transport -> 400 {"code":0,"message":"Transport unknown"}', async () => {
      assertErrorJson(await request(eioUrl('EIO=4')), 0, 'Transport unknown');
    });

    test('unknown transport -> 400 code 0', async () => {
      assertErrorJson(await request(eioUrl('EIO=4&transport=carrier-pigeon')), 0, 'Transport unknown');
    });

    test('POST without sid -> 400 {"code":2,"message":"Bad handshake method"}', async () => {
      assertErrorJson(await request(eioUrl('EIO=4&transport=polling'), { method: 'POST', body: '4hello' }),
        2, 'Bad handshake method');
    });

    test('PUT without sid -> 400 code 2', async () => {
      assertErrorJson(await request(eioUrl('EIO=4&transport=polling'), { method: 'PUT', body: '4hello' }),
        2, 'Bad handshake method');
    });

    test('unknown sid -> 400 {"code":1,"message":"Session ID unknown"}', async () => {
      assertErrorJson(await request(eioUrl('EIO=4&transport=polling&sid=nosuchsession')), 1, 'Session ID unknown');
    });

    test('websocket with a bad EIO is refused', async () => {
      const s = ws('EIO=3&transport=websocket');
      await s.waitClosed();
      assert.equal((await s.drain(0)).filter((m) => !m.binary && m.data.startsWith('0')).length, 0,
        'no open packet on a refused connection');
    });

    test('CORS: any origin (preflight and GET)', async () => {
      const origin = 'http://example.test:8080';
      const pre = await request(eioUrl('EIO=4&transport=polling'), {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' },
      });
      assert.equal(pre.status, 204, `preflight status ${pre.status}`);
      assert.ok(['*', origin].includes(pre.headers['access-control-allow-origin']),
        `preflight Access-Control-Allow-Origin: ${pre.headers['access-control-allow-origin']}`);
      // as the cors middleware answers it: an empty body, said so, and no body type
      assert.equal(pre.headers['content-length'], '0');
      assert.equal(pre.headers['content-type'], undefined);
      assert.equal(pre.text, '');
      const res = await request(eioUrl('EIO=4&transport=polling'), { headers: { Origin: origin } });
      assert.equal(res.status, 200);
      assert.ok(['*', origin].includes(res.headers['access-control-allow-origin']),
        `Access-Control-Allow-Origin: ${res.headers['access-control-allow-origin']}`);
    });
  });

  describe('messages over polling', () => {
    test('POST 4hello -> 200 ok; next GET -> 4hello', async () => {
      const p = session();
      await p.handshake();
      const post = await p.post('4hello');
      assert.equal(post.status, 200);
      assert.equal(post.text, 'ok');
      const get = await p.get();
      assert.equal(get.status, 200);
      assert.equal(get.text, '4hello');
    });

    test('POST 4test1\\x1e4test2\\x1e4test3 -> one GET returns all three in one payload', async () => {
      const p = session();
      await p.handshake();
      const post = await p.post(['4test1', '4test2', '4test3'].join(SEP));
      assert.equal(post.status, 200);
      const get = await p.get();
      assert.equal(get.status, 200);
      assert.equal(get.text, `4test1${SEP}4test2${SEP}4test3`);
    });

    test('POST 4hello\\x1ebAQIDBA== -> GET returns exactly 4hello\\x1ebAQIDBA== (binary as b + base64)', async () => {
      const p = session();
      await p.handshake();
      const post = await p.post(`4hello${SEP}bAQIDBA==`);
      assert.equal(post.status, 200);
      const get = await p.get();
      assert.equal(get.status, 200);
      assert.equal(get.text, `4hello${SEP}bAQIDBA==`);
    });

    test('POST abc (not a packet) -> session closed; next GET -> 400', async () => {
      const p = session();
      await p.handshake();
      try {
        await p.post('abc');
      } catch { /* the server may drop the request: what counts is the session */ }
      const get = await p.get();
      assert.equal(get.status, 400);
    });

    test('two concurrent GETs -> first 200 "1", second 400/500; then GET -> 400', async () => {
      const p = session();
      await p.handshake();
      const first = p.get();
      await sleep(50); // the first GET is now pending on the server
      const second = await p.get();
      assert.ok(second.status === 400 || second.status === 500, `second GET status ${second.status}`);
      const r1 = await first;
      assert.equal(r1.status, 200);
      assert.equal(r1.text, '1');
      const after = await p.get();
      assert.equal(after.status, 400);
    });
  });

  describe('maxPayload (1000000)', () => {
    test('polling: a POST of 999,991 bytes is taken and echoed intact', async () => {
      const p = session();
      await p.handshake();
      const body = '4' + 'x'.repeat(999990);
      const post = await p.post(body);
      assert.equal(post.status, 200);
      assert.equal(post.text, 'ok');
      const get = await p.get();
      assert.equal(get.status, 200);
      assert.ok(get.text === body, `echo of ${get.text.length} bytes differs`);
    });

    test('polling: a POST over maxPayload -> 413, no body type; the session stays open', async () => {
      const p = session();
      await p.handshake();
      const post = await p.post('4' + 'x'.repeat(1000001));
      assert.equal(post.status, 413);
      assert.equal(post.headers['content-type'], undefined);
      assert.equal(post.text, '');
      // As Node's engine.io: only the POST is refused.
      assert.equal((await p.post('4after')).text, 'ok');
      const get = await p.get();
      assert.equal(get.status, 200);
      assert.equal(get.text, '4after');
    });

    test('websocket: a message over maxPayload -> closed with 1009', async () => {
      const s = await wsSession();
      s.send('4' + 'y'.repeat(1000001));
      const { code } = await s.waitClosed();
      assert.equal(code, 1009);
    });
  });

  describe('messages over WebSocket', () => {
    test('4hello -> 4hello; binary 01 02 03 04 -> the same binary frame', async () => {
      const s = await wsSession();
      s.send('4hello');
      assert.deepEqual(await s.next(), { binary: false, data: '4hello' });
      s.send(Buffer.from([1, 2, 3, 4]));
      const m = await s.next();
      assert.equal(m.binary, true, 'binary echoed as a binary frame');
      assert.equal(m.data.toString('hex'), '01020304');
    });

    test('text abc -> the server closes the WebSocket', async () => {
      const s = await wsSession();
      s.send('abc');
      await s.waitClosed();
    });
  });

  describe('heartbeat', () => {
    test('polling: GET held until the ping is due, returns exactly 2; POST 3 -> 200 (three rounds)', async () => {
      const p = session();
      await p.handshake();
      let since = Date.now();
      for (let round = 0; round < 3; round++) {
        const get = await p.get();
        const waited = Date.now() - since;
        assert.equal(get.status, 200);
        assert.equal(get.text, '2', `round ${round}`);
        assert.ok(waited >= PING_INTERVAL - JITTER && waited <= PING_INTERVAL + JITTER,
          `round ${round}: ping after ${waited} ms, expected ~${PING_INTERVAL}`);
        const pong = await p.post('3');
        since = Date.now();
        assert.equal(pong.status, 200);
        assert.equal(pong.text, 'ok');
      }
    });

    test('polling: no pong -> session gone pingInterval + pingTimeout after the handshake (GET -> 400)', async () => {
      const p = session();
      await p.handshake();
      const t0 = Date.now();
      // Before the deadline the session is there, its ping waiting.
      await sleep(PING_INTERVAL + PING_TIMEOUT - JITTER - 20 - (Date.now() - t0));
      const early = await p.get();
      assert.equal(early.status, 200, `session already gone ${Date.now() - t0} ms after the handshake`);
      assert.equal(early.text, '2');
      // Just past the deadline it is gone.
      await sleep(PING_INTERVAL + PING_TIMEOUT + JITTER - (Date.now() - t0));
      const late = await p.get({ timeout: budget(2000) });
      assert.equal(late.status, 400, `session still there ${Date.now() - t0} ms after the handshake`);
    });

    test('websocket: 2 every pingInterval; answered 3s keep it alive', async () => {
      const s = await wsSession();
      let since = Date.now();
      for (let round = 0; round < 3; round++) {
        const ping = await s.nextText(budget(2000));
        const waited = Date.now() - since;
        assert.equal(ping, '2');
        assert.ok(waited >= PING_INTERVAL - JITTER && waited <= PING_INTERVAL + JITTER,
          `round ${round}: ping after ${waited} ms, expected ~${PING_INTERVAL}`);
        s.send('3');
        since = Date.now();
      }
      s.send('4still-here');
      assert.equal(await s.nextText(), '4still-here');
      assert.equal(s.isClosed, false);
    });

    test('websocket: no pong -> the server closes the socket pingTimeout after the ping', async () => {
      const s = await wsSession();
      assert.equal(await s.nextText(budget(2000)), '2');
      const pingAt = Date.now();
      await s.waitClosed(PING_TIMEOUT + budget(1000));
      const waited = Date.now() - pingAt;
      // The close event also waits for the close handshake and the TCP close: 2x jitter.
      assert.ok(waited >= PING_TIMEOUT - JITTER && waited <= PING_TIMEOUT + 2 * JITTER,
        `closed ${waited} ms after the ping, expected ~${PING_TIMEOUT}`);
    });
  });

  describe('close', () => {
    test('polling: with a GET pending, POST 1 -> pending GET returns 200 6; then GET -> 400', async () => {
      const p = session();
      await p.handshake();
      const pending = p.get();
      await sleep(50);
      await p.post('1');
      const r = await pending;
      assert.equal(r.status, 200);
      assert.equal(r.text, '6');
      const after = await p.get();
      assert.equal(after.status, 400);
    });

    test('websocket: 1 -> the server closes the socket', async () => {
      const s = await wsSession();
      s.send('1');
      await s.waitClosed();
    });
  });

  describe('upgrade', () => {
    async function upgrade() {
      const p = session();
      await p.handshake();
      const pending = p.get();
      await sleep(30);
      const s = await openSocket(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`);
      s.send('2probe');
      assert.deepEqual(await s.next(), { binary: false, data: '3probe' }, 'first frame answers the probe (no open packet)');
      const released = await pending;
      assert.equal(released.status, 200);
      assert.equal(released.text, '6');
      s.send('5');
      return { p, s };
    }

    test('polling then WebSocket with sid: 2probe -> 3probe, pending GET -> 6, 5, then 4hello -> 4hello', async () => {
      const { s } = await upgrade();
      s.send('4hello');
      assert.deepEqual(await s.next(), { binary: false, data: '4hello' });
    });

    test('packets echoed during the upgrade arrive over the WebSocket after 5, in order, exactly once', async () => {
      const p = session();
      await p.handshake();
      const pending = p.get();
      await sleep(30);
      const s = await openSocket(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`);
      s.send('2probe');
      assert.deepEqual(await s.next(), { binary: false, data: '3probe' });
      assert.equal((await pending).text, '6');
      // The upgrade is under way: the polling side still takes POSTs.
      const post = await p.post(`4during-1${SEP}4during-2${SEP}bAQIDBA==`);
      assert.equal(post.status, 200);
      s.send('5');
      s.send('4after');
      const frames = [];
      while (frames.length < 4) {
        const m = await s.next();
        if (!m.binary && m.data === '2') { s.send('3'); continue; }
        frames.push(m.binary ? `bin:${m.data.toString('hex')}` : m.data);
      }
      assert.deepEqual(frames, ['4during-1', '4during-2', 'bin:01020304', '4after']);
      const extra = (await s.drain(100)).filter((m) => m.binary || m.data !== '2');
      assert.deepEqual(extra, [], 'nothing delivered twice');
    });

    test('after the upgrade: polling GET -> 400; second WebSocket with the sid closed, the first keeps working', async () => {
      const { p, s } = await upgrade();
      const get = await p.get();
      assert.equal(get.status, 400);
      const second = ws(`EIO=4&transport=websocket&sid=${encodeURIComponent(p.sid)}`);
      await second.waitClosed();
      s.send('4hello');
      assert.deepEqual(await s.next(), { binary: false, data: '4hello' });
    });
  });

  describe('official engine.io-client', () => {
    const modes = [
      { name: 'websocket-only', opts: { transports: ['websocket'] }, final: 'websocket' },
      { name: 'polling-only', opts: { transports: ['polling'], upgrade: false }, final: 'polling' },
      { name: 'polling-then-upgrade', opts: { transports: ['polling', 'websocket'] }, final: 'websocket' },
    ];
    for (const mode of modes) {
      test(`${mode.name}: text, binary and large messages echoed; client close`, async () => {
        const sock = new EioSocket(base, { path: '/engine.io/', ...mode.opts });
        const received = [];
        const waiters = [];
        let closeReason = null;
        sock.on('close', (reason, desc) => { closeReason = `${reason} ${desc?.message ?? desc?.description ?? ''}`; });
        sock.on('message', (d) => {
          received.push(d);
          while (waiters.length && waiters[0].n <= received.length) waiters.shift().resolve();
        });
        const upto = (n) => withTimeout(new Promise((resolve) => {
          if (received.length >= n) resolve(); else waiters.push({ n, resolve });
        }), budget(10000), `${n} echoed messages`).catch((e) => {
          throw new Error(`${e.message}; got ${received.length}, transport ${sock.transport?.name}, ` +
            `state ${sock.readyState}, closed: ${closeReason}`);
        });
        try {
          await withTimeout(new Promise((resolve, reject) => {
            sock.once('open', resolve);
            sock.once('error', reject);
          }), budget(5000), 'open');
          if (mode.final !== sock.transport.name) {
            await withTimeout(new Promise((resolve) => sock.once('upgrade', resolve)), budget(5000), 'upgrade');
          }
          assert.equal(sock.transport.name, mode.final);
          const bigText = 'é'.repeat(40000) + '✓'; // large, yet small enough to fit between heartbeats on a loaded machine
          const bigBin = Buffer.alloc(100000);
          for (let i = 0; i < bigBin.length; i++) bigBin[i] = (i * 7) & 0xff;
          sock.send('hello');
          sock.send(Buffer.from([1, 2, 3, 4]));
          sock.send('');
          sock.send(bigText);
          sock.send(bigBin);
          await upto(5);
          assert.equal(received[0], 'hello');
          assert.ok(Buffer.isBuffer(received[1]) || received[1] instanceof ArrayBuffer, 'binary stays binary');
          assert.equal(Buffer.from(received[1]).toString('hex'), '01020304');
          assert.equal(received[2] ?? '', ''); // the client's parser yields undefined for an empty message
          assert.ok(received[3] === bigText, 'large text intact');
          assert.ok(Buffer.from(received[4]).equals(bigBin), 'large binary intact');
          // Stays up across several heartbeats.
          await sleep(PING_INTERVAL * 3);
          assert.equal(sock.readyState, 'open');
          sock.send('still');
          await upto(6);
          assert.equal(received[5], 'still');
          const closed = new Promise((resolve) => sock.once('close', (reason) => resolve(reason)));
          sock.close();
          assert.equal(await withTimeout(closed, budget(3000), 'close'), 'forced close');
        } finally {
          sock.close();
        }
      });
    }
  });
});
