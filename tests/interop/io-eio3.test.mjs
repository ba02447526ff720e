// socket.io-client 2.5 (Engine.IO v3, Socket.IO protocol v4) against a server with allowEIO3:
// $SIO_BIN_DIR/iofeatures --allow-eio3, or its Node twin (reference/eio3-server.mjs) with
// SIO_TEST_TARGET=reference, which validates these tests:
//   SIO_TEST_TARGET=reference node --test tests/interop/io-eio3.test.mjs
//
// Over websocket-only, polling-only (and polling with forceBase64) and polling-then-upgrade:
// connect (the main namespace without a CONNECT, the socket id is the Engine.IO id), emit and
// ack both ways with binary, rooms and broadcasts, a namespace with its query as auth, a
// middleware accepting and refusing (the 2.x client's "error" event carries err.data).
// Raw requests check what the client cannot show: the v3 payload framing of the handshake, the
// reversed heartbeat (the client pings, the server answers and never pings; silence closes
// the session after pingInterval + pingTimeout), XHR2 binary payloads both ways (the Node
// client always asks for base64), and JSONP polling (j): script answers, form POSTs.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BIN_DIR, INTEROP_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, sleep, withTimeout, nextEvent } from './lib/timeouts.mjs';

const require = createRequire(import.meta.url);
const ioV2 = require('socket.io-client-v2');

const reference = process.env.SIO_TEST_TARGET === 'reference';
const BIN = path.join(BIN_DIR, 'iofeatures');
const target = reference
  ? { name: 'reference (Node socket.io, allowEIO3)', command: process.execPath,
      args: (port) => [path.join(INTEROP_DIR, 'reference', 'eio3-server.mjs'), '--port', String(port)], skip: false }
  : { name: `sio (${BIN} --allow-eio3)`, command: BIN,
      args: (port) => ['--port', String(port), '--allow-eio3'], skip: existsSync(BIN) ? false : `${BIN} is not built yet` };

const TRANSPORTS = [
  { name: 'websocket-only', opts: { transports: ['websocket'] }, final: 'websocket' },
  { name: 'polling-only', opts: { transports: ['polling'], upgrade: false }, final: 'polling' },
  { name: 'polling-only (forceBase64)', opts: { transports: ['polling'], upgrade: false, forceBase64: true }, final: 'polling' },
  { name: 'polling-then-upgrade', opts: { transports: ['polling', 'websocket'], upgrade: true }, final: 'websocket' },
];

// --- v3 payloads (parser-v3): text "<len>:<packet>" with len in UTF-16 units (a JS string's
// length), XHR2 binary <0|1><length digits>0xFF<packet> ---------------------------------------

function parseTextPayload(s) {
  const out = [];
  let i = 0;
  while (i < s.length) {
    const colon = s.indexOf(':', i);
    assert.ok(colon > i, `a length before ':' at ${i} in ${JSON.stringify(s)}`);
    const n = Number(s.slice(i, colon));
    assert.ok(Number.isInteger(n) && colon + 1 + n <= s.length, `record length ${n} fits in ${JSON.stringify(s)}`);
    out.push(s.slice(colon + 1, colon + 1 + n));
    i = colon + 1 + n;
  }
  return out;
}

const textPayload = (packets) => packets.map((p) => `${p.length}:${p}`).join('');

function binaryRecord(packet) {
  const isText = typeof packet === 'string';
  const body = isText ? Buffer.from(packet, 'utf8') : packet;
  const digits = String(body.length).split('').map(Number);
  return Buffer.concat([Buffer.from([isText ? 0 : 1, ...digits, 255]), body]);
}

function parseBinaryPayload(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    const isText = buf[i] === 0;
    let j = i + 1;
    let len = '';
    while (buf[j] !== 255) { assert.ok(j < buf.length && buf[j] <= 9, 'length digit'); len += buf[j++]; }
    const body = buf.subarray(j + 1, j + 1 + Number(len));
    assert.equal(body.length, Number(len), 'record fits');
    out.push(isText ? body.toString('utf8') : Buffer.from(body));
    i = j + 1 + Number(len);
  }
  return out;
}

