// Workers (issue 16, points 1 and 2): `bench --workers N` runs N processes on one port with
// SO_REUSEPORT under a primary.
//   - point 1: a worker killed with SIGKILL is logged and restarted (same index, new pid) and
//     serves again; SIGTERM to the primary stops every worker gracefully within the shutdown
//     deadline (5 s + the primary's second) and the primary exits 0.
//   - point 2: no sticky sessions. 200 polling-only clients and 200 that upgrade, against 4
//     workers: every request the kernel hands to a worker that does not hold its session is
//     passed to the owner (socket and bytes, SCM_RIGHTS), so all connect, exchange events and
//     acks, and none sees 400 "Session ID unknown" (which would surface as a connect_error or
//     a disconnect). The sids name at least two workers: requests did cross. A bcast from one
//     client reaches the clients of every worker (point 3: the workers' adapter).
//   - the same over TLS (issue 15 with 16): a TLS connection's encryption state cannot move to
//     another process, so the worker that holds it relays the request's bytes to the owner
//     through a socketpair passed in its place (net/tunnel.c). 100 polling-only and 100
//     upgrading clients over https against 4 workers all connect and exchange events and acks.
//   - point 3, several hosts: two primaries ("hosts") of 2 workers each, all joined through one
//     Redis (`bench --workers 2 --redis URL`: each worker is a server of the Redis cluster); a
//     bcast from a client of either host reaches the clients of all four workers, once.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import { BIN_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { redisMissing, startRedis } from './lib/redis.mjs';
import { budget, sleep, withTimeout } from './lib/timeouts.mjs';

const BIN = path.join(BIN_DIR, 'bench');
const skip = existsSync(BIN) ? false : `${BIN} is not built yet`;

/** The pids the workers printed, by index (the last line of each index wins). */
function workerPids(stdout) {
  const pids = new Map();
  for (const m of stdout.matchAll(/worker (\d+) of (\d+), pid (\d+)/g)) pids.set(Number(m[1]), Number(m[3]));
  return pids;
}

async function until(what, fn, ms = budget(10000)) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function startWorkers(n, extra = []) {
  const port = await freePort();
  const server = await startServer({ command: BIN, args: ['--port', String(port), '--workers', String(n), ...extra], port });
  await until(`${n} workers`, () => workerPids(server.stdout).size === n);
  return server;
}

/** One client: connects, then `rounds` acks and echoes; resolves with its sid. */
function client(url, opts, i, rounds = 3) {
  return new Promise((resolve, reject) => {
    const s = connect(url, { ...opts, reconnection: false, forceNew: true });
    let done = false;
    const fail = (why) => { if (!done) { done = true; s.disconnect(); reject(new Error(`client ${i}: ${why}`)); } };
    s.on('connect_error', (e) => fail(`connect_error ${e.message} ${e.description?.message ?? ''}`));
    s.on('disconnect', (reason) => fail(`disconnect (${reason})`));
    s.on('connect', async () => {
      try {
        for (let k = 0; k < rounds; k++) {
          const back = await s.timeout(budget(10000)).emitWithAck('ack', { i, k });
          assert.deepEqual(back, { i, k });
          const echo = new Promise((r) => s.once('echo', r));
          s.emit('echo', `${i}-${k}`);
          assert.equal(await withTimeout(echo, budget(10000), 'echo'), `${i}-${k}`);
          await sleep(20 + (i % 7) * 10);
        }
        const sid = s.io.engine.id;
        const transport = s.io.engine.transport.name;
        done = true;
        s.disconnect();
        resolve({ sid, transport });
      } catch (e) {
        fail(e.message);
      }
    });
  });
}

