// Emitters (issue 13, point 5): a program with no sockets reaches the clients of a Redis
// cluster. Here npm @socket.io/redis-emitter 5.1 (on an npm `redis` 4.7 client in the test
// process) emits to all, to rooms, except rooms, with binary arguments and to a dynamic
// namespace, and calls socketsJoin, socketsLeave, disconnectSockets and serverSideEmit, on a
// classic cluster of sio servers (examples/cluster) and Node servers: each operation is
// checked on a client of every server. Without the C binary the Node servers alone run (which
// checks the tests themselves). Then the C emitter (sio/emitter.h, through the examples/emit
// program) emits to all, to rooms, except rooms, volatile and to a dynamic namespace, checked
// on the clients of the same mix of servers, with binary arguments, and calls socketsJoin,
// socketsLeave, disconnectSockets (with and without close) and serverSideEmit, each checked on
// every server, Node's included.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { redisMissing, startRedis } from './lib/redis.mjs';
import { BIN_DIR } from './lib/server.mjs';
import { cMissing, startCluster, call, eventually, record } from './lib/cluster.mjs';
import { budget, nextEvent } from './lib/timeouts.mjs';

const require = createRequire(import.meta.url);
const { Emitter } = require('@socket.io/redis-emitter');
const { createClient } = require('redis');

const execFileP = promisify(execFile);
const noRedis = redisMissing();
const IDS = cMissing ? ['n1', 'n2'] : ['c1', 'c2', 'n1', 'n2'];

describe(`Node emitter -> clients of ${IDS.join(', ')}`, { skip: noRedis }, () => {
  let redis;
  let cluster;
  let redisClient;
  let emitter;
  let clients; // one per server, by server id
  before(async () => {
    if (cMissing) console.log(`# C servers left out: ${cMissing}`);
    redis = await startRedis();
    cluster = await startCluster(redis.url, IDS);
    redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    emitter = new Emitter(redisClient);
    clients = {};
    for (const id of IDS) clients[id] = await cluster.client(id, { name: id });
  });
  after(async () => {
    try {
      if (redisClient) await redisClient.disconnect();
      if (cluster) await cluster.stop();
    } finally {
      if (redis) await redis.stop();
    }
  });

  const all = (event) => Promise.all(IDS.map((id) => nextEvent(clients[id], event)));

  test('emit to all, with binary arguments', async () => {
    const got = all('e-all');
    emitter.emit('e-all', 1, { two: 2 }, Buffer.from([0, 255, 7]));
    for (const [n, o, bin] of await got) {
      assert.equal(n, 1);
      assert.deepEqual(o, { two: 2 });
      assert.deepEqual([...new Uint8Array(bin)], [0, 255, 7]);
    }
  });

  test('emit to a room, except a room', async () => {
    const [inRoom, ...others] = IDS;
    await call(clients[inRoom], 'join', { rooms: ['em-room'] });
    const logs = IDS.map((id) => record(clients[id], 'e-room'));
    const got = nextEvent(clients[inRoom], 'e-room');
    emitter.to('em-room').emit('e-room', 'r');
    assert.deepEqual(await got, ['r']);
    const rest = Promise.all(others.map((id) => nextEvent(clients[id], 'e-except')));
    const excluded = record(clients[inRoom], 'e-except');
    emitter.except('em-room').emit('e-except', 'x');
    await rest;
    const marker = all('e-marker');
    emitter.emit('e-marker');
    await marker;
    assert.equal(excluded.items.length, 0, 'an excepted socket got the emit');
    assert.deepEqual(logs.map((l) => l.items.length), IDS.map((id) => (id === inRoom ? 1 : 0)));
  });

  test('emit to a dynamic namespace', async () => {
    const dyn = {};
    for (const id of IDS) dyn[id] = await cluster.client(id, { nsp: '/dyn-emitter', name: id });
    await eventually(async () => (await call(dyn[IDS[0]], 'do-count')) === IDS.length, budget(3000),
      'every server in the child');
    const got = Promise.all(IDS.map((id) => nextEvent(dyn[id], 'e-dyn')));
    const root = record(clients[IDS[0]], 'e-dyn');
    emitter.of('/dyn-emitter').emit('e-dyn', 'd');
    for (const args of await got) assert.deepEqual(args, ['d']);
    assert.equal(root.items.length, 0);
  });

  test('socketsJoin, socketsLeave', async () => {
    emitter.socketsJoin('em-joined');
    for (const id of IDS) {
      await eventually(async () => (await call(clients[id], 'my-rooms')).includes('em-joined'), budget(3000), `join on ${id}`);
    }
    emitter.in('em-joined').socketsLeave('em-joined');
    for (const id of IDS) {
      await eventually(async () => !(await call(clients[id], 'my-rooms')).includes('em-joined'), budget(3000), `leave on ${id}`);
    }
  });

  test('serverSideEmit reaches every server', async () => {
    for (const id of IDS) await call(clients[id], 'get-ss-log');
    emitter.serverSideEmit('ss-note', 'from-emitter', 3);
    for (const id of IDS) {
      await eventually(async () => {
        const log = await call(clients[id], 'get-ss-log');
        if (!log.length) return 'empty';
        assert.deepEqual(log, [{ event: 'ss-note', args: ['from-emitter', 3] }]);
        return true;
      }, budget(3000), `the server-side event on ${id}`);
    }
  });

  test('disconnectSockets', async () => {
    const gone = Promise.all(IDS.map((id) => nextEvent(clients[id], 'disconnect')));
    emitter.disconnectSockets();
    for (const [reason] of await gone) assert.equal(reason, 'io server disconnect');
  });
});

