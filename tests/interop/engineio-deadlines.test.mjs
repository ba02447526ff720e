// Engine.IO deadlines are exact (../shared/CONFORMANCE.md, "Timers must be exact"): with
// pingInterval 300 and pingTimeout 200, a polling session whose client never answers the ping
// is gone pingInterval + pingTimeout after the handshake, measured as the official suite does,
// from when the client got the handshake response. A GET sent at exactly that moment gets 400,
// in every one of 20 runs (Node drops such a session at 498-500 ms); a GET held meanwhile is
// answered with the close packet then (the median of 20 runs, within the loop's lateness).
//
// Server under test: $SIO_BIN_DIR/conformance, or the Node reference server with
// SIO_TEST_TARGET=reference. SIO_TEST_VERBOSE=1 prints each run's figures.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { conformanceTarget, startConformance, stopAndCheck } from './lib/server.mjs';
import { Polling, closeHttp } from './lib/http.mjs';
import { JITTER, budget, sleep } from './lib/timeouts.mjs';

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const DEADLINE = PING_INTERVAL + PING_TIMEOUT;
const RUNS = 20;
const STAGGER_MS = 23; // the runs overlap, their GETs do not coincide
const target = conformanceTarget();
const verbose = !!process.env.SIO_TEST_VERBOSE;

describe(`Engine.IO deadlines against ${target.name}`, { skip: target.skip }, () => {
  let server;

  before(async () => {
    server = await startConformance(target);
  });

  after(async () => {
    closeHttp();
    await stopAndCheck(server);
  });

  // Waits until `at` ms after t0 (setTimeout may be late, never early).
  const until = async (t0, at) => {
    const left = at - (performance.now() - t0);
    if (left > 0) await sleep(left);
  };

  test(`polling: a GET sent pingInterval + pingTimeout after the handshake response gets 400 (${RUNS} of ${RUNS})`, async () => {
    const run = async (i) => {
      await sleep(i * STAGGER_MS);
      const p = new Polling(server.url, '/engine.io/');
      await p.handshake();
      const t0 = performance.now();
      await until(t0, DEADLINE);
      const sentAt = performance.now() - t0;
      const res = await p.get({ timeout: budget(2000) });
      return { status: res.status, sentAt, text: res.text };
    };
    const runs = await Promise.all(Array.from({ length: RUNS }, (_, i) => run(i)));
    if (verbose) for (const r of runs) console.error(`GET sent at ${r.sentAt.toFixed(1)} ms -> ${r.status}`);
    const ok = runs.filter((r) => r.status === 400).length;
    assert.equal(ok, RUNS, `400 in ${ok} of ${RUNS} runs; the others: ${JSON.stringify(runs.filter((r) => r.status !== 400))}`);
  });

  test('polling: a GET held after the ping is answered with the close packet by pingInterval + pingTimeout', async (t) => {
    const run = async (i) => {
      await sleep(i * STAGGER_MS);
      const p = new Polling(server.url, '/engine.io/');
      await p.handshake();
      const t0 = performance.now();
      const ping = await p.get();
      assert.equal(ping.text, '2');
      const held = await p.get({ timeout: budget(2000) });
      return { droppedAt: performance.now() - t0, status: held.status, text: held.text };
    };
    const runs = await Promise.all(Array.from({ length: RUNS }, (_, i) => run(i)));
    const at = runs.map((r) => r.droppedAt).sort((a, b) => a - b);
    const fmt = (v) => v.toFixed(1);
    const median = at[at.length >> 1];
    const summary = `dropped at min ${fmt(at[0])} / median ${fmt(median)} / max ${fmt(at[at.length - 1])} ms after the handshake response`;
    t.diagnostic(summary);
    if (verbose) console.error(summary);
    for (const r of runs) {
      assert.equal(r.status, 200);
      assert.equal(r.text, '1', 'the held GET gets the close packet');
    }
    // Here the timer alone decides (the GET above is decided by the deadline): on a busy
    // machine a run may be late, or look early when the handshake response reached the client
    // late; the median holds.
    assert.ok(median >= DEADLINE - 20 && median <= DEADLINE + JITTER, summary);
  });
});
