// The Node twin of examples/cluster: a Socket.IO server in a Redis cluster, whose events let
// a test drive every cluster operation from an ordinary client.
//
// npm socket.io 4.8 with @socket.io/redis-adapter 8.3 (createAdapter, or
// createShardedAdapter with --sharded) on two npm `redis` 4.7 clients; with --streams,
// createAdapter of @socket.io/redis-streams-adapter 0.3 on one (it duplicates it itself). examples/cluster/
// cluster.c answers the same events the same way, so one test drives any mix of C and Node
// servers. Every event takes one object and an ack; the ack answers what the operation
// returned. The namespace is the client's own ("/" or a dynamic /dyn-<name>).
//
//   whoami                          -> {server, id, nsp}
//   join {rooms}                    the client's own socket joins rooms -> its rooms
//   my-rooms                        -> the client's own rooms, sorted
//   do-broadcast {to, except, volatile, compress, local, event, args, bin}
//                                   nsp.to(..).except(..)[.volatile][.compress(c)][.local]
//                                   .emit(event, ...args[, Buffer(bin)]) -> true
//   do-broadcast-ack {to, except, timeout, event, args}
//                                   -> {error: message or null, responses} (a binary answer
//                                   goes back as binary)
//   do-fetch {to, except}           -> [{id, handshake, rooms, data}] sorted by id
//   do-remote {id, op, event, args, rooms, close}
//                                   fetchSockets(), then emit/join/leave/disconnect on
//                                   the socket with that id -> {found}
//   do-join / do-leave {to, except, rooms}   socketsJoin / socketsLeave -> true
//   do-disconnect {to, except, close}        disconnectSockets(close) -> true
//   do-ss-emit {event, args, bin, ack}
//                                   serverSideEmit(event, ...args[, Buffer(bin)]); with ack
//                                   (the adapter's requestsTimeout) -> {error, responses}
//   get-ss-log                      -> the server-side events received since the last call
//   do-count                        -> serverCount()
//   do-rooms                        -> allRooms() sorted (classic), or {error}
//   do-burst {to, event, count}     count broadcasts of {from: server, seq} -> true
//
// Server-side events: "ss-note" is recorded; "ss-ask" is recorded and answered with
// {server, args}; in both a Buffer argument shows as {bin: [bytes...]}. "ss-echo" is
// answered with its first argument. Each socket's data is
// {server, name: auth.name}.
//
// Usage: node cluster-server.mjs --port N --redis URL [--sharded | --streams] [--stream-count N] [--key K]
//        [--subscription-mode M] [--id NAME] [--requests-timeout MS]
// Prints its URL when listening.

import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'));
const { Server } = require('socket.io');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const streamsAdapter = require('@socket.io/redis-streams-adapter');

function parseArgs(argv) {
  const opts = { port: 3000, redis: 'redis://127.0.0.1:6379', sharded: false, key: 'socket.io',
    subscriptionMode: 'dynamic', id: `node-${process.pid}`, requestsTimeout: 5000 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--port': opts.port = Number(v); i++; break;
      case '--redis': opts.redis = v; i++; break;
      case '--sharded': opts.sharded = true; break;
      case '--streams': opts.streams = true; break;
      case '--stream-count': opts.streamCount = Number(v); i++; break;
      case '--key': opts.key = v; i++; break;
      case '--subscription-mode': opts.subscriptionMode = v; i++; break;
      case '--id': opts.id = v; i++; break;
      case '--requests-timeout': opts.requestsTimeout = Number(v); i++; break;
      default: throw new Error(`unknown option ${argv[i]}`);
    }
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));

function redisClient() {
  const c = createClient({ url: opts.redis });
  let said = false;
  c.on('error', (e) => {
    if (!said) process.stderr.write(`[${opts.id}] redis: ${e.message}\n`);
    said = true;
  });
  c.on('ready', () => { said = false; });
  return c;
}

const pub = redisClient();
const sub = redisClient();
await Promise.all([pub.connect(), sub.connect()]);

const adapter = opts.streams
  ? streamsAdapter.createAdapter(pub, { channelPrefix: opts.key, streamCount: opts.streamCount || 1 })
  : opts.sharded
  ? createShardedAdapter(pub, sub, { channelPrefix: opts.key, subscriptionMode: opts.subscriptionMode })
  : createAdapter(pub, sub, { key: opts.key, requestsTimeout: opts.requestsTimeout });

const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not Found');
});
const io = new Server(httpServer, { adapter, cors: { origin: '*' }, serveClient: false });

/** The selection of nsp that an event's {to, except} names. */
function select(nsp, { to, except } = {}) {
  let op = nsp;
  if (to && to.length) op = op.to(to);
  if (except && except.length) op = op.except(except);
  return op;
}

const sorted = (a) => [...a].sort();
const describe = (s) => ({ id: s.id, handshake: s.handshake, rooms: sorted(s.rooms), data: s.data });
const ssLogs = new WeakMap();

