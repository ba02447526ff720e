// The Node twin of examples/conformance, configured as ../../shared/CONFORMANCE.md says:
//
//   - an Engine.IO echo at /engine.io/ (every message sent back as received);
//   - Socket.IO at /socket.io/ with namespaces / and /custom, emitting `auth` with the
//     CONNECT payload, echoing `message` as `message-back` and answering
//     `message-with-ack` with its own arguments;
//   - pingInterval 300, pingTimeout 200, maxPayload 1000000, connectTimeout 1000, CORS any origin.
//
// Where Node (engine.io 6.6.4, socket.io 4.8.1) differs from what sio is asked to do, the
// tests accept both or check sio only:
//   - a polling POST over maxPayload gets 413 but Node keeps the session (sio closes it);
//   - Node renumbers binary placeholders in traversal order when it re-emits them;
//   - Node closes a connection whose EVENT overtakes its namespace's pending CONNECT
//     (same POST payload); sio answers it. No test relies on either.
//
// Usage: node conformance-server.mjs [--port N]   (default 3000; prints its URL when listening)
// Running the interop tests against it (SIO_TEST_TARGET=reference) validates the tests.

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { conformanceHandlers } from './conformance-handlers.mjs';

// Resolve npm packages from the repository's node_modules whatever the working directory.
const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'));
const engine = require('engine.io');
const { Server } = require('socket.io');

function parsePort(argv) {
  const i = argv.indexOf('--port');
  if (i >= 0 && argv[i + 1]) return Number(argv[i + 1]);
  return 3000;
}

const port = parsePort(process.argv.slice(2));
const common = {
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  transports: ['polling', 'websocket'],
  allowUpgrades: true,
  cors: { origin: '*' },
  // Two servers share one HTTP server: neither may destroy upgrades meant for the other.
  destroyUpgrade: false,
};

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not Found');
});

// Engine.IO echo.
const eio = new engine.Server(common);
eio.attach(httpServer, { path: '/engine.io/', destroyUpgrade: false });
eio.on('connection', (socket) => {
  socket.on('message', (data) => socket.send(data));
});

// Socket.IO.
const io = new Server(httpServer, { ...common, path: '/socket.io/', connectTimeout: 1000, serveClient: false });
io.on('connection', conformanceHandlers);
io.of('/custom').on('connection', (socket) => {
  socket.emit('auth', socket.handshake.auth);
});

httpServer.listen(port, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${httpServer.address().port}\n`);
});

function shutdown() {
  io.close();
  eio.close();
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