// The C emitter through examples/emit (bin/emit), the program a cron job would run.
const EMIT_BIN = path.join(BIN_DIR, 'emit');
const noEmit = !existsSync(EMIT_BIN) && `${EMIT_BIN} is not built yet`;

describe(`C emitter (examples/emit) -> clients of ${IDS.join(', ')}`, { skip: noRedis || noEmit }, () => {
  let redis;
  let cluster;
  let clients;
  before(async () => {
    redis = await startRedis();
    cluster = await startCluster(redis.url, IDS);
    clients = {};
    for (const id of IDS) clients[id] = await cluster.client(id, { name: id });
  });
  after(async () => {
    try { if (cluster) await cluster.stop(); } finally { if (redis) await redis.stop(); }
  });

  /** Runs bin/emit with `args`; resolves with the receivers it printed. */
  async function emit(...args) {
    const { stdout } = await execFileP(EMIT_BIN, ['--redis', redis.url, ...args], { timeout: budget(10000) });
    return Number(stdout.trim());
  }
  const all = (event) => Promise.all(IDS.map((id) => nextEvent(clients[id], event)));

  test('emit to all: every server subscribed receives it', async () => {
    const got = all('c-all');
    const receivers = await emit('c-all', '[1,"two",{"three":[3]}]');
    assert.equal(receivers, IDS.length);
    for (const args of await got) assert.deepEqual(args, [1, 'two', { three: [3] }]);
  });

  test('emit to a room, except a room, volatile', async () => {
    const [inRoom, ...others] = IDS;
    await call(clients[inRoom], 'join', { rooms: ['c-room'] });
    const logs = IDS.map((id) => record(clients[id], 'c-room'));
    const got = nextEvent(clients[inRoom], 'c-room');
    await emit('--to', 'c-room', 'c-room', '["r"]');
    assert.deepEqual(await got, ['r']);
    const excluded = record(clients[inRoom], 'c-except');
    const rest = Promise.all(others.map((id) => nextEvent(clients[id], 'c-except')));
    await emit('--except', 'c-room', 'c-except', '["x"]');
    await rest;
    const vol = all('c-volatile');
    await emit('--volatile', 'c-volatile');
    await vol;
    assert.equal(excluded.items.length, 0, 'an excepted socket got the emit');
    assert.deepEqual(logs.map((l) => l.items.length), IDS.map((id) => (id === inRoom ? 1 : 0)));
  });

  test('emit with binary arguments', async () => {
    const got = all('c-bin');
    await emit('--bin', '00ff07', '--bin', '', 'c-bin', '[1,{"two":2}]');
    for (const [n, o, bin, empty] of await got) {
      assert.equal(n, 1);
      assert.deepEqual(o, { two: 2 });
      assert.deepEqual([...new Uint8Array(bin)], [0, 255, 7]);
      assert.equal(new Uint8Array(empty).length, 0);
    }
  });

  test('socketsJoin, socketsLeave, of every socket and of a room', async () => {
    await emit('--sockets-join', 'c-joined');
    for (const id of IDS) {
      await eventually(async () => (await call(clients[id], 'my-rooms')).includes('c-joined'), budget(3000), `join on ${id}`);
    }
    const [inRoom, ...others] = IDS;
    await call(clients[inRoom], 'join', { rooms: ['c-sel'] });
    await emit('--to', 'c-sel', '--sockets-leave', 'c-joined');
    await eventually(async () => !(await call(clients[inRoom], 'my-rooms')).includes('c-joined'), budget(3000), `leave on ${inRoom}`);
    for (const id of others) assert.ok((await call(clients[id], 'my-rooms')).includes('c-joined'), `${id} left too`);
    await emit('--sockets-leave', 'c-joined');
    for (const id of others) {
      await eventually(async () => !(await call(clients[id], 'my-rooms')).includes('c-joined'), budget(3000), `leave on ${id}`);
    }
  });

  test('serverSideEmit reaches every server', async () => {
    for (const id of IDS) await call(clients[id], 'get-ss-log');
    await emit('--server-side', 'ss-note', '["from-c-emitter",4]');
    for (const id of IDS) {
      await eventually(async () => {
        const log = await call(clients[id], 'get-ss-log');
        if (!log.length) return 'empty';
        assert.deepEqual(log, [{ event: 'ss-note', args: ['from-c-emitter', 4] }]);
        return true;
      }, budget(3000), `the server-side event on ${id}`);
    }
  });

  test('bad command lines are refused with status 2', async () => {
    for (const args of [['--bin', 'abc', 'ev'], ['--bin', 'zz', 'ev'], ['ev', '{"not":"an array"}'], ['--close', 'ev'], ['--server-side']]) {
      await assert.rejects(execFileP(EMIT_BIN, ['--redis', redis.url, ...args], { timeout: budget(10000) }),
        (err) => err.code === 2, `emit ${args.join(' ')}`);
    }
  });

  test('emit to a dynamic namespace', async () => {
    const dyn = {};
    for (const id of IDS) dyn[id] = await cluster.client(id, { nsp: '/dyn-cemit', name: id });
    await eventually(async () => (await call(dyn[IDS[0]], 'do-count')) === IDS.length, budget(3000),
      'every server in the child');
    const got = Promise.all(IDS.map((id) => nextEvent(dyn[id], 'c-dyn')));
    const root = record(clients[IDS[0]], 'c-dyn');
    await emit('--nsp', '/dyn-cemit', 'c-dyn', '["d"]');
    for (const args of await got) assert.deepEqual(args, ['d']);
    assert.equal(root.items.length, 0);
  });

  test('disconnectSockets of a room, then of all with close', async () => {
    const [inRoom, ...others] = IDS;
    await call(clients[inRoom], 'join', { rooms: ['c-bye'] });
    const first = nextEvent(clients[inRoom], 'disconnect');
    const early = others.map((id) => record(clients[id], 'disconnect'));
    await emit('--to', 'c-bye', '--disconnect');
    assert.equal((await first)[0], 'io server disconnect');
    assert.deepEqual(early.map((l) => l.items.length), others.map(() => 0));
    const gone = Promise.all(others.map((id) => nextEvent(clients[id], 'disconnect')));
    await emit('--disconnect', '--close');
    // with close too, each socket gets its DISCONNECT packet before the connection closes
    for (const [reason] of await gone) assert.equal(reason, 'io server disconnect');
  });
});
