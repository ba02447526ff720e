// Node reference servers for `make bench` (bench/run-all), one per process:
//
//   node servers.js express   --port N --public DIR   Express 5: GET /api/json + static DIR
//   node servers.js ws        --port N                 npm ws 8: echo every message back
//   node servers.js socketio  --port N                 socket.io 4.8: the echo/bcast handlers
//        [--redis URL [--sharded] [--key K]]          ... in a cluster: @socket.io/redis-adapter
//        [--recovery]                                 ... with connectionStateRecovery: {}
//   node servers.js publish   --port N --token T       socket.io 4.8 + Express 5 POST /api/emit
//                                                       and /api/batch (sio-server's publish API)
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
    socket.on('ack', (m, cb) => { if (typeof cb === 'function') cb(m); });
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
} else if (kind === 'publish') {
  // The twin of sio-server's publish API (server/api.c, docs/server.md) as one would write it
  // with Express: a bearer-token check on /api, express.json() bodies, and per emit
  // io.of(nsp).to(rooms).except(except).emit(event, ...args). POST /api/emit takes one emit or
  // an array of them, POST /api/batch an array or {emits: [...]}; a batch is checked whole
  // before anything is emitted, as sio-server does. Answers {ok, emitted, failed}.
  const express = require('express');
  const { Server } = require('socket.io');
  const tokens = [];
  process.argv.forEach((a, i) => { if (a === '--token' && i + 1 < process.argv.length) tokens.push(process.argv[i + 1]); });
  const app = express();
  const server = http.createServer(app);
  const io = new Server(server);
  const fail = (res, status, error, reason) => res.status(status).json({ error, reason });
  app.use('/api', (req, res, next) => {
    const h = req.get('authorization') || '';
    if (!h.startsWith('Bearer ') || !tokens.includes(h.slice(7))) {
      res.set('WWW-Authenticate', 'Bearer');
      return fail(res, 401, 'unauthorized', 'missing or unknown Bearer token');
    }
    next();
  });
  app.use('/api', express.json({ limit: '1mb' }));
  const names = (v) => v === undefined || typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
  const reserved = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
  function check(e) {
    if (!e || typeof e !== 'object' || Array.isArray(e)) return 'each emit must be a JSON object';
    if (!names(e.rooms)) return '"rooms" must be a string or strings';
    if (!names(e.except)) return '"except" must be a string or strings';
    if (typeof e.event !== 'string' || !e.event) return '"event" must be a non-empty string';
    if (reserved.has(e.event)) return '"event" is a reserved name';
    if (e.args !== undefined && !Array.isArray(e.args)) return '"args" must be an array';
    const nsp = e.nsp === undefined ? '/' : e.nsp;
    if (typeof nsp !== 'string' || nsp[0] !== '/') return '"nsp" must be a string starting with /';
    if (!io._nsps.has(nsp)) return 'unknown namespace';
    return null;
  }
  function emitAll(res, list) {
    if (!list.length) return fail(res, 400, 'empty_batch', 'the batch holds no emit');
    for (let i = 0; i < list.length; i++) {
      const why = check(list[i]);
      if (why) return fail(res, 400, 'invalid_emit', list.length > 1 ? `emit ${i}: ${why}` : why);
    }
    for (const e of list) {
      let op = io.of(e.nsp === undefined ? '/' : e.nsp);
      if (e.rooms !== undefined) op = op.to(e.rooms);
      if (e.except !== undefined) op = op.except(e.except);
      if (e.args !== undefined) op.emit(e.event, ...e.args);
      else if (e.data !== undefined) op.emit(e.event, e.data);
      else op.emit(e.event);
    }
    res.json({ ok: true, emitted: list.length, failed: 0 });
  }
  app.post('/api/emit', (req, res) => emitAll(res, Array.isArray(req.body) ? req.body : [req.body]));
  app.post('/api/batch', (req, res) => {
    const list = Array.isArray(req.body) ? req.body : req.body && req.body.emits;
    if (!Array.isArray(list)) return fail(res, 400, 'invalid_batch', 'send an array of emits or {"emits": [...]}');
    emitAll(res, list);
  });
  listen(server);
} else {
  console.error('usage: node servers.js express|ws|socketio|publish --port N [--public DIR]');
  process.exit(2);
}

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
