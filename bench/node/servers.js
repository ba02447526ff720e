// Node reference servers for `make bench` (bench/run-all), one per process:
//
//   node servers.js express   --port N --public DIR   Express 5: GET /api/json + static DIR
//   node servers.js ws        --port N                 npm ws 8: echo every message back
//   node servers.js socketio  --port N                 socket.io 4.8: the echo/bcast handlers
//        [--redis URL [--sharded] [--key K]]          ... in a cluster: @socket.io/redis-adapter
//        [--recovery]                                 ... with connectionStateRecovery: {}
//   express and ws with --tls-cert F --tls-key F: over node:https (wss), as the sio twins
//
// They mirror what the sio side exposes (examples/bench and examples/echo), with each
// package's defaults, so that the ratios compare like with like. Each prints
// "listening on http://127.0.0.1:N" once it accepts connections.
'use strict';
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const path = require('node:path');

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const kind = process.argv[2];
const port = Number(arg('--port', '3000'));
const host = arg('--host', '127.0.0.1');
const publicDir = path.resolve(arg('--public', path.join(__dirname, '..', 'public')));

// https.createServer({ key, cert }) when --tls-cert/--tls-key are given, else http's.
const tlsCert = arg('--tls-cert', null);
const tlsKey = arg('--tls-key', null);
function createServer(handler) {
  if (!tlsCert) return http.createServer(handler);
  return https.createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey) }, handler);
}

function listen(server) {
  const scheme = tlsCert ? 'https' : 'http';
  server.listen(port, host, () => console.log(`listening on ${scheme}://${host}:${port}`));
}

if (kind === 'express') {
  const express = require('express');
  const app = express();
  app.get('/api/json', (req, res) => res.json({ message: 'Hello, World!' }));
  app.use(express.static(publicDir));
  listen(createServer(app));
} else if (kind === 'ws') {
  const { WebSocketServer } = require('ws');
  const server = createServer((req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server, maxPayload: 16 * 1024 * 1024 });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  listen(server);
} else if (kind === 'socketio') {
  const { Server } = require('socket.io');
  const server = http.createServer();
  // --recovery: connection state recovery at its defaults (the sio twin: bench --recovery)
  const io = new Server(server, process.argv.includes('--recovery') ? { connectionStateRecovery: {} } : {});
  io.on('connection', (socket) => {
    socket.on('echo', (m) => socket.emit('echo', m));
    socket.on('bcast', (m) => io.emit('bcast', m));
    socket.on('vbcast', (m) => io.volatile.emit('vbcast', m));
  });
  const redisUrl = arg('--redis', null);
  if (!redisUrl) {
    listen(server);
  } else {
    // As the adapter's README sets it up: a publishing and a subscribing client (npm redis 4).
    const { createClient } = require('redis');
    const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
    const pub = createClient({ url: redisUrl });
    const sub = pub.duplicate();
    const key = arg('--key', 'socket.io');
    Promise.all([pub.connect(), sub.connect()]).then(() => {
      io.adapter(process.argv.includes('--sharded') ? createShardedAdapter(pub, sub, { channelPrefix: key }) : createAdapter(pub, sub, { key }));
      listen(server);
    });
  }
} else {
  console.error('usage: node servers.js express|ws|socketio --port N [--public DIR]');
  process.exit(2);
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
