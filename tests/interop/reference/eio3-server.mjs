// The Node twin of `iofeatures --allow-eio3` for what tests/interop/io-eio3.test.mjs uses:
// socket.io 4.8 with allowEIO3: true, pingInterval 300, pingTimeout 200, connectTimeout 1000,
// CORS any origin, and these handlers (as examples/iofeatures/iofeatures.c):
//   "/"       emit "auth" with the auth payload; "message" -> "message-back" (same arguments);
//             "message-with-ack" -> the ack with the same arguments; "join" (rooms...) -> ack;
//             "to" (rooms[], except[], event, data, fromSocket) -> the event to those rooms
//             (from the socket: broadcast, without it), then ack; "ask" (timeoutMs) -> emit
//             "question" "what?" with an ack, then "ask-result" with the answer (or "ask-error");
//             "to-bin" (room, event) -> the event (<01 02 03>, "bin") to the room, then ack.
//   "/mw"     a middleware waiting 20 ms, then one requiring auth.token === "ok" (else
//             "not authorized" with data {code: 42}); on connection emit "welcome" "authorized".
//   "/custom" emit "auth" with the auth payload.
// Usage: node eio3-server.mjs [--port N]   (prints its URL when listening)
// Running the tests against it (SIO_TEST_TARGET=reference) validates them.

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { conformanceHandlers } from './conformance-handlers.mjs';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'));
const { Server } = require('socket.io');

const i = process.argv.indexOf('--port');
const port = i >= 0 ? Number(process.argv[i + 1]) : 3000;

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not Found');
});
const io = new Server(httpServer, {
  allowEIO3: true,
  pingInterval: 300,
  pingTimeout: 200,
  connectTimeout: 1000,
  cors: { origin: '*' },
  serveClient: false,
});

io.on('connection', (socket) => {
  conformanceHandlers(socket);
  socket.on('join', (...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
    for (const room of args) socket.join(room);
    ack?.();
  });
  socket.on('to', (rooms, except, event, data, fromSocket, ack) => {
    let op = fromSocket ? socket.broadcast : io;
    for (const r of rooms) op = op.to(r);
    for (const r of except) op = op.except(r);
    op.emit(event, data);
    if (typeof ack === 'function') ack();
  });
  socket.on('to-bin', (room, event, ack) => {
    io.to(room).emit(event, Buffer.from([1, 2, 3]), 'bin');
    if (typeof ack === 'function') ack();
  });
  socket.on('ask', (timeoutMs) => {
    socket.timeout(timeoutMs).emit('question', 'what?', (err, ...answer) => {
      if (err) socket.emit('ask-error', 'timed out');
      else socket.emit('ask-result', ...answer);
    });
  });
});

const mw = io.of('/mw');
mw.use((socket, next) => setTimeout(next, 20));
mw.use((socket, next) => {
  if (socket.handshake.auth?.token === 'ok') {
    socket.data.state = 'authorized';
    next();
  } else {
    const err = new Error('not authorized');
    err.data = { code: 42 };
    next(err);
  }
});
mw.on('connection', (socket) => socket.emit('welcome', socket.data.state));

io.of('/custom').on('connection', (socket) => socket.emit('auth', socket.handshake.auth));

httpServer.listen(port, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${httpServer.address().port}\n`);
});

function shutdown() {
  io.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
