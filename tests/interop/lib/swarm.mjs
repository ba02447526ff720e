// Many socket.io-client instances spread over worker threads, so that the test process
// (not the server) is less of a bottleneck: each thread has its own event loop for its
// clients' 300 ms heartbeats. `runSwarm` resolves with every client's answers and
// counters once all have been answered (or timed out); `close()` then disconnects them.

import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const workerFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'swarm-worker.mjs');

export async function runSwarm({ url, opts, n, threads = 4, wave = 25, keepConnected, answerMs }) {
  const workers = [];
  const per = Math.ceil(n / threads);
  const parts = [];
  for (let t = 0; t < threads; t++) {
    const from = t * per;
    const to = Math.min(n, from + per);
    if (from >= to) break;
    const w = new Worker(workerFile, { workerData: { url, opts, from, to, wave, keepConnected, answerMs } });
    workers.push(w);
    parts.push(new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`swarm worker exited early (code ${code})`)));
    }));
  }
  let reports;
  try {
    reports = await Promise.all(parts);
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  const results = reports.flatMap((r) => r.results).sort((a, b) => a.i - b.i);
  const drops = reports.reduce((a, r) => a + r.stats.drops, 0);
  const connectErrors = reports.reduce((a, r) => a + r.stats.connectErrors, 0);
  const connected = reports.reduce((a, r) => a + r.connected, 0);
  return {
    results, drops, connectErrors, connected,
    async close() {
      await Promise.all(workers.map((w) => new Promise((resolve) => {
        const t = setTimeout(() => { w.terminate().then(resolve); }, 3000);
        w.once('exit', () => { clearTimeout(t); resolve(); });
        w.postMessage('close');
      })));
    },
  };
}