describe(`socket.io-client 2.5 with allowEIO3 against ${target.name}`, { skip: target.skip }, () => {
  let server;
  const sockets = [];

  before(async () => {
    const port = await freePort();
    server = await startServer({ command: target.command, args: target.args(port), port });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await stopAndCheck(server);
  });

  // `early`: events to wait for from the start (the server emits "auth" as it connects)
  async function client(tr, nsp = '/', extra = {}, early = ['auth']) {
    const s = ioV2(server.url + nsp, { ...tr.opts, reconnection: false, forceNew: true, ...extra });
    sockets.push(s);
    s.early = Object.fromEntries(early.map((e) => [e, nextEvent(s, e)]));
    await nextEvent(s, 'connect');
    return s;
  }
  async function onFinalTransport(s, tr) {
    const engine = s.io.engine;
    if (engine.transport.name !== tr.final) await nextEvent(engine, 'upgrade');
    assert.equal(engine.transport.name, tr.final);
  }
  const ack = (s, ...args) => withTimeout(new Promise((resolve) => s.emit(...args, (...a) => resolve(a))),
    budget(5000), `ack of ${args[0]}`);

  for (const tr of TRANSPORTS) {
    describe(tr.name, () => {
      test('connects to "/" without a CONNECT; its id is the Engine.IO id', async () => {
        const s = await client(tr);
        assert.deepEqual(await s.early.auth, [{}]);
        assert.equal(s.id, s.io.engine.id);
        await onFinalTransport(s, tr);
        s.close();
      });

      test('emit and ack both ways, with binary', async () => {
        const s = await client(tr);
        await onFinalTransport(s, tr);
        const back = nextEvent(s, 'message-back');
        s.emit('message', 1, 'två', { bin: Buffer.from([0, 1, 255]) }, [Buffer.alloc(0)]);
        const got = await back;
        assert.equal(got[0], 1);
        assert.equal(got[1], 'två');
        assert.deepEqual([...got[2].bin], [0, 1, 255]);
        assert.equal(got[3][0].length, 0);
        const answer = await ack(s, 'message-with-ack', 'x', Buffer.from('ünïcode'));
        assert.equal(answer[0], 'x');
        assert.equal(Buffer.from(answer[1]).toString(), 'ünïcode');
        // the server asks, the client answers (ack from the client)
        s.once('question', (q, cb) => cb(`${q} forty-two`, Buffer.from([42])));
        const result = nextEvent(s, 'ask-result');
        s.emit('ask', budget(3000));
        const [text, bin] = await result;
        assert.equal(text, 'what? forty-two');
        assert.deepEqual([...bin], [42]);
        s.close();
      });

      test('rooms and broadcasts', async () => {
        const [a, b, c] = [await client(tr), await client(tr), await client(tr)];
        await Promise.all([a, b, c].map((s) => onFinalTransport(s, tr)));
        await ack(a, 'join', 'eio3-room');
        await ack(b, 'join', 'eio3-room');
        const got = { a: [], b: [], c: [] };
        for (const [k, s] of Object.entries({ a, b, c })) s.on('news', (d) => got[k].push(d));
        await ack(a, 'to', ['eio3-room'], [], 'news', { n: 1 }, true); // a's broadcast
        await ack(c, 'to', [], [], 'news', { n: 2 }, false); // the whole server
        await sleep(budget(150));
        assert.deepEqual(got.a.map((d) => d.n), [2]);
        assert.deepEqual(got.b.map((d) => d.n), [1, 2]);
        assert.deepEqual(got.c.map((d) => d.n), [2]);
        for (const s of [a, b, c]) s.close();
      });

      test('a binary broadcast reaches v3 and v4 clients alike', async () => {
        // one encoding for every recipient: the v3 ones get it framed their way
        const { io: ioV4 } = await import('socket.io-client');
        const a = await client(tr);
        const b = await client(tr);
        const v4 = ioV4(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
        sockets.push(v4);
        await nextEvent(v4, 'connect');
        await Promise.all([a, b].map((s) => onFinalTransport(s, tr)));
        for (const s of [a, b]) await ack(s, 'join', 'bin-room');
        await withTimeout(v4.emitWithAck('join', 'bin-room'), budget(5000), 'v4 join');
        const got = [a, b, v4].map((s) => nextEvent(s, 'blob'));
        await ack(a, 'to-bin', 'bin-room', 'blob');
        for (const [bin, text] of await Promise.all(got)) {
          assert.deepEqual([...new Uint8Array(bin)], [1, 2, 3]);
          assert.equal(text, 'bin');
        }
        for (const s of [a, b, v4]) s.close();
      });

      test('a namespace takes its query string as the auth payload', async () => {
        const s = await client(tr, '/custom', { query: { x: '1', name: 'ä b' } });
        assert.deepEqual(await s.early.auth, [{ x: '1', name: 'ä b' }]);
        s.close();
      });

      test('middleware: accepted with the right token, refused with err.data otherwise', async () => {
        const ok = await client(tr, '/mw', { query: { token: 'ok' } }, ['welcome']);
        assert.deepEqual(await ok.early.welcome, ['authorized']);
        ok.close();
        const bad = ioV2(server.url + '/mw', { ...tr.opts, reconnection: false, forceNew: true, query: { token: 'no' } });
        sockets.push(bad);
        let connected = false;
        bad.on('connect', () => { connected = true; });
        const [err] = await nextEvent(bad, 'error');
        assert.deepEqual(err, { code: 42 });
        await sleep(50);
        assert.equal(connected, false);
        bad.close();
      });
    });
  }

  describe('raw Engine.IO v3 requests', () => {
    const base = () => `${server.url}/socket.io/?EIO=3&transport=polling`;
    async function handshake(extra = '') {
      const res = await fetch(`${base()}${extra}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/plain/);
      const packets = parseTextPayload(await res.text());
      assert.equal(packets.length, 1);
      assert.equal(packets[0][0], '0');
      return JSON.parse(packets[0].slice(1));
    }
    const get = (sid, extra = '') => fetch(`${base()}&sid=${sid}${extra}`);
    const post = (sid, body, type, extra = '') => fetch(`${base()}&sid=${sid}${extra}`, {
      method: 'POST', body, headers: { 'Content-Type': type } });

    test('the handshake is a v3 payload with the open packet\'s fields; then 40 and the auth event', async () => {
      const open = await handshake('&b64=1');
      assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
      assert.deepEqual(open.upgrades, ['websocket']);
      assert.equal(open.pingInterval, 300);
      assert.equal(open.pingTimeout, 200);
      assert.equal(open.maxPayload, 1e6);
      let packets = [];
      while (packets.length < 2) { // "40" and the "auth" event may come in one poll or two
        const res = await get(open.sid, '&b64=1');
        packets = packets.concat(parseTextPayload(await res.text()));
      }
      assert.deepEqual(packets, ['40', '42["auth",{}]']);
      await post(open.sid, textPayload(['1']), 'text/plain;charset=UTF-8', '&b64=1');
    });

    test('the client pings, the server answers and never pings; silence closes the session', async () => {
      const { sid } = await handshake('&b64=1');
      let packets = [];
      while (packets.length < 2) packets = packets.concat(parseTextPayload(await (await get(sid, '&b64=1')).text()));
      const res = await post(sid, textPayload(['2']), 'text/plain;charset=UTF-8', '&b64=1');
      assert.equal(await res.text(), 'ok');
      assert.deepEqual(parseTextPayload(await (await get(sid, '&b64=1')).text()), ['3']);
      // no more pings: the next poll is held until pingInterval + pingTimeout (500 ms) after
      // the last ping, then answered with a close packet
      const t0 = Date.now();
      const last = parseTextPayload(await (await withTimeout(get(sid, '&b64=1'), budget(3000), 'held poll')).text());
      const waited = Date.now() - t0;
      assert.deepEqual(last, ['1']);
      assert.ok(waited >= 350, `held for ${waited} ms`);
      const gone = await get(sid, '&b64=1');
      assert.equal(gone.status, 400);
      assert.deepEqual(await gone.json(), { code: 1, message: 'Session ID unknown' });
    });

    test('XHR2 binary payloads: posted as application/octet-stream, answered in kind', async () => {
      const { sid } = await handshake(); // no b64: the client takes binary
      let packets = [];
      while (packets.length < 2) {
        const res = await get(sid);
        // only text packets wait: a text payload, as Node answers
        assert.match(res.headers.get('content-type'), /^text\/plain/);
        packets = packets.concat(parseTextPayload(await res.text()));
      }
      const body = Buffer.concat([
        binaryRecord('451-["message","é",{"_placeholder":true,"num":0}]'),
        binaryRecord(Buffer.from([4, 0, 1, 2, 255])),
        binaryRecord('2'),
      ]);
      const res = await post(sid, body, 'application/octet-stream');
      assert.equal(await res.text(), 'ok');
      const got = [];
      while (got.length < 3) {
        const r = await get(sid);
        const type = r.headers.get('content-type');
        const buf = Buffer.from(await r.arrayBuffer());
        got.push(...(/octet-stream/.test(type) ? parseBinaryPayload(buf) : parseTextPayload(buf.toString())));
      }
      const texts = got.filter((p) => typeof p === 'string').sort();
      const bins = got.filter((p) => typeof p !== 'string');
      assert.deepEqual(texts, ['3', '451-["message-back","é",{"_placeholder":true,"num":0}]']);
      assert.equal(bins.length, 1);
      assert.deepEqual([...bins[0]], [4, 0, 1, 2, 255]); // the type byte, then the data
      await post(sid, textPayload(['1']), 'text/plain;charset=UTF-8');
    });

    test('JSONP (j): scripts for polls, form POSTs with the client\'s newline escapes', async () => {
      // engine.io-client 3.x's polling-jsonp: ___eio[j](...) callbacks, b64, a form field d
      const run = async (res) => {
        assert.equal(res.status, 200);
        const script = await res.text();
        assert.match(script, /^___eio\[7\]\(".*"\);$/s);
        assert.ok(!script.includes('\u2028'), 'U+2028 is escaped in the script');
        let got;
        new Function('___eio', script)({ 7: (p) => { got = p; } }); // eslint-disable-line no-new-func
        return parseTextPayload(got);
      };
      const q = '&j=x7&b64=1'; // Node keeps the digits of j
      const [open] = await run(await fetch(`${base()}${q}`));
      const { sid } = JSON.parse(open.slice(1));
      let packets = [];
      while (packets.length < 2) packets = packets.concat(await run(await get(sid, q)));
      assert.deepEqual(packets, ['40', '42["auth",{}]']);
      const clientEscape = (d) => d.replace(/\\n/g, '\\\n').replace(/\n/g, '\\n');
      const event = `42${JSON.stringify(['message', 'x\ny', 'back\\nslash', '\u2028'])}`;
      const form = new URLSearchParams({ d: clientEscape(textPayload([event])) });
      const res = await fetch(`${base()}&sid=${sid}${q}`, { method: 'POST', body: form });
      assert.equal(await res.text(), 'ok');
      const back = await run(await get(sid, q));
      assert.deepEqual(back, [`42${JSON.stringify(['message-back', 'x\ny', 'back\\nslash', '\u2028'])}`]);
      await fetch(`${base()}&sid=${sid}${q}`, { method: 'POST', body: new URLSearchParams({ d: '1:1' }) });
    });

    test('a malformed v3 payload closes the session', async () => {
      const { sid } = await handshake('&b64=1');
      const res = await post(sid, '3x:42["x"]', 'text/plain;charset=UTF-8', '&b64=1'); // not a length
      assert.ok(res.status === 200 || res.status === 400, `status ${res.status}`);
      await sleep(50);
      const gone = await get(sid, '&b64=1');
      // answered with a close (a poll still held by the session) or refused once it is gone
      if (gone.status === 200) assert.deepEqual(parseTextPayload(await gone.text()).slice(-1), ['1']);
      else assert.equal(gone.status, 400);
    });
  });
});
