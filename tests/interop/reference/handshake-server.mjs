// The Node twin of examples/handshake (socket.io 4.8.1 on engine.io 6.6.4): the same
// allowRequest (query `deny=M` refuses with M, or with no message when M is empty; `delay=N`
// decides N ms later; otherwise accepted) and, on "/" and "/other", the same events:
// "handshake" -> ack(socket.handshake), "handshake-text" -> ack({text, time, xdomain}),
// "allow-count" -> ack(allowRequest calls). pingInterval 300, pingTimeout 200, CORS any origin.
//
// Usage: node handshake-server.mjs [--port N]   (prints its URL when listening)

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'));
const { Server } = require('socket.io');

const i = process.argv.indexOf('--port');
const port = i >= 0 ? Number(process.argv[i + 1]) : 3000;
let asked = 0;

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: 300,
  pingTimeout: 200,
  cors: { origin: '*' },
  allowRequest: (req, callback) => {
    asked++;
    const q = new URL(req.url, 'http://x').searchParams;
    const deny = q.get('deny'), delay = q.get('delay');
    const decide = () => (deny !== null ? callback(deny || undefined, false) : callback(null, true));
    if (delay !== null) setTimeout(decide, Number(delay));
    else decide();
  },
});

function onConnection(socket) {
  socket.on('handshake', (cb) => cb(socket.handshake));
  socket.on('handshake-text', (cb) => cb({
    text: JSON.stringify(socket.handshake), time: socket.handshake.time, xdomain: socket.handshake.xdomain,
  }));
  socket.on('allow-count', (cb) => cb(asked));
}
io.on('connection', onConnection);
io.of('/other').on('connection', onConnection);

httpServer.listen(port, () => {
  console.log(`http://localhost:${port}/ (Socket.IO at /socket.io/)`);
});
process.on('SIGTERM', () => { io.close(); process.exit(0); });
