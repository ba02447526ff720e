// Rooms and broadcasts across workers (issue 16, point 3): `cluster --workers 3` runs three
// worker processes on one port joined by the workers' adapter (sio_workers_adapter_new: the
// sharded adapter's ClusterAdapter messages over the workers' Unix sockets, no Redis), and
// every cluster operation of lib/cluster-matrix.mjs (the Redis cluster test's) runs from a
// client of one worker to a client of another: broadcasts with rooms, except and flags, acks,
// fetchSockets, remote sockets, socketsJoin/Leave, disconnectSockets, serverSideEmit with and
// without acks, serverCount, dynamic namespaces. A client lands on the worker the kernel
// picks: cluster.client(id) connects until whoami names the worker asked for.

import { existsSync } from 'node:fs';
import { io as connectIo } from 'socket.io-client';
import { CLUSTER_BIN, call, eventually } from './lib/cluster.mjs';
import { clusterMatrix } from './lib/cluster-matrix.mjs';
import { freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, sleep, withTimeout } from './lib/timeouts.mjs';

const N = 3;
const ids = Array.from({ length: N }, (_, i) => `c-w${i}`);
const skip = existsSync(CLUSTER_BIN) ? false : `${CLUSTER_BIN} is not built yet`;

async function startWorkersCluster() {
  const port = await freePort();
  const server = await startServer({ command: CLUSTER_BIN, args: ['--port', String(port), '--workers', String(N)], port });
  const deadline = Date.now() + budget(10000);
  while ((server.stdout.match(/listening on/g) || []).length < N) {
    if (Date.now() > deadline) throw new Error(`${N} workers did not start: ${server.stdout}`);
    await sleep(20);
  }
  const clients = new Set();
  const cluster = {
    ids,
    /** A connected client of worker `id`: connects until the kernel hands it to that worker. */
    async client(id, { nsp = '/', name = 'anon', query = {}, transports = ['websocket'] } = {}) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const s = connectIo(server.url + nsp, { transports, auth: { name }, query, forceNew: true, reconnection: false });
        await withTimeout(new Promise((resolve, reject) => {
          s.once('connect', resolve);
          s.once('connect_error', reject);
        }), budget(5000), `connect to ${id}${nsp}`);
        const who = await call(s, 'whoami');
        if (who.server === id) {
          clients.add(s);
          s.serverId = id;
          s.name = name;
          return s;
        }
        s.disconnect();
      }
      throw new Error(`no connection landed on ${id}`);
    },
    closeClients() {
      for (const s of clients) s.disconnect();
      clients.clear();
    },
    async stop() {
      cluster.closeClients();
      await stopAndCheck(server);
    },
  };
  // every worker counts them all once the hellos and subscriptions have crossed
  for (const id of ids) {
    const probe = await cluster.client(id);
    await eventually(async () => (await call(probe, 'do-count')) === N, budget(5000), `${id} to count ${N} workers`);
    probe.disconnect();
    clients.delete(probe);
  }
  return cluster;
}

clusterMatrix({
  title: `${N} workers, the workers' adapter`,
  skip,
  ids,
  mode: { sharded: true, msgpack: true, strayChildren: true },
  directions: [
    { name: 'w0->w1', from: 'c-w0', to: 'c-w1', skip: false },
    { name: 'w2->w0', from: 'c-w2', to: 'c-w0', skip: false },
  ],
  start: startWorkersCluster,
});
