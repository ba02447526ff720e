// The Redis cluster under faults and load (issue 13, point 6), on a mixed cluster of sio
// servers (examples/cluster) and Node servers (npm socket.io + @socket.io/redis-adapter),
// in classic mode:
//   - Redis restarted mid-run: every server reconnects and resubscribes, and broadcasts from
//     each server reach the clients of every other within 2 s of Redis answering again;
//   - loss: 10,000 sequenced broadcasts from two servers (5,000 each) reach a client on every
//     server with 0 missing, 0 duplicated, in order per sender.
// Without the C binary both run on Node servers only (which checks the tests themselves).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { redisMissing, startRedis } from './lib/redis.mjs';
import { cMissing, startCluster, call, eventually } from './lib/cluster.mjs';
import { SANITIZE, budget, sleep } from './lib/timeouts.mjs';

const noRedis = redisMissing();
const IDS = cMissing ? ['n1', 'n2'] : ['c1', 'c2', 'n1', 'n2'];
const SENDERS = cMissing ? ['n1', 'n2'] : ['c1', 'n1'];
const BURST = 5000;
// The bound; a sanitizer build runs the C servers at a fraction of their speed.
const BACK_WITHIN_MS = SANITIZE ? 3000 : 2000;

describe(`Redis faults and loss (${IDS.join(', ')})`, { skip: noRedis }, () => {
  let redis;
  let cluster;
  before(async () => {
    if (cMissing) console.log(`# C servers left out: ${cMissing}`);
    redis = await startRedis();
    cluster = await startCluster(redis.url, IDS);
  });
  after(async () => {
    try { if (cluster) await cluster.stop(); } finally { if (redis) await redis.stop(); }
  });

  test('Redis restarted: broadcasts flow again between every pair within 2 s', async () => {
    const clients = {};
    for (const id of IDS) clients[id] = await cluster.client(id, { name: id });
    const seen = new Map(); // "from>to" -> first arrival time after the restart
    for (const id of IDS) {
      clients[id].on('beat', ({ from }) => {
        const key = `${from}>${id}`;
        if (from !== id && !seen.has(key)) seen.set(key, Date.now());
      });
    }
    await redis.restart({ downMs: 300 });
    const back = Date.now();
    const pairs = IDS.length * (IDS.length - 1);
    let beating = true;
    const beats = (async () => {
      while (beating) {
        await Promise.all(IDS.map((id) => call(clients[id], 'do-broadcast', { event: 'beat', args: [{ from: id }] })
          .catch(() => {})));
        await sleep(50);
      }
    })();
    try {
      await eventually(() => seen.size === pairs || `${seen.size}/${pairs}`, BACK_WITHIN_MS + 3000,
        'a broadcast between every pair');
    } finally {
      beating = false;
      await beats;
    }
    const late = [...seen].map(([k, t]) => [k, t - back]).filter(([, ms]) => ms > BACK_WITHIN_MS);
    const worst = Math.max(...[...seen.values()].map((t) => t - back));
    console.log(`# slowest pair back after ${worst} ms`);
    assert.deepEqual(late, [], `pairs back later than ${BACK_WITHIN_MS} ms`);
    cluster.closeClients();
  });

  test(`loss: ${2 * BURST} sequenced broadcasts from ${SENDERS.join(' and ')}, 0 missing, 0 duplicated, in order`, async () => {
    const receivers = {};
    const logs = {};
    for (const id of IDS) {
      receivers[id] = await cluster.client(id, { name: `r-${id}` });
      logs[id] = Object.fromEntries(SENDERS.map((s) => [s, []]));
      receivers[id].on('seq', ({ from, seq }) => { logs[id][from].push(seq); });
    }
    const senders = {};
    for (const id of SENDERS) senders[id] = await cluster.client(id, { name: `s-${id}` });
    const t0 = Date.now();
    await Promise.all(SENDERS.map((id) => call(senders[id], 'do-burst', { event: 'seq', count: BURST }, budget(30000))));
    const total = () => IDS.reduce((n, id) => n + SENDERS.reduce((m, s) => m + logs[id][s].length, 0), 0);
    const want = IDS.length * SENDERS.length * BURST;
    await eventually(() => total() >= want || `${total()}/${want}`, budget(60000), 'every broadcast');
    await sleep(200); // a duplicate would come right behind
    console.log(`# ${want} deliveries in ${Date.now() - t0} ms`);
    for (const id of IDS) {
      for (const s of SENDERS) {
        const got = logs[id][s];
        const missing = BURST - new Set(got).size;
        const duplicated = got.length - new Set(got).size;
        const outOfOrder = got.findIndex((v, i) => i > 0 && v <= got[i - 1]);
        assert.equal(missing, 0, `${s} -> ${id}: ${missing} missing`);
        assert.equal(duplicated, 0, `${s} -> ${id}: ${duplicated} duplicated`);
        assert.equal(outOfOrder, -1, `${s} -> ${id}: out of order at ${outOfOrder}`);
      }
    }
    cluster.closeClients();
  });
});