describe('workers: supervision (issue 16, point 1)', { skip }, () => {
  let server;
  before(async () => { server = await startWorkers(3); });
  after(async () => { if (server?.alive()) await server.stop(); });

  test('a worker killed with SIGKILL is logged and restarted, and serves again', async () => {
    const before = workerPids(server.stdout);
    const victim = before.get(1);
    process.kill(victim, 'SIGKILL');
    await until('the restart log', () => new RegExp(`worker 1 \\(pid ${victim}\\) killed by signal 9`).test(server.stderr) &&
      /worker 1 restarted \(pid \d+\)/.test(server.stderr));
    const after = await until('the new worker 1', () => {
      const p = workerPids(server.stdout);
      return p.get(1) !== victim ? p : null;
    });
    assert.equal(after.get(0), before.get(0), 'the others were not touched');
    assert.equal(after.get(2), before.get(2), 'the others were not touched');
    // every worker serves (polling sessions cross between them)
    const url = server.url;
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => client(url, { transports: ['polling'] }, i, 2)));
    assert.equal(results.length, 30);
  });

  test('SIGTERM stops every worker within the deadline; the primary exits 0', async () => {
    const pids = [...workerPids(server.stdout).values()];
    const s = connect(server.url, { transports: ['websocket'], reconnection: false });
    await new Promise((r, j) => { s.once('connect', r); s.once('connect_error', j); });
    const gone = new Promise((r) => s.once('disconnect', r));
    const t0 = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const info = await withTimeout(server.exited, budget(6500), 'the primary to exit');
    const took = Date.now() - t0;
    assert.equal(info.code, 0, `exit code (stderr: ${server.stderr.slice(-2000)})`);
    assert.ok(took < 6000 * (budget(1000) / 1000), `took ${took} ms`);
    await withTimeout(gone, budget(2000), 'the client to be disconnected');
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), `worker ${pid} is gone`);
    assert.match(server.stderr, /workers: all workers stopped/);
    assert.equal(server.sanitizerReport(), null);
  });
});

describe('workers: no sticky sessions (issue 16, point 2)', { skip }, () => {
  let server;
  before(async () => { server = await startWorkers(4); });
  after(async () => { await stopAndCheck(server); });

  test('200 polling-only and 200 upgrading clients against 4 workers: all connect, events and acks flow', async () => {
    const url = server.url;
    const polling = Array.from({ length: 200 }, (_, i) => client(url, { transports: ['polling'], upgrade: false }, i));
    const upgrading = Array.from({ length: 200 }, (_, i) =>
      client(url, { transports: ['polling', 'websocket'], upgrade: true }, 200 + i));
    const results = await withTimeout(Promise.all([...polling, ...upgrading]), budget(45000), '400 clients');
    assert.equal(results.length, 400);
    assert.ok(results.slice(0, 200).every((r) => r.transport === 'polling'));
    assert.ok(results.slice(200).every((r) => r.transport === 'websocket'), 'the upgrades completed');
    const owners = new Set(results.map((r) => r.sid.slice(0, 2)));
    assert.ok(owners.size >= 2, `sessions on ${owners.size} worker(s): ${[...owners]}`);
    assert.doesNotMatch(server.stderr, /cannot pass a connection/);
  });

  test('bcast reaches the clients of every worker (the workers\' adapter)', async () => {
    const socks = await Promise.all(Array.from({ length: 16 }, (_, i) => new Promise((resolve, reject) => {
      const s = connect(server.url, { transports: i % 2 ? ['websocket'] : ['polling'], reconnection: false, forceNew: true });
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    })));
    try {
      const owners = new Set(socks.map((s) => s.io.engine.id.slice(0, 2)));
      assert.ok(owners.size >= 2, `clients on ${owners.size} worker(s)`);
      const got = socks.map((s) => withTimeout(new Promise((r) => s.once('bcast', r)), budget(5000), 'bcast'));
      socks[0].emit('bcast', { hello: 'all' });
      for (const m of await Promise.all(got)) assert.deepEqual(m, { hello: 'all' });
    } finally {
      for (const s of socks) s.disconnect();
    }
  });
});