/** A server-side event's arguments as the logs show them: each Buffer as {bin: [bytes]}. */
function describeArgs(v) {
  if (Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return { bin: [...new Uint8Array(v.buffer ? v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) : v)] };
  }
  if (Array.isArray(v)) return v.map(describeArgs);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describeArgs(x)]));
  return v;
}
const wired = new WeakSet();

/** Server-side event handlers, once per namespace (dynamic ones are made on first use). */
function wireNamespace(nsp) {
  if (wired.has(nsp)) return;
  wired.add(nsp);
  ssLogs.set(nsp, []);
  nsp.on('ss-note', (...args) => { ssLogs.get(nsp).push({ event: 'ss-note', args: describeArgs(args) }); });
  nsp.on('ss-ask', (...args) => {
    const cb = args.pop();
    ssLogs.get(nsp).push({ event: 'ss-ask', args: describeArgs(args) });
    cb({ server: opts.id, args: describeArgs(args) });
  });
  nsp.on('ss-echo', (first, ...rest) => { rest.pop()(first); });
}

const handlers = {
  whoami: (s) => ({ server: opts.id, id: s.id, nsp: s.nsp.name }),
  join: (s, { rooms }) => { s.join(rooms); return sorted(s.rooms); },
  'my-rooms': (s) => sorted(s.rooms),
  'do-broadcast': (s, a) => {
    let op = select(s.nsp, a);
    if (a.volatile) op = op.volatile;
    if (a.compress !== undefined) op = op.compress(a.compress);
    if (a.local) op = op.local;
    const args = a.args || [];
    if (a.bin) args.push(Buffer.from(a.bin));
    op.emit(a.event, ...args);
    return true;
  },
  'do-broadcast-ack': (s, a) => new Promise((resolve) => {
    select(s.nsp, a).timeout(a.timeout ?? 1000).emit(a.event, ...(a.args || []), (err, responses) => {
      resolve({ error: err ? err.message : null, responses });
    });
  }),
  'do-fetch': async (s, a) => {
    const sockets = await select(s.nsp, a).fetchSockets();
    return sockets.map(describe).sort((x, y) => (x.id < y.id ? -1 : 1));
  },
  'do-remote': async (s, a) => {
    const target = (await s.nsp.fetchSockets()).find((r) => r.id === a.id);
    if (!target) return { found: false };
    switch (a.op) {
      case 'emit': target.emit(a.event, ...(a.args || [])); break;
      case 'join': target.join(a.rooms); break;
      case 'leave': for (const r of [].concat(a.rooms)) target.leave(r); break;
      case 'disconnect': target.disconnect(!!a.close); break;
      default: throw new Error(`unknown op ${a.op}`);
    }
    return { found: true };
  },
  'do-join': (s, a) => { select(s.nsp, a).socketsJoin(a.rooms); return true; },
  'do-leave': (s, a) => { select(s.nsp, a).socketsLeave(a.rooms); return true; },
  'do-disconnect': (s, a) => { select(s.nsp, a).disconnectSockets(!!a.close); return true; },
  'do-ss-emit': (s, a) => {
    const args = a.args || [];
    if (a.bin) args.push(Buffer.from(a.bin));
    if (!a.ack) { s.nsp.serverSideEmit(a.event, ...args); return true; }
    return new Promise((resolve) => {
      s.nsp.serverSideEmit(a.event, ...args, (err, responses) => {
        resolve({ error: err ? err.message : null, responses });
      });
    });
  },
  'get-ss-log': (s) => { const log = ssLogs.get(s.nsp); ssLogs.set(s.nsp, []); return log; },
  'do-count': (s) => s.nsp.adapter.serverCount(),
  'do-rooms': async (s) => {
    if (typeof s.nsp.adapter.allRooms !== 'function') return { error: 'allRooms is not supported' };
    return sorted(await s.nsp.adapter.allRooms());
  },
  'do-burst': (s, a) => {
    const op = select(s.nsp, a);
    for (let seq = 0; seq < a.count; seq++) op.emit(a.event, { from: opts.id, seq });
    return true;
  },
};

function onConnection(socket) {
  wireNamespace(socket.nsp);
  socket.data = { server: opts.id, name: socket.handshake.auth?.name ?? null };
  for (const [event, run] of Object.entries(handlers)) {
    socket.on(event, async (arg, ack) => {
      if (typeof arg === 'function') { ack = arg; arg = {}; }
      try {
        const out = await run(socket, arg || {});
        if (typeof ack === 'function') ack(out);
      } catch (e) {
        if (typeof ack === 'function') ack({ error: e.message });
      }
    });
  }
}

io.on('connection', onConnection);
io.of(/^\/dyn-[a-z0-9]+$/).on('connection', onConnection);
wireNamespace(io.of('/'));

process.on('SIGTERM', () => {
  io.close();
  Promise.allSettled([pub.disconnect(), sub.disconnect()]).finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});

httpServer.listen(opts.port, '127.0.0.1', () => {
  console.log(`cluster (${opts.id}, ${opts.streams ? 'streams' : opts.sharded ? 'sharded' : 'classic'}) listening on http://127.0.0.1:${opts.port}`);
});
