// The Node twin of examples/recovery (socket.io 4.8 with connectionStateRecovery): the same
// events, acks and middleware, so that tests/interop/recovery.test.mjs can show where Node's
// recovery fails (socket.io #5538, #5282) and sio's does not.
//
// Usage: node recovery-server.mjs [--port N] [--window MS] [--run-middlewares]
//                                 [--ping-interval MS] [--ping-timeout MS] [--sweep MS]
//                                 [--redis URL [--stream-count N]]
// --redis URL: @socket.io/redis-streams-adapter 0.3 on an npm `redis` client (sessions and
// packets in Redis), as examples/recovery --redis.
// --sweep MS: socket.io-adapter's SessionAwareAdapter sweeps expired packets and sessions
// every 60 s (a fixed setInterval(…, 60 * 1000) in its constructor); this runs that same
// sweep every MS instead, so that a test can reach the state of a long silence (#5282) in a
// few seconds. Nothing else of Node's code changes.

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'));

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? Number(argv[i + 1]) : dflt;
};
const port = opt('--port', 3000);
const sweepMs = opt('--sweep', 0);
if (sweepMs) {
  const real = globalThis.setInterval;
  globalThis.setInterval = (fn, ms, ...rest) => real(fn, ms === 60 * 1000 ? sweepMs : ms, ...rest);
}
const { Server } = require('socket.io');

const redisUrl = argv.includes('--redis') ? argv[argv.indexOf('--redis') + 1] : null;
let adapter;
if (redisUrl) {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-streams-adapter');
  const client = createClient({ url: redisUrl });
  client.on('error', () => {});
  await client.connect();
  adapter = createAdapter(client, { streamCount: opt('--stream-count', 1) });
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  ...(adapter ? { adapter } : {}),
  pingInterval: opt('--ping-interval', 25000),
  pingTimeout: opt('--ping-timeout', 20000),
  connectionStateRecovery: {
    maxDisconnectionDuration: opt('--window', 120000),
    skipMiddlewares: !argv.includes('--run-middlewares'),
  },
});

let mwRuns = 0;
io.use((socket, next) => {
  mwRuns++;
  next(socket.handshake.auth && socket.handshake.auth.deny === true ? new Error('denied') : undefined);
});

io.on('connection', (socket) => {
  socket.on('whoami', (ack) => ack({
    id: socket.id,
    recovered: socket.recovered,
    rooms: [...socket.rooms].filter((r) => r !== socket.id).sort(),
    data: socket.data === undefined ? {} : socket.data,
    mw: mwRuns,
  }));
  socket.on('join', (room, ack) => { socket.join(room); ack(); });
  socket.on('setData', (v, ack) => { socket.data = v; ack(); });
  socket.on('bcast', (v, ack) => { io.emit('news', v); ack(); });
  socket.on('toRoom', (room, v, ack) => { io.to(room).emit('news', v); ack(); });
  socket.on('direct', (v, ack) => { socket.emit('news', v); ack(); });
  socket.on('vbcast', (v, ack) => { io.volatile.emit('news', v); ack(); });
  socket.on('binary', (n, ack) => {
    socket.emit('bin', Buffer.from(Array.from({ length: n }, (_, i) => i & 255)));
    ack();
  });
  socket.on('ticks', (ms, count, ack) => {
    let i = 0;
    const t = setInterval(() => {
      io.emit('tick', ++i);
      if (i >= count) clearInterval(t);
    }, ms);
    ack();
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${port}/ (Node recovery twin)`);
});
process.on('SIGTERM', () => { io.close(); httpServer.close(); process.exit(0); });
