// The Socket.IO server features beyond the conformance suite, with the official
// socket.io-client 4.8 against $SIO_BIN_DIR/iofeatures (examples/iofeatures), over
// websocket-only, polling-only and polling-then-upgrade: rooms (join/leave/own room),
// to/in several rooms (each recipient once), except, broadcast from a socket, volatile,
// server acks with a timeout, broadcast with acks, deferred acks, fetchSockets, socketsJoin,
// socketsLeave, disconnectSockets, onAny/onAnyOutgoing, socket.use, io.use-style middleware
// (async accept, refusal with message + data), dynamic namespaces, disconnecting/disconnect
// reasons, handshake info, emits from another thread (in order), the served client bundle.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Manager } from 'socket.io-client';
import WebSocket from 'ws';
import { BIN_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, sleep, withTimeout, nextEvent } from './lib/timeouts.mjs';

const BIN = path.join(BIN_DIR, 'iofeatures');
const skip = existsSync(BIN) ? false : `${BIN} is not built yet`;

const TRANSPORTS = [
  { name: 'websocket-only', opts: { transports: ['websocket'] } },
  { name: 'polling-only', opts: { transports: ['polling'], upgrade: false } },
  { name: 'polling-then-upgrade', opts: { transports: ['polling', 'websocket'], upgrade: true } },
];

const next = nextEvent;

function collect(emitter, event) {
  const got = [];
  emitter.on(event, (...a) => got.push(a));
  return got;
}

