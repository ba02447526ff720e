// Mixed clusters for the Redis adapter tests: sio servers (examples/cluster, built as
// $SIO_BIN_DIR/cluster) and Node servers (reference/cluster-server.mjs, npm socket.io and
// @socket.io/redis-adapter) on one private Redis, and official socket.io-client sockets on
// each. Both servers answer the same "do-*" events (see the reference server's comment), so
// a test names servers, not implementations: `cluster.servers.c1` and `cluster.servers.n1`
// are driven alike.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { io as connectIo } from 'socket.io-client';
import { BIN_DIR, INTEROP_DIR, freePort, startServer, stopAndCheck } from './server.mjs';
import { budget, sleep, withTimeout } from './timeouts.mjs';

export const CLUSTER_BIN = path.join(BIN_DIR, 'cluster');
/** Why the C servers cannot run (node:test's skip message), or false. */
export const cMissing = existsSync(CLUSTER_BIN) ? false
  : `${CLUSTER_BIN} is not built yet (examples/cluster needs the C Redis adapter)`;
const NODE_SERVER = path.join(INTEROP_DIR, 'reference', 'cluster-server.mjs');

/**
 * Why the C servers cannot run sharded (a skip message), or false: `cluster --sharded`
 * exits at once when sio_redis_adapter_new refuses the option, and keeps running (Redis being
 * down at start is no reason to stop) when it has the sharded adapter.
 */
export const cShardedMissing = cMissing || (() => {
  const r = spawnSync(CLUSTER_BIN, ['--sharded', '--port', '0', '--redis', 'redis://127.0.0.1:1'],
    { encoding: 'utf8', timeout: 1500, killSignal: 'SIGKILL' });
  if (r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL') return false;
  return `${CLUSTER_BIN} --sharded refuses to start (${(r.stderr || '').trim() || `exit ${r.status}`}): no C sharded adapter yet`;
})();

/** The server kinds a test may use: "c" when the binary exists, "node" always. */
export function kindOf(id) {
  return id.startsWith('c') ? 'c' : 'node';
}

function serverCommand(kind, port, id, redisUrl, { sharded, streams, streamCount, key, subscriptionMode, requestsTimeout, extra }) {
  const args = ['--port', String(port), '--redis', redisUrl, '--id', id];
  if (sharded) args.push('--sharded');
  if (streams) args.push('--streams');
  if (streamCount) args.push('--stream-count', String(streamCount));
  if (extra) args.push(...extra);
  if (key) args.push('--key', key);
  if (subscriptionMode) args.push('--subscription-mode', subscriptionMode);
  if (requestsTimeout) args.push('--requests-timeout', String(requestsTimeout));
  if (kind === 'c') return { command: CLUSTER_BIN, args };
  return { command: process.execPath, args: [NODE_SERVER, ...args] };
}

/** Starts one cluster server (a fresh port if another process took the probed one). */
export async function startClusterServer(id, redisUrl, opts = {}) {
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const { command, args } = serverCommand(kindOf(id), port, id, redisUrl, opts);
    try {
      const s = await startServer({ command, args, port });
      s.id = id;
      s.kind = kindOf(id);
      return s;
    } catch (e) {
      lastError = e;
      if (!/exited during startup/.test(e.message)) throw e;
    }
  }
  throw lastError;
}

/**
 * Starts the servers `ids` ("c1", "n1", ...: the first letter says C or Node) on `redisUrl`
 * and waits until each counts them all (every server subscribed). `stop()` ends the servers
 * and closes every client the cluster made; it throws if a server crashed.
 */
export async function startCluster(redisUrl, ids, opts = {}) {
  const servers = {};
  const clients = new Set();
  const cluster = {
    servers,
    ids,
    /** A connected socket.io-client socket on server `id`. */
    async client(id, { nsp = '/', name = 'anon', query = {}, transports = ['websocket'] } = {}) {
      const s = connectIo(servers[id].url + nsp, {
        transports, auth: { name }, query, forceNew: true, reconnection: false,
      });
      clients.add(s);
      await withTimeout(new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('connect_error', reject);
      }), budget(5000), `connect to ${id}${nsp}`);
      s.serverId = id;
      s.name = name;
      return s;
    },
    /** Closes every client made so far. */
    closeClients() {
      for (const s of clients) s.disconnect();
      clients.clear();
    },
    async stop() {
      cluster.closeClients();
      const errors = [];
      for (const s of Object.values(servers)) {
        try { await stopAndCheck(s); } catch (e) { errors.push(`${s.id}: ${e.message}`); }
      }
      if (errors.length) throw new Error(errors.join('\n'));
    },
  };
  try {
    await Promise.all(ids.map(async (id) => { servers[id] = await startClusterServer(id, redisUrl, opts); }));
    for (const id of ids) {
      const probe = await cluster.client(id);
      await eventually(async () => (await call(probe, 'do-count')) === ids.length, budget(5000),
        `${id} to count ${ids.length} servers`);
      probe.disconnect();
      clients.delete(probe);
    }
  } catch (e) {
    await cluster.stop().catch(() => {});
    throw e;
  }
  return cluster;
}

/** Emits `event` with `arg` on `sock` and resolves with the server's ack. */
export function call(sock, event, arg = {}, ms = budget(8000)) {
  return sock.timeout(ms).emitWithAck(event, arg);
}

/** Resolves once `check()` is truthy (polled every 20 ms), or rejects naming `what`. */
export async function eventually(check, ms = budget(3000), what = 'a condition') {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await check(); } catch (e) { last = e; }
    if (last === true) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await sleep(20);
  }
}

/** Records every `event` that `sock` receives: `log.items` is the list of argument arrays. */
export function record(sock, event) {
  const log = { items: [] };
  sock.on(event, (...args) => { log.items.push(args); });
  return log;
}
