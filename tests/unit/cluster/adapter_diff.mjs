// Differential test of src/cluster's message codecs against Node's own adapters (run by
// tests/unit/cluster/test_adapter_diff.c, which answers on stdin what this asks on stdout).
// The real @socket.io/redis-adapter 8.3 (classic and sharded) and @socket.io/redis-emitter 5.1
// publish through fake Redis clients; each captured message goes to the C side ("<kind> <hex>",
// kind B broadcast, E an emitter's broadcast, Q request, R response, C ClusterAdapter message),
// which decodes it and encodes it again from the decoded fields: the bytes must be Node's, byte
// for byte (an emitter's broadcast options in its own member order, {rooms, flags, except}).
// Exit 0: all agree, 77: the npm packages are missing.
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(`${process.env.SIO_SOURCE_DIR || process.cwd()}/package.json`);
let RedisAdapter, createShardedAdapter, Emitter, np;
try {
  ({ RedisAdapter, createShardedAdapter } = require('@socket.io/redis-adapter'));
  ({ Emitter } = require('@socket.io/redis-emitter'));
  np = require('notepack.io');
} catch {
  process.exit(77);
}
const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
lines.on('line', (l) => waiting.shift()(l));
const ask = (kind, hex) =>
  new Promise((resolve) => { waiting.push(resolve); process.stdout.write(kind + ' ' + hex + '\n'); });

const captured = [];
const hex = (m) => Buffer.isBuffer(m) ? m.toString('hex') : Buffer.from(m).toString('hex');
function fakeNsp(name) {
  return { name, server: { opts: {}, encoder: { encode: () => [] } }, sockets: new Map(), _ids: 0,
    _onServerSideEmit(args) { const cb = args[args.length - 1]; if (typeof cb === 'function') cb('pong'); } };
}
// ioredis-like clients for the classic adapter
const pub = { on() {}, off() {}, publish(ch, m) { captured.push([ch, m]); },
  send_command(cmd, args, cb) { cb(null, [args[1], 3]); } };
