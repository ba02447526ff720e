// Connection state recovery across servers over the Redis Streams adapter (issue 14, point 2):
// sio servers (examples/recovery --redis) and a Node server (reference/recovery-server.mjs
// --redis: socket.io 4.8 with @socket.io/redis-streams-adapter 0.3) on one private Redis. An
// official socket.io-client reaches its server through a cut proxy; the proxy is cut (no close
// handshake), events are broadcast meanwhile from a Node server and from a sio server, then
// the proxy points at another server and the client reconnects there. It must come back
// recovered: the same id, its rooms and data, every missed event once and in order, each with
// its stream entry id as last argument, before `connect`. In both directions (sio -> Node,
// Node -> sio) and sio -> sio, over websocket and over polling; then across a restart of the
// sio server (the session waits in Redis), and with the session value itself checked against
// what Node's adapter writes (base64 of msgpack {sid, pid, rooms, data}).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import { redisMissing, startRedis } from './lib/redis.mjs';
import { BIN_DIR, INTEROP_DIR, SOURCE_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { startCutProxy } from './lib/cutproxy.mjs';
import { startDelayProxy } from './lib/delayproxy.mjs';
import { budget, sleep, withTimeout, nextEvent } from './lib/timeouts.mjs';

const require = createRequire(path.join(SOURCE_DIR, 'package.json'));
const C_BIN = path.join(BIN_DIR, 'recovery');
const NODE_TWIN = path.join(INTEROP_DIR, 'reference', 'recovery-server.mjs');
const skip = redisMissing() || (existsSync(C_BIN) ? false : `${C_BIN} is not built yet`);
const PING = ['--ping-interval', '300', '--ping-timeout', '300'];
const OFFSET = /^[0-9]+-[0-9]+$/;

let redis;
const servers = {};
const delays = [];

async function start(kind, redisUrl = redis.url, extra = []) {
  const port = await freePort();
  const args = ['--port', String(port), ...PING, '--redis', redisUrl, ...extra];
  const s = kind === 'c'
    ? await startServer({ command: C_BIN, args, port })
    : await startServer({ command: process.execPath, args: [NODE_TWIN, ...args], port });
  s.kind = kind;
  await untilStored(s);
  return s;
}

const ask = (s, ev, ...args) => withTimeout(s.emitWithAck(ev, ...args), budget(5000), ev);

/** A direct client (no proxy) that records its events. */
async function direct(server, transports = ['websocket']) {
  const s = connect(server.url, { transports, forceNew: true, reconnection: false });
  s.log = [];
  s.on('news', (...a) => s.log.push(a));
  await nextEvent(s, 'connect', budget(8000));
  return s;
}

/** Waits until the server's broadcasts come back with an offset (its adapter reads the stream). */
async function untilStored(server) {
  const probe = await direct(server);
  try {
    for (let i = 0; ; i++) {
      const got = nextEvent(probe, 'news', budget(3000));
      await ask(probe, 'direct', 'probe');
      const args = await got;
      if (args.length === 2 && OFFSET.test(args[1])) return;
      if (i > 100) throw new Error(`${server.kind} server: broadcasts carry no stream offset (${JSON.stringify(args)})\n${server.stderr}`);
      await sleep(50);
    }
  } finally {
    probe.disconnect();
  }
}

/**
 * Waits until `server`'s stream reader has dispatched every entry written so far: a marker
 * broadcast from n1 reaches a fresh client of `server` through that reader, which goes in
 * stream order. A socket gets every entry its server's reader dispatches while it is
 * connected, including one written just before it connected that the reader had not read yet
 * (as with Node's adapter); c3's reader is 60 ms late by design, so without this a client
 * connecting there right after a tick test could get that test's last ticks.
 */
async function readerDrained(server) {
  const probe = await direct(server);
  let hn;
  try {
    hn = await direct(servers.n1);
    const v = `drained-${++seq}`;
    const seen = new Promise((resolve) => probe.on('news', (x) => { if (x === v) resolve(); }));
    await ask(hn, 'bcast', v);
    await withTimeout(seen, budget(5000), `${v} through the reader of ${server.url}`);
  } finally {
    probe.disconnect();
    if (hn) hn.disconnect();
  }
}

/** Broadcast `v` from a helper client, and wait until it went through the stream (the helper
 * sees it), so that the order of the stream is the order of the calls. */
async function emitVia(helper, ev, ...args) {
  const v = args[args.length - 1];
  const seen = new Promise((resolve) => {
    const on = (...a) => { if (a[0] === v) { helper.off('news', on); resolve(); } };
    helper.on('news', on);
  });
  await ask(helper, ev, ...args);
  if (ev !== 'toRoom' || helper.rooms?.includes(args[0])) await withTimeout(seen, budget(5000), `${v} through the stream`);
}

before(async () => {
  if (skip) return;
  redis = await startRedis();
  // each kept as soon as it runs, so that `after` stops it even if another failed to start
  await Promise.all(['c1', 'c2', 'n1'].map(async (id) => { servers[id] = await start(id[0] === 'c' ? 'c' : 'node'); }));
  // c3's stream reader answers 60 ms late (it lags behind a restore's XRANGE: entries it
  // delivers after the restore were replayed already); c4's command connection does (its
  // reader runs ahead of the XRANGE: entries it delivered before the socket joined).
  // SIO_TEST_READER_DELAY_MS sets c3's lag, to stress both (250: without readerDrained, the
  // last ticks of one tick test reached the next one's client on every run)
  delays.push(await startDelayProxy(redis.port, { delay: 'reader', ms: Number(process.env.SIO_TEST_READER_DELAY_MS || 60) }));
  delays.push(await startDelayProxy(redis.port, { delay: 'commands', ms: 30 }));
  servers.c3 = await start('c', delays[0].url);
  servers.c4 = await start('c', delays[1].url);
  // streamCount 3: the namespace "/" lives on socket.io-2 (hashCode("/") % 3), sessions alike
  servers.c5 = await start('c', redis.url, ['--stream-count', '3']);
  servers.n5 = await start('node', redis.url, ['--stream-count', '3']);
});

after(async () => {
  for (const s of Object.values(servers)) await stopAndCheck(s).catch(() => {});
  for (const d of delays) await d.close();
  if (redis) await redis.stop();
});

let seq = 0;

/** A client on server `id` through a cut proxy, logging its connects and `news` events. */
async function proxiedClient(id, transports = ['websocket']) {
  const proxy = await startCutProxy(servers[id].port);
  const client = connect(proxy.url, { transports, forceNew: true, reconnection: false });
  const log = [];
  client.on('connect', () => log.push(['connect']));
  client.on('news', (...a) => log.push(['news', ...a]));
  return { proxy, client, log };
}

/**
 * A client on `from` (through a proxy) joins a room and sets data, gets one event, is cut;
 * events go out from Node and from sio (and some it must not get); it reconnects to `to`.
 */
async function moveAndRecover(fromId, toId, transports, [hnId, hcId] = ['n1', 'c2']) {
  const tag = `${fromId}-${toId}-${transports.join('+')}-${++seq}`;
  const { proxy, client, log } = await proxiedClient(fromId, transports);
  const helpers = [];
  try {
    await nextEvent(client, 'connect', budget(8000));
    const room = `room-${tag}`;
    await ask(client, 'join', room);
    await ask(client, 'setData', { tag, n: [1, 2.5, 'x'] });
    const before = await ask(client, 'whoami');
    assert.equal(before.recovered, false);
    // a first event, so that the client has an offset
    const first = nextEvent(client, 'news', budget(5000));
    await ask(client, 'direct', `hello-${tag}`);
    const [hello, helloOffset] = await first;
    assert.equal(hello, `hello-${tag}`);
    assert.match(helloOffset, OFFSET, 'a stored event carries its stream entry id');

    const gone = nextEvent(client, 'disconnect', budget(8000));
    proxy.cut();
    await gone;
    await sleep(900); // the server notices (ping timeout at most) and persists the session

    const hn = await direct(servers[hnId]);
    const hc = await direct(servers[hcId]);
    helpers.push(hn, hc);
    for (const h of helpers) { await ask(h, 'join', room); h.rooms = [room]; }
    const expected = [];
    await emitVia(hn, 'bcast', `n-all-${tag}`); expected.push(`n-all-${tag}`);
    await emitVia(hc, 'bcast', `c-all-${tag}`); expected.push(`c-all-${tag}`);
    await emitVia(hn, 'toRoom', room, `n-room-${tag}`); expected.push(`n-room-${tag}`);
    await emitVia(hc, 'toRoom', room, `c-room-${tag}`); expected.push(`c-room-${tag}`);
    await emitVia(hn, 'toRoom', `elsewhere-${tag}`, `n-not-${tag}`);
    await emitVia(hc, 'toRoom', `elsewhere-${tag}`, `c-not-${tag}`);
    await emitVia(hc, 'bcast', `c-last-${tag}`); expected.push(`c-last-${tag}`);
    await emitVia(hn, 'bcast', `n-last-${tag}`); expected.push(`n-last-${tag}`);

    log.length = 0;
    proxy.retarget(servers[toId].port);
    client.connect();
    await nextEvent(client, 'connect', budget(8000));
    const after = await ask(client, 'whoami');
    assert.equal(after.recovered, true, `recovered on ${toId}`);
    assert.equal(client.recovered, true);
    assert.equal(after.id, before.id, 'the same id');
    assert.deepEqual(after.rooms, [room]);
    assert.deepEqual(after.data, { tag, n: [1, 2.5, 'x'] });
    const connectAt = log.findIndex((e) => e[0] === 'connect');
    const missed = log.slice(0, connectAt);
    assert.deepEqual(missed.map((e) => e[1]), expected, 'every missed event, in order, once, before connect');
    let last = helloOffset;
    for (const e of missed) {
      assert.equal(e.length, 3, `${e[1]} carries its offset`);
      assert.match(e[2], OFFSET);
      const [a, b] = [last, e[2]].map((o) => o.split('-').map(BigInt));
      assert.ok(b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]), `offsets increase (${last} then ${e[2]})`);
      last = e[2];
    }
    // live afterwards: once, with an offset
    const live = nextEvent(client, 'news', budget(5000));
    await emitVia(hn, 'toRoom', room, `after-${tag}`);
    const [v, off] = await live;
    assert.equal(v, `after-${tag}`);
    assert.match(off, OFFSET);
    // a binary direct emit: its attachment, then its offset
    const bin = nextEvent(client, 'bin', budget(5000));
    await ask(client, 'binary', 5);
    const [bytes, binOffset] = await bin;
    assert.deepEqual([...new Uint8Array(bytes)], [0, 1, 2, 3, 4]);
    assert.match(binOffset, OFFSET);
    await sleep(100);
    assert.equal(log.filter((e) => e[1] === `after-${tag}`).length, 1);
    return { before, client };
  } finally {
    client.disconnect();
    for (const h of helpers) h.disconnect();
    await proxy.close();
  }
}