describe('workers over TLS: no sticky sessions, the TLS relayed by the worker that holds it', { skip }, () => {
  let server;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sio-workers-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    server = await startWorkers(4, ['--tls-cert', cert, '--tls-key', key]);
  });
  after(async () => {
    await stopAndCheck(server);
    rmSync(dir, { recursive: true, force: true });
  });

  test('100 polling-only and 100 upgrading clients over https against 4 workers', async () => {
    const url = server.url.replace('http://127.0.0.1', 'https://localhost');
    const ca = readFileSync(cert);
    const polling = Array.from({ length: 100 }, (_, i) => client(url, { ca, transports: ['polling'], upgrade: false }, i));
    const upgrading = Array.from({ length: 100 }, (_, i) =>
      client(url, { ca, transports: ['polling', 'websocket'], upgrade: true }, 100 + i));
    const results = await withTimeout(Promise.all([...polling, ...upgrading]), budget(45000), '200 clients');
    assert.ok(results.slice(0, 100).every((r) => r.transport === 'polling'));
    assert.ok(results.slice(100).every((r) => r.transport === 'websocket'), 'the upgrades completed');
    const owners = new Set(results.map((r) => r.sid.slice(0, 2)));
    assert.ok(owners.size >= 2, `sessions on ${owners.size} worker(s): ${[...owners]}`);
    assert.doesNotMatch(server.stderr, /cannot pass a connection/);
  });
});

describe('workers: sio-server workers option (issue 16, point 4)', { skip: existsSync(path.join(BIN_DIR, 'sio-server')) ? false : 'sio-server is not built' }, () => {
  let server;
  before(async () => {
    const port = await freePort();
    server = await startServer({
      command: path.join(BIN_DIR, 'sio-server'),
      args: ['--host', '127.0.0.1', '--port', String(port), '--workers', '3'], port,
    });
    await until('3 workers', () => (server.stdout.match(/sio-server listening on/g) || []).length === 3);
  });
  after(async () => { await stopAndCheck(server); });

  test('--workers 3: three processes on the port; polling sessions cross between them', async () => {
    assert.match(server.stderr, /workers: primary \(pid \d+\) started 3 workers/);
    const sids = await Promise.all(Array.from({ length: 40 }, (_, i) => new Promise((resolve, reject) => {
      const s = connect(server.url, { transports: ['polling'], reconnection: false, forceNew: true });
      s.on('connect_error', (e) => reject(new Error(`client ${i}: ${e.message}`)));
      s.on('connect', async () => {
        await sleep(300); // a few long-poll cycles, each request landing on any worker
        if (!s.connected) return reject(new Error(`client ${i} was disconnected`));
        const sid = s.io.engine.id;
        s.disconnect();
        resolve(sid);
      });
    })));
    assert.ok(new Set(sids.map((s) => s.slice(0, 2))).size >= 2, 'sessions on several workers');
  });
});

describe('workers on several hosts, joined by Redis (issue 16, point 3)', { skip: skip || redisMissing() }, () => {
  let redis;
  const hosts = [];
  before(async () => {
    redis = await startRedis();
    for (let h = 0; h < 2; h++) hosts.push(await startWorkers(2, ['--redis', redis.url]));
  });
  after(async () => {
    for (const h of hosts) await stopAndCheck(h);
    if (redis) await redis.stop();
  });

  test('a bcast from a client of either host reaches the clients of all four workers, once', async () => {
    const socks = [];
    try {
      for (const h of hosts) {
        const mine = await Promise.all(Array.from({ length: 12 }, () => new Promise((resolve, reject) => {
          const s = connect(h.url, { transports: ['websocket'], reconnection: false, forceNew: true });
          s.once('connect', () => resolve(s));
          s.once('connect_error', reject);
        })));
        const owners = new Set(mine.map((s) => s.io.engine.id.slice(0, 2)));
        assert.equal(owners.size, 2, `the clients of ${h.url} landed on ${owners.size} worker(s)`);
        socks.push(...mine);
      }
      // every worker of both hosts is subscribed once it answers (Redis SUBSCRIBE at start)
      for (const [from, tag] of [[socks[0], 'from host 0'], [socks[socks.length - 1], 'from host 1']]) {
        const counts = socks.map(() => 0);
        const got = socks.map((s, i) => withTimeout(new Promise((r) => s.on('bcast', (m) => {
          if (m.tag === tag) counts[i]++, r();
        })), budget(5000), `bcast ${tag} to client ${i}`));
        from.emit('bcast', { tag });
        await Promise.all(got);
        await sleep(100); /* a duplicate would have come by now */
        assert.deepEqual(counts, socks.map(() => 1), `each client got the bcast ${tag} once`);
      }
    } finally {
      for (const s of socks) s.disconnect();
    }
  });
});
