// Every cluster operation across a mixed Redis cluster (issue 13, point 4): two sio servers
// (c1, c2: examples/cluster) and two Node servers (n1, n2: npm socket.io 4.8 with
// @socket.io/redis-adapter 8.3) on one private redis-server, official socket.io-client
// sockets on each. Each operation is driven from a client of the sending server and checked
// on a client of the receiving one, in every direction: C->Node, Node->C, C->C, and
// Node->Node (which checks the tests themselves against Node's own implementation). The
// same matrix runs in classic mode (createAdapter), in sharded mode (createShardedAdapter,
// Redis >= 7: skipped with a message naming the version otherwise) and in streams mode
// (createAdapter of @socket.io/redis-streams-adapter 0.3, issue 14 point 2). Without the C binary
// only Node->Node runs, and the skip messages say why.
// The operations themselves are lib/cluster-matrix.mjs's.

import { before, after } from 'node:test';
import { redisMissing, shardedMissing, startRedis } from './lib/redis.mjs';
import { cMissing, cShardedMissing, startCluster } from './lib/cluster.mjs';
import { clusterMatrix } from './lib/cluster-matrix.mjs';

const noRedis = redisMissing();
const DIRECTIONS = [
  { name: 'C->Node', from: 'c1', to: 'n1', skip: cMissing },
  { name: 'Node->C', from: 'n1', to: 'c1', skip: cMissing },
  { name: 'C->C', from: 'c1', to: 'c2', skip: cMissing },
  { name: 'Node->Node', from: 'n1', to: 'n2', skip: false },
];
const MODES = [
  { name: 'classic', sharded: false },
  { name: 'sharded', sharded: true, msgpack: true },
  // @socket.io/redis-streams-adapter 0.3: broadcasts through a Redis stream, requests and
  // responses as msgpack on pub/sub
  { name: 'streams', streams: true, msgpack: true },
];

let redis;
before(async () => { if (!noRedis) redis = await startRedis(); });
after(async () => { if (redis) await redis.stop(); });

function matrix(mode) {
  const noC = mode.sharded ? cShardedMissing : cMissing;
  const ids = noC ? ['n1', 'n2'] : ['c1', 'c2', 'n1', 'n2'];
  const modeSkip = noRedis || (mode.sharded && shardedMissing());
  clusterMatrix({
    title: `${mode.name} mode`, skip: modeSkip, ids, mode,
    directions: DIRECTIONS.map((d) => ({ ...d, skip: d.skip || ((!ids.includes(d.from) || !ids.includes(d.to)) && noC) })),
    start: () => startCluster(redis.url, ids, { sharded: mode.sharded, streams: mode.streams }),
  });
}

for (const mode of MODES) matrix(mode);
