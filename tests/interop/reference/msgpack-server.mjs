// The Node twin of examples/msgpack: socket.io 4.8 with `parser: require("socket.io-msgpack-parser")`
// and connection state recovery, the same namespaces, events, acks and middleware, so that
// tests/interop/io-msgpack.test.mjs shows it checks Node's behaviour (it runs against both).
//
// Usage: node msgpack-server.mjs [--port N] [--json] [--ping-interval MS] [--ping-timeout MS]

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TYPES } from './msgpack-types.mjs';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'));
const { Server } = require('socket.io');

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? Number(argv[i + 1]) : dflt;
};
const port = opt('--port', 3000);
const json = argv.includes('--json');


const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: opt('--ping-interval', 25000),
  pingTimeout: opt('--ping-timeout', 20000),
  connectionStateRecovery: {},
  ...(json ? {} : { parser: require('socket.io-msgpack-parser') }),
});

io.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.deny === true) {
    const err = new Error('denied');
    err.data = { reason: 'asked', code: 7 };
    next(err);
  } else {
    next();
  }
});

function onConnection(socket) {
  const nsp = socket.nsp;
  socket.on('whoami', (ack) => ack({
    id: socket.id, recovered: socket.recovered, nsp: nsp.name, auth: socket.handshake.auth,
  }));
  socket.on('echo', (...a) => a.pop()(...a));
  socket.on('emit-back', (...a) => { const ack = a.pop(); socket.emit('back', ...a); ack(); });
  socket.on('types', (ack) => ack(JSON.parse(TYPES), Buffer.from([0, 1, 2, 255])));
  socket.on('join', (room, ack) => { socket.join(room); ack(); });
  socket.on('to-room', (room, ...a) => { const ack = a.pop(); nsp.to(room).emit('room', ...a); ack(); });
  socket.on('bcast', (v, ack) => { nsp.emit('news', v); ack(); });
  socket.on('volatile', (v, ack) => { nsp.volatile.emit('vol', v); ack(); });
  socket.on('ask', (...a) => {
    const ack = a.pop();
    socket.timeout(2000).emit('ask', ...a, (err, ...answer) => (err ? ack('timeout') : ack(...answer)));
  });
}
io.on('connection', onConnection);
io.of('/ns').on('connection', onConnection);

httpServer.listen(port, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${port}/ (Node msgpack twin, ${json ? 'default' : 'msgpack'} parser)`);
});
process.on('SIGTERM', () => { io.close(); httpServer.close(); process.exit(0); });
