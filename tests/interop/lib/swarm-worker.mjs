// One worker thread of a socket.io-client swarm (see swarm.mjs).
//
// Opens clients [from, to) in waves; each client emits `message` (i, "client-i") on every
// connect until it gets its `message-back`, then either stays connected (keepConnected,
// no more reconnecting) or leaves. Reports per-client answers and counters to the parent,
// then waits for "close" to disconnect everything.

import { parentPort, workerData } from 'node:worker_threads';
import http from 'node:http';
import { Manager } from 'socket.io-client';

const { url, opts, from, to, wave, keepConnected, answerMs } = workerData;
const agent = opts.transports.includes('polling') && !opts.transports.includes('websocket')
  ? new http.Agent({ keepAlive: true }) : undefined;
const managers = [];
const stats = { drops: 0, connectErrors: 0 };

function launch(i) {
  return new Promise((resolve) => {
    const m = new Manager(url, {
      ...opts, ...(agent ? { agent } : {}), timeout: 20000,
      reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 1000,
    });
    managers.push(m);
    const socket = m.socket('/');
    const answers = [];
    let answered = false;
    const timer = setTimeout(() => resolve({ i, answers, timedOut: true }), answerMs);
    socket.on('connect', () => { if (!answered) socket.emit('message', i, `client-${i}`); });
    socket.on('disconnect', () => { if (!answered || keepConnected) stats.drops++; });
    socket.on('connect_error', () => { stats.connectErrors++; });
    socket.on('message-back', (...args) => {
      answers.push(args);
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      if (keepConnected) m.reconnection(false); else close(m);
      // Let a duplicate answer, if any, arrive before reporting.
      setTimeout(() => resolve({ i, answers, timedOut: false }), 20);
    });
  });
}

function close(m) {
  for (const s of Object.values(m.nsps)) s.disconnect();
  m._close?.();
}

const results = [];
for (let w = from; w < to; w += wave) {
  const batch = [];
  for (let i = w; i < Math.min(to, w + wave); i++) batch.push(launch(i));
  results.push(...await Promise.all(batch));
}
const connected = managers.filter((m) => m.nsps['/']?.connected).length;
parentPort.postMessage({ results, stats, connected });
parentPort.once('message', () => {
  for (const m of managers) close(m);
  agent?.destroy();
  setTimeout(() => process.exit(0), 50);
});