const sub = { on() {}, off() {}, psubscribe() {}, subscribe() {} };
  const a = new RedisAdapter(fakeNsp('/chat'), pub, sub, {});
  a.uid = 'Ab3dE6';
  a.broadcast({ type: 2, data: ['hello', 'world'] }, { rooms: new Set(['room1']), except: new Set(), flags: {} });
  a.broadcast({ type: 2, data: ['file', Buffer.from([1, 2, 3]), { x: [Buffer.from('ab')] }] }, { rooms: new Set(), except: new Set(['e']), flags: { volatile: true } });
  a.broadcastWithAck({ type: 2, data: ['ask', 1] }, { rooms: new Set(['r']), except: new Set(), flags: { timeout: 1000 } }, () => {}, () => {});
  a.allRooms().catch(() => {});
  a.fetchSockets({ rooms: new Set(['r1']), except: new Set(['s1']), flags: {} }).catch(() => {});
  a.addSockets({ rooms: new Set(['r1']), except: new Set(), flags: {} }, ['a', 'b']);
  a.delSockets({ rooms: new Set(), except: new Set(['x']), flags: {} }, ['a']);
  a.disconnectSockets({ rooms: new Set(['r1']), except: new Set(), flags: {} }, true);
  a.serverSideEmit(['hello', { a: 1 }]);
  a.serverSideEmit(['hello', () => {}]);
  await new Promise(r => setTimeout(r, 20));
  // requests from another node, for the responses this one publishes
  const other = (o) => a.onrequest('socket.io-request#/chat#', Buffer.from(JSON.stringify(o)));
  await other({ uid: 'Zz9', requestId: 'q1', type: 1 });
  await other({ uid: 'Zz9', requestId: 'q2', type: 5, opts: { rooms: [], except: [] } });
  await other({ uid: 'Zz9', requestId: 'q3', type: 6, data: ['ping'] });
  await other({ requestId: 'q4', rooms: [], type: 0 });
  a.onrequest('socket.io-request#/chat#', np.encode({ uid: 'Zz9', requestId: 'q5', type: 7, packet: { type: 2, data: ['x'], nsp: '/chat' }, opts: { rooms: [], except: [], flags: { timeout: 5 } } }));
  await new Promise(r => setTimeout(r, 20));
  const classic = captured.splice(0);
  // the sharded adapter, with redis@4-like clients
  const spub = { sSubscribe() {}, sPublish(ch, m) { captured.push([ch, m]); return Promise.resolve(); }, sendCommand() { return Promise.resolve(['x', 3]); } };
  const ssub = { sSubscribe() {}, sUnsubscribe() {} };
  const s = createShardedAdapter(spub, ssub, {})(fakeNsp('/chat'));
  s.uid = 'a1b2c3d4e5f60718';
  await s.broadcast({ type: 2, data: ['hello', 1] }, { rooms: new Set(['room1']), except: new Set(['x']), flags: {} });
  await s.broadcast({ type: 2, data: ['bin', Buffer.from([9, 8])] }, { rooms: new Set(), except: new Set(), flags: {} });
  s.broadcastWithAck({ type: 2, data: ['ask'] }, { rooms: new Set(), except: new Set(), flags: { timeout: 100 } }, () => {}, () => {});
  await s.addSockets({ rooms: new Set(['r1']), except: new Set(), flags: {} }, ['r2']);
  await s.delSockets({ rooms: new Set(['r1']), except: new Set(), flags: {} }, ['r2']);
  await s.disconnectSockets({ rooms: new Set(), except: new Set(), flags: {} }, false);
  s.fetchSockets({ rooms: new Set(['r1']), except: new Set(), flags: {} }).catch(() => {});
  await s.serverSideEmit(['hello', 'world']);
  s.serverSideEmit(['hello', () => {}]);
  await new Promise(r => setTimeout(r, 20));
  const msg = (o) => s.onRawMessage(Buffer.from(JSON.stringify(o)), Buffer.from('socket.io#/chat#'));
  msg({ type: 7, data: { opts: { rooms: [], except: [] }, requestId: 'f1' }, uid: 'other', nsp: '/chat' });
  msg({ type: 9, data: { requestId: 'f2', packet: ['ping'] }, uid: 'other', nsp: '/chat' });
  msg({ type: 3, data: { packet: { type: 2, data: ['x'] }, requestId: 'f3', opts: { rooms: [], except: [], flags: { timeout: 5 } } }, uid: 'other', nsp: '/chat' });
  await new Promise(r => setTimeout(r, 20));
  const sharded = captured.splice(0);
  // the emitter
  const e = new Emitter({ publish(ch, m) { captured.push([ch, m]); } });
  e.to('room1').emit('ev', 1, { a: true });
  e.emit('bin', Buffer.from([7]));
  e.of('/chat').except('x').volatile.emit('v');
  e.in('r').socketsJoin('s');
  e.socketsLeave(['a', 'b']);
  e.disconnectSockets(true);
  e.serverSideEmit('hello', 'world');
  const emitted = captured.splice(0);
let same = 0, differ = 0, decoded = 0, failed = 0;
const check = async (kind, ch, m, exact) => {
  const h = hex(m);
  const got = await ask(kind, h);
  const shown = Buffer.isBuffer(m) ? h : m;
  if (got.startsWith('ERR')) { failed++; console.error('refused', kind, ch, shown, got); return; }
  if (!exact) { decoded++; return; }
  if (got === h) same++;
  else { differ++; console.error('differs', kind, ch, '\n node', h, '\n sio ', got); }
};
const kindOf = (ch) => (ch.includes('-request#') ? 'Q' : ch.includes('-response#') ? 'R' : 'B');
for (const [ch, m] of classic) await check(kindOf(ch), ch, m, true);
for (const [ch, m] of sharded) await check('C', ch, m, true);
for (const [ch, m] of emitted) await check(kindOf(ch) === 'B' ? 'E' : 'Q', ch, m, true);
console.error(`adapter diff: classic ${classic.length}, sharded ${sharded.length}, emitter ` +
  `${emitted.length}: ${same} re-encoded byte for byte, ${differ} differ, ${decoded} emitter ` +
  `messages only decoded, ${failed} refused`);
process.stdin.destroy();
process.exit(differ || failed || same !== classic.length + sharded.length + emitted.length ? 1 : 0);
