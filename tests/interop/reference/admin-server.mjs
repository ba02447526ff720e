// The Node twin of examples/admin: socket.io 4.8 instrumented by @socket.io/admin-ui 0.5.1's
// instrument(), with the same options and the same application on "/" and "/chat":
// "join" (room) -> ack(rooms count), "leave" (room) -> ack(), "set-data" (object) ->
// socket.data = object, ack(), "chat" (...args) broadcast to the namespace, "echo" -> ack(...args).
// The admin UI's files are served at /ui/ as the C example does (GET only, no ranges).
//
// Usage: node admin-server.mjs [--port N] [--user NAME --hash BCRYPT | --no-auth] [--readonly]
//        [--production] [--server-id ID] [--ui DIR] [--cors ORIGIN]   (prints its URL)

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const require = createRequire(path.join(root, 'package.json'));
const { Server } = require('socket.io');
const { instrument } = require('@socket.io/admin-ui');

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const opt = (name, def) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : def; };
const port = Number(opt('--port', 3000));
const ui = opt('--ui', path.join(root, 'node_modules/@socket.io/admin-ui/ui/dist'));
const TYPES = { '.html': 'text/html', '.js': 'application/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (!url.pathname.startsWith('/ui/')) { res.writeHead(404).end(); return; }
  let file = path.normalize(url.pathname.slice(4) || 'index.html');
  if (file.startsWith('..')) { res.writeHead(403).end(); return; }
  if (file === '.' || file.endsWith('/')) file = path.join(file, 'index.html');
  try {
    const body = await readFile(path.join(ui, file));
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' }).end(body);
  } catch { res.writeHead(404).end(); }
});
const io = new Server(httpServer, { cors: { origin: opt('--cors', 'https://admin.socket.io'), credentials: true } });

instrument(io, {
  auth: flag('--no-auth') ? false : {
    type: 'basic',
    username: opt('--user', 'admin'),
    password: opt('--hash', '$2a$10$j5hgJZFF2S3Pi886qk3lRulRnnd4V349Cl9M9t6nrV/N.9GpeC9aK'),
  },
  readonly: flag('--readonly'),
  mode: flag('--production') ? 'production' : 'development',
  serverId: opt('--server-id', undefined),
});

function onConnection(socket) {
  socket.on('join', (room, cb) => { if (typeof room === 'string') socket.join(room); if (typeof cb === 'function') cb(socket.rooms.size); });
  socket.on('leave', (room, cb) => { if (typeof room === 'string') socket.leave(room); if (typeof cb === 'function') cb(); });
  socket.on('set-data', (obj, cb) => {
    // each key through the package's proxy (socket.data = obj would bypass it)
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) Object.assign(socket.data, obj);
    if (typeof cb === 'function') cb();
  });
  socket.on('chat', (...args) => socket.nsp.emit('chat', ...args));
  socket.on('echo', (...args) => { const cb = args.pop(); if (typeof cb === 'function') cb(...args); });
}
io.on('connection', onConnection);
io.of('/chat').on('connection', onConnection);

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${port}/ui/ (the admin UI; Socket.IO at /socket.io/)`);
});
process.on('SIGTERM', () => { io.close(); process.exit(0); });