describe('Socket.IO features against sio (iofeatures)', { skip }, () => {
  let server;
  const managers = [];

  before(async () => {
    const port = await freePort();
    server = await startServer({ command: BIN, args: ['--port', String(port)], port });
  });

  after(async () => {
    for (const m of managers) m._close?.();
    for (const m of managers) for (const s of Object.values(m.nsps)) s.disconnect();
    await stopAndCheck(server);
  });

  for (const transport of TRANSPORTS) {
    describe(transport.name, () => {
      // `early`: events to start waiting for before connecting (sent right after CONNECT)
      async function client(nsp = '/', extra = {}, early = []) {
        const m = new Manager(server.url, { ...transport.opts, reconnection: false, ...extra });
        managers.push(m);
        const s = m.socket(nsp, extra.auth ? { auth: extra.auth } : {});
        s.early = Object.fromEntries(early.map((e) => [e, next(s, e)]));
        await next(s, 'connect');
        return s;
      }

      test('own room, join/leave, rooms list', async () => {
        const a = await client();
        assert.deepEqual(await a.emitWithAck('rooms'), [a.id]);
        await a.emitWithAck('join', 'r1', 'r2');
        assert.deepEqual((await a.emitWithAck('rooms')).sort(), [a.id, 'r1', 'r2'].sort());
        await a.emitWithAck('leave', 'r1');
        assert.deepEqual((await a.emitWithAck('rooms')).sort(), [a.id, 'r2'].sort());
        assert.equal(await a.emitWithAck('room-size', 'r2'), 1);
        assert.equal(await a.emitWithAck('room-size', a.id), 1);
        assert.equal(await a.emitWithAck('room-size', 'r1'), 0);
        a.disconnect();
      });

      test('to several rooms reaches each member once; except; broadcast skips the sender', async () => {
        const [a, b, c] = [await client(), await client(), await client()];
        const tag = `t${Date.now()}${transport.name}`;
        await a.emitWithAck('join', `${tag}x`, `${tag}y`);
        await b.emitWithAck('join', `${tag}y`);
        await c.emitWithAck('join', `${tag}z`);
        const ga = collect(a, 'hit'), gb = collect(b, 'hit'), gc = collect(c, 'hit');
        await a.emitWithAck('to', [`${tag}x`, `${tag}y`], [], 'hit', { n: 1 }, false);
        await sleep(150);
        assert.deepEqual([ga.length, gb.length, gc.length], [1, 1, 0]);
        assert.deepEqual(ga[0], [{ n: 1 }]);
        await a.emitWithAck('to', [`${tag}x`, `${tag}y`, `${tag}z`], [`${tag}x`], 'hit', 2, false);
        await sleep(150);
        assert.deepEqual([ga.length, gb.length, gc.length], [1, 2, 1]);
        await a.emitWithAck('to', [`${tag}y`], [], 'hit', 3, true); // socket.to(): not the sender
        await sleep(150);
        assert.deepEqual([ga.length, gb.length, gc.length], [1, 3, 1]);
        for (const s of [a, b, c]) s.disconnect();
      });

      test('server emit with ack: answered, and timed out', async () => {
        const a = await client();
        a.on('question', (q, cb) => cb(`answer to ${q}`));
        a.emit('ask', 1000);
        assert.deepEqual(await next(a, 'ask-result'), ['answer to what?']);
        a.off('question');
        a.on('question', () => { /* never answers */ });
        a.emit('ask', 100);
        assert.match((await next(a, 'ask-error'))[0], /timed out/);
        a.disconnect();
      });

      test('socket.timeout(ms).emit with ack; socket.volatile.emit reaches the socket itself', async () => {
        const a = await client();
        a.on('question', (q, cb) => cb(`answer to ${q}`));
        a.emit('ask2', 1000);
        assert.deepEqual(await next(a, 'ask-result'), ['answer to what?']);
        a.off('question');
        a.on('question', () => {});
        a.emit('ask2', 100);
        assert.match((await next(a, 'ask-error'))[0], /timed out/);
        const vols = collect(a, 'vol');
        await a.emitWithAck('volatile', 5);
        await sleep(200);
        assert.ok(vols.length >= 1 && vols.length <= 5, `${vols.length} volatile events`);
        a.disconnect();
      });

      test('broadcast with acks collects every answer, or times out with those that came', async () => {
        const room = `acks-${transport.name}`;
        const [a, b, c] = [await client(), await client(), await client()];
        for (const s of [a, b, c]) await s.emitWithAck('join', room);
        a.on('question-all', (cb) => cb('a'));
        b.on('question-all', (cb) => cb('b'));
        c.on('question-all', (cb) => cb('c'));
        a.emit('ask-all', room, 2000);
        const [r] = await next(a, 'ask-all-result');
        assert.equal(r.error, null);
        assert.equal(r.expected, 3);
        assert.deepEqual(r.answers.sort(), ['a', 'b', 'c']);
        c.off('question-all');
        c.on('question-all', () => { /* silent */ });
        a.emit('ask-all', room, 200);
        const [r2] = await next(a, 'ask-all-result');
        assert.match(r2.error, /timed out/);
        assert.deepEqual(r2.answers.sort(), ['a', 'b']);
        for (const s of [a, b, c]) s.disconnect();
      });

      test('a deferred ack is answered later', async () => {
        const a = await client();
        assert.equal(await a.timeout(2000).emitWithAck('slow'), 'later');
        a.disconnect();
      });

      test('fetchSockets, socketsJoin, socketsLeave, disconnectSockets', async () => {
        const room = `ops-${transport.name}`;
        const [a, b] = [await client(), await client()];
        await a.emitWithAck('join', room);
        await b.emitWithAck('join', room);
        assert.deepEqual((await a.emitWithAck('fetch', room)).sort(), [a.id, b.id].sort());
        await a.emitWithAck('sockets-join', room, `${room}-2`);
        assert.ok((await b.emitWithAck('rooms')).includes(`${room}-2`));
        await a.emitWithAck('sockets-leave', room, `${room}-2`);
        assert.ok(!(await b.emitWithAck('rooms')).includes(`${room}-2`));
        const reasons = [next(a, 'disconnect'), next(b, 'disconnect')];
        await a.emitWithAck('disconnect-sockets', room, false);
        assert.deepEqual((await Promise.all(reasons)).map((r) => r[0]), ['io server disconnect', 'io server disconnect']);
      });

      test('onAny, onAnyOutgoing, socket.use refusing a packet', async () => {
        const a = await client();
        const seen = next(a, 'any-seen'), out = next(a, 'out-seen');
        a.emit('count-any');
        assert.deepEqual(await seen, ['count-any']);
        assert.deepEqual(await out, ['probe-out', 2]);
        await a.emitWithAck('off-any');
        const seen2 = collect(a, 'any-seen'), out2 = next(a, 'out-seen');
        a.emit('count-any');
        assert.deepEqual(await out2, ['probe-out', 2]);
        await sleep(100);
        assert.equal(seen2.length, 0);
        a.emit('forbidden', 1);
        assert.equal((await next(a, 'error-reported')).length, 1);
        a.disconnect();
      });

      test('socket.off: a removed handler no longer answers; removing it twice says not found', async () => {
        const a = await client();
        assert.deepEqual(await a.emitWithAck('once-more'), 'still here');
        assert.equal(await a.emitWithAck('off-once-more'), 0);
        await assert.rejects(a.timeout(300).emitWithAck('once-more'), /timed out/);
        assert.ok((await a.emitWithAck('off-once-more')) < 0, 'second removal finds nothing');
        a.disconnect();
      });

      test('middleware: async accept with data, refusal with message and data', async () => {
        const ok = await client('/mw', { auth: { token: 'ok' } }, ['welcome']);
        assert.deepEqual(await ok.early.welcome, ['authorized']);
        ok.disconnect();
        const m = new Manager(server.url, { ...transport.opts, reconnection: false });
        managers.push(m);
        const bad = m.socket('/mw', { auth: { token: 'nope' } });
        const [err] = await next(bad, 'connect_error');
        assert.equal(err.message, 'not authorized');
        assert.deepEqual(err.data, { code: 42 });
        bad.disconnect();
      });

      test('dynamic namespaces by pattern; unknown namespaces refused', async () => {
        const d = await client('/dyn-42', {}, ['nsp']);
        assert.deepEqual(await d.early.nsp, ['/dyn-42']);
        const e = await client('/dyn-7', {}, ['nsp']);
        const root = await client();
        const hd = next(d, 'dyn-hello'), he = next(e, 'dyn-hello');
        await root.emitWithAck('dyn-bcast', 'all children');
        assert.deepEqual(await hd, ['all children']);
        assert.deepEqual(await he, ['all children']);
        for (const s of [d, e, root]) s.disconnect();
        const m = new Manager(server.url, { ...transport.opts, reconnection: false });
        managers.push(m);
        const x = m.socket('/nope');
        const [err] = await next(x, 'connect_error');
        assert.equal(err.message, 'Invalid namespace');
      });

      test('disconnecting sees the rooms; server-side disconnect reason', async () => {
        const w = await client();
        await w.emitWithAck('join', 'watchers');
        const x = await client();
        await x.emitWithAck('join', 'watched');
        const xid = x.id;
        const gone = next(w, 'gone');
        const reason = next(x, 'disconnect');
        x.emit('disconnect-me', false);
        assert.equal((await reason)[0], 'io server disconnect');
        assert.deepEqual(await gone, [{ id: xid, reason: 'server namespace disconnect' }]);
        const y = await client();
        await y.emitWithAck('join', 'watched');
        const yid = y.id;
        const gone2 = next(w, 'gone');
        y.disconnect();
        assert.deepEqual(await gone2, [{ id: yid, reason: 'client namespace disconnect' }]);
        w.disconnect();
      });

      test('handshake: query, headers, address, auth', async () => {
        const a = await client('/', { query: { foo: 'bar' }, extraHeaders: { 'x-test': 'yes' }, auth: { k: [1] } });
        const h = await a.emitWithAck('handshake');
        assert.equal(h.query, 'bar');
        assert.equal(h.header, 'yes');
        assert.match(h.address, /127\.0\.0\.1/);
        assert.deepEqual(h.auth, { k: [1] });
        a.disconnect();
      });

      test('emits from another thread arrive in order', async () => {
        const a = await client();
        const got = collect(a, 'tick');
        await a.emitWithAck('start-thread');
        const deadline = Date.now() + budget(3000);
        while (got.length < 20 && Date.now() < deadline) await sleep(20);
        assert.deepEqual(got.map((g) => g[0]), Array.from({ length: 20 }, (_, i) => i));
        a.disconnect();
      });

      test('multiplexing: / and /custom on one connection, leaving one keeps the other', async () => {
        const m = new Manager(server.url, { ...transport.opts, reconnection: false });
        managers.push(m);
        const root = m.socket('/');
        const custom = m.socket('/custom');
        await Promise.all([next(root, 'connect'), next(custom, 'connect')]);
        custom.disconnect();
        root.emit('message', 'still');
        assert.deepEqual(await next(root, 'message-back'), ['still']);
        root.disconnect();
      });
    });
  }

  test('a client that does not read is disconnected past the send-buffer limit (logged)', async () => {
    const ws = new WebSocket(`${server.wsUrl}/socket.io/?EIO=4&transport=websocket`);
    const closed = new Promise((resolve) => ws.on('close', resolve));
    ws.on('message', (d) => {
      const t = d.toString();
      if (t.startsWith('0')) ws.send('40');
      if (t.startsWith('40')) {
        ws.send('42["flood",400,10000]'); // 4 MB for a 1 MiB limit
        ws._socket.pause();
        setTimeout(() => ws._socket.resume(), 1000);
      }
    });
    await withTimeout(closed, budget(5000), 'the server closing the flooded client');
    assert.match(server.stderr, /send buffer full/);
  });

  test('mutated packets (every feature event, binary frames, odd JSON) never crash the server', async () => {
    const seeds = ['40', '40/custom,', '40{"token":"x"}', '42["message",1,"2",{"3":[true]}]',
      '421["message-with-ack",{"a":1}]', '451-["message",{"_placeholder":true,"num":0}]',
      '452-7["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
      '43["x"]', '41', '41/custom,', '42["join","r"]', '42["to",["r"],[],"hit",1,false]',
      '42["ask",10]', '42["ask-all","r",10]', '42["fetch","r"]', '42["sockets-join","r","q"]',
      '42["disconnect-sockets","q",false]', '42["flood",3,10]', '42["rooms"]', '42["count-any"]',
      '42["forbidden"]', '42["handshake"]', '42["volatile",3]', '42["dyn-bcast",1]',
      '40/mw,{"token":"ok"}', '40/dyn-1,', '42["room-size","r"]', '42["slow"]',
      '40/dyn-2,{"slow":true}', '42["nsp-exists","/dyn-1"]', '42["dyn-kick"]',
      '42["compressed",true,5000,"r"]', '42["dyn-ask-all",10,"r"]'];
    let seed = 12345;
    const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    const mutate = (str) => {
      let t = str;
      for (let i = rnd(4); i > 0; i--) {
        const k = rnd(5), p = rnd(t.length + 1);
        if (k === 0) t = t.slice(0, p) + t.slice(p + 1);
        else if (k === 1) t = t.slice(0, p) + String.fromCharCode(rnd(128)) + t.slice(p);
        else if (k === 2) t = t.slice(0, p) + seeds[rnd(seeds.length)].slice(1) + t.slice(p);
        else if (k === 3) t = t.slice(0, p);
        else t = t.slice(0, p) + '["\\ud800",1e400,-0,{"a":{"a":[]}}]' + t.slice(p);
      }
      return t;
    };
    const one = () => new Promise((resolve) => {
      const ws = new WebSocket(`${server.wsUrl}/socket.io/?EIO=4&transport=websocket`);
      ws.on('error', resolve);
      ws.on('close', resolve);
      ws.on('message', (d) => { if (d.toString() === '2') ws.send('3'); });
      ws.on('open', () => {
        ws.send('40');
        for (let i = 0; i < 30; i++) {
          if (rnd(100) < 15) ws.send(Buffer.from([rnd(256), rnd(256)]));
          else ws.send('4' + mutate(seeds[rnd(seeds.length)]));
        }
        setTimeout(() => ws.close(), 30);
      });
    });
    const end = Date.now() + budget(3000);
    while (Date.now() < end) await Promise.all(Array.from({ length: 10 }, one));
    assert.ok(server.alive(), server.crashReport() ?? 'server died');
    const a = new Manager(server.url, { transports: ['websocket'], reconnection: false }).socket('/');
    await next(a, 'connect');
    a.emit('message', 'still fine');
    assert.deepEqual(await next(a, 'message-back'), ['still fine']);
    a.disconnect();
  });

  test('serves the client bundle with ETag, 304 and gzip', async () => {
    const r = await fetch(`${server.url}/socket.io/socket.io.min.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /javascript/);
    const etag = r.headers.get('etag');
    assert.ok(etag);
    const body = await r.text(); // fetch decodes gzip
    assert.match(body, /socket\.io/i);
    const r2 = await fetch(`${server.url}/socket.io/socket.io.min.js`, { headers: { 'if-none-match': etag } });
    assert.equal(r2.status, 304);
    const r3 = await fetch(`${server.url}/socket.io/socket.io.js.map`);
    assert.equal(r3.status, 200);
    assert.match(r3.headers.get('content-type'), /json/);
    const r4 = await fetch(`${server.url}/socket.io/socket.io.nope.js`);
    assert.equal(r4.status, 404);
  });
});