describe('recovery over the Redis Streams adapter, across servers', { skip }, () => {
  for (const transports of [['websocket'], ['polling']]) {
    const name = transports.join('+');
    test(`${name}: sio -> Node`, () => moveAndRecover('c1', 'n1', transports));
    test(`${name}: Node -> sio`, () => moveAndRecover('n1', 'c1', transports));
    test(`${name}: sio -> sio`, () => moveAndRecover('c1', 'c2', transports));
  }
  test('upgrade: Node -> sio', () => moveAndRecover('n1', 'c2', ['polling', 'websocket']));
  test('streamCount 3: sio -> Node', () => moveAndRecover('c5', 'n5', ['websocket'], ['n5', 'c5']));
  test('streamCount 3: Node -> sio', () => moveAndRecover('n5', 'c5', ['websocket'], ['n5', 'c5']));

  // The restore reads the stream on one connection while the server's stream reader delivers
  // live entries on another: the ticks around each move must arrive once each, in order.
  for (const [ticker, a, b] of [['n1', 'c1', 'c2'], ['c1', 'c1', 'c2'], ['n1', 'c3', 'c4']]) {
    test(`a 100 msg/s broadcast from ${ticker}, the client moving between ${a} and ${b} 6 times: every tick once, in order`, async () => {
      // the ticks of the test before must be behind a's reader before the client connects
      await readerDrained(servers[a]);
      const proxy = await startCutProxy(servers[a].port);
      const client = connect(proxy.url, { transports: ['websocket'], forceNew: true, reconnection: false });
      const ticks = [];
      client.on('tick', (n, offset) => { assert.match(offset, OFFSET); ticks.push(n); });
      let driver;
      try {
        await nextEvent(client, 'connect', budget(8000));
        driver = await direct(servers[ticker]);
        const COUNT = 300;
        await ask(driver, 'ticks', 10, COUNT);
        const order = [b, a, b, a, b, a];
        let recovered = 0;
        for (const to of order) {
          await sleep(250);
          const gone = nextEvent(client, 'disconnect', budget(8000));
          proxy.cut();
          await gone;
          await sleep(250); // its server persisted the session
          proxy.retarget(servers[to].port);
          client.connect();
          await nextEvent(client, 'connect', budget(8000));
          if (client.recovered) recovered++;
        }
        await withTimeout((async () => { while (ticks.at(-1) !== COUNT) await sleep(50); })(), budget(15000), 'the last tick');
        await sleep(100);
        const expected = Array.from({ length: COUNT }, (_, i) => i + 1);
        const missing = expected.filter((n) => !ticks.includes(n));
        const dup = ticks.filter((n, i) => ticks.indexOf(n) !== i);
        assert.deepEqual({ missing, dup }, { missing: [], dup: [] });
        assert.deepEqual(ticks, expected, 'in order');
        assert.equal(recovered, order.length, 'every move recovered');
      } finally {
        client.disconnect();
        if (driver) driver.disconnect();
        await proxy.close();
      }
    });
  }

  test('a client that never got an event recovers on sio (its position: socket.io #5538); Node refuses it', async () => {
    for (const [from, to, expectRecovered] of [['c1', 'c2', true], ['n1', 'n1', false]]) {
      const { proxy, client, log } = await proxiedClient(from);
      let hn;
      try {
        await nextEvent(client, 'connect', budget(8000));
        const room = `never-${from}`;
        await ask(client, 'join', room);
        const gone = nextEvent(client, 'disconnect', budget(8000));
        proxy.cut();
        await gone;
        await sleep(300);
        hn = await direct(servers.n1);
        await ask(hn, 'join', room);
        await emitVia(hn, 'toRoom', room, `missed-${from}`);
        log.length = 0;
        proxy.retarget(servers[to].port);
        client.connect();
        await nextEvent(client, 'connect', budget(8000));
        assert.equal(client.recovered, expectRecovered, `${from} -> ${to}`);
        if (expectRecovered) {
          const missed = log.slice(0, log.findIndex((e) => e[0] === 'connect'));
          assert.deepEqual(missed.map((e) => e[1]), [`missed-${from}`]);
        }
      } finally {
        client.disconnect();
        if (hn) hn.disconnect();
        await proxy.close();
      }
    }
  });

  test('the session value is Node\'s: base64 of msgpack {sid, pid, rooms, data}', async () => {
    const { createClient } = require('redis');
    const { decode } = require('@msgpack/msgpack');
    const r = createClient({ url: redis.url });
    await r.connect();
    try {
      assert.ok(await r.xLen('socket.io-2') > 0, 'the streamCount 3 servers wrote socket.io-2');
      for (const id of ['c1', 'n1']) {
        const proxy = await startCutProxy(servers[id].port);
        const s = connect(proxy.url, { transports: ['websocket'], forceNew: true, reconnection: false });
        await nextEvent(s, 'connect', budget(8000));
        await ask(s, 'join', 'kept');
        await ask(s, 'setData', { who: id });
        const pid = s._pid;
        const sid = s.id;
        proxy.cut(); // "transport close": the session is kept
        await proxy.close();
        let raw = null;
        for (let i = 0; i < 100 && !raw; i++) { raw = await r.get(`sio:session:${pid}`); if (!raw) await sleep(20); }
        assert.ok(raw, `${id} wrote sio:session:${pid} (keys: ${await r.keys("*")}) ${servers[id].stderr.slice(-800)}`);
        const ttl = await r.pTTL(`sio:session:${pid}`);
        assert.ok(ttl > 100000 && ttl <= 120000, `PX of the window (${ttl})`);
        const v = decode(Buffer.from(raw, 'base64'));
        assert.equal(v.sid, sid);
        assert.equal(v.pid, pid);
        assert.deepEqual(v.rooms, [sid, 'kept']);
        assert.deepEqual(v.data, { who: id });
        await r.del(`sio:session:${pid}`);
      }
    } finally {
      await r.quit();
    }
  });

  test('across a restart of the sio server: the session waits in Redis', async () => {
    const { proxy, client, log } = await proxiedClient('c1');
    let hn;
    try {
      await nextEvent(client, 'connect', budget(8000));
      await ask(client, 'join', 'restart-room');
      const first = nextEvent(client, 'news', budget(5000));
      await ask(client, 'direct', 'before-restart');
      await first;
      const before = await ask(client, 'whoami');
      const gone = nextEvent(client, 'disconnect', budget(8000));
      await stopAndCheck(servers.c1); // SIGTERM: "server shutting down" keeps the session
      await gone;
      delete servers.c1;
      hn = await direct(servers.n1);
      await emitVia(hn, 'toRoom', 'restart-room', 'while-down-1');
      await emitVia(hn, 'bcast', 'while-down-2');
      servers.c1 = await start('c');
      log.length = 0;
      proxy.retarget(servers.c1.port);
      client.connect();
      await nextEvent(client, 'connect', budget(8000));
      const after = await ask(client, 'whoami');
      assert.equal(after.recovered, true);
      assert.equal(after.id, before.id);
      assert.deepEqual(after.rooms, ['restart-room']);
      const missed = log.slice(0, log.findIndex((e) => e[0] === 'connect'));
      assert.deepEqual(missed.map((e) => e[1]), ['while-down-1', 'while-down-2']);
      for (const e of missed) assert.match(e[2], OFFSET);
    } finally {
      client.disconnect();
      if (hn) hn.disconnect();
      await proxy.close();
    }
  });
});
