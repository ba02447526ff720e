// The matrix of cluster operations (issue 13, point 4; issue 16, point 3), shared by the Redis
// cluster test (sio and Node servers on one Redis) and the workers test (sio workers joined by
// the workers' adapter): each operation is driven from a client of the sending server and
// checked on a client of the receiving one, for each direction given.
//
// Negative checks ("not delivered") are ordered, not timed: the sender broadcasts a marker
// to all after the operation, and the receiver must have the marker and not the operation's
// message (each link keeps one sender's order, each server keeps its delivery order).
//
// clusterMatrix({title, skip, ids, start, directions, mode}): `start()` resolves with a cluster
// (lib/cluster.mjs's shape: client(id, opts), closeClients(), stop()), `ids` are its servers'
// ids as their whoami answers them, `mode` says {sharded, streams, msgpack, strayChildren}.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { call, eventually, record } from './cluster.mjs';
import { budget, nextEvent } from './timeouts.mjs';

let seq = 0;
const BYTES = [0, 1, 2, 254, 255, 10, 13];

/** The bytes of a binary value (a Buffer or an ArrayBuffer), or a message saying it is none. */
function bytesOf(v) {
  if (v instanceof ArrayBuffer) return [...new Uint8Array(v)];
  if (ArrayBuffer.isView(v)) return [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)];
  return `not binary: ${JSON.stringify(v)}`;
}
const unique = (what) => `${what}-${++seq}`;

/** Waits for the marker broadcast from `sender` on `receiver`. */
async function marker(sender, receiver) {
  const tag = unique('marker');
  const got = nextEvent(receiver, tag);
  await call(sender, 'do-broadcast', { event: tag, args: [] });
  await got;
}

export function clusterMatrix({ title, skip: modeSkip, ids, start, directions: DIRECTIONS, mode }) {
  describe(title, { skip: modeSkip }, () => {
    let cluster;
    before(async () => { cluster = await start(); });
    after(async () => { if (cluster) await cluster.stop(); });

    for (const dir of DIRECTIONS) {
      const skip = dir.skip || (!ids.includes(dir.from) || !ids.includes(dir.to));
      describe(dir.name, { skip }, () => {
        let A; // a client of the sending server (the one the operations are called on)
        let B; // a client of the receiving server
        before(async () => {
          cluster.closeClients();
          A = await cluster.client(dir.from, { name: 'A', query: { who: 'A' } });
          B = await cluster.client(dir.to, { name: 'B', query: { who: 'B' } });
        });

        test('broadcast to all reaches the other server\'s clients with every argument', async () => {
          const got = nextEvent(B, 'all');
          const self = nextEvent(A, 'all');
          await call(A, 'do-broadcast', { event: 'all', args: [1, 'two', { three: [3, null, true] }] });
          assert.deepEqual(await got, [1, 'two', { three: [3, null, true] }]);
          assert.deepEqual(await self, [1, 'two', { three: [3, null, true] }]);
        });

        test('broadcast to a room reaches its members only; except leaves a room out', async () => {
          const room = unique('room');
          const other = await cluster.client(dir.to, { name: 'B2' });
          await call(B, 'join', { rooms: [room, `${room}-x`] });
          await call(other, 'join', { rooms: [room] });
          const outside = await cluster.client(dir.to, { name: 'B3' });
          const outsideLog = record(outside, 'in-room');
          const bLog = record(B, 'in-room-except');
          const got = nextEvent(B, 'in-room');
          const got2 = nextEvent(other, 'in-room');
          await call(A, 'do-broadcast', { to: [room], event: 'in-room', args: ['r'] });
          assert.deepEqual(await got, ['r']);
          assert.deepEqual(await got2, ['r']);
          const ex = nextEvent(other, 'in-room-except');
          await call(A, 'do-broadcast', { to: [room], except: [`${room}-x`], event: 'in-room-except', args: ['e'] });
          assert.deepEqual(await ex, ['e']);
          await marker(A, B);
          await marker(A, outside);
          assert.equal(outsideLog.items.length, 0, 'a socket outside the room got the broadcast');
          assert.equal(bLog.items.length, 0, 'a socket in the except room got the broadcast');
          other.disconnect();
          outside.disconnect();
        });

        test('broadcast to two rooms reaches a member of both once', async () => {
          const room = unique('two');
          await call(B, 'join', { rooms: [`${room}-a`, `${room}-b`] });
          const log = record(B, 'twice');
          await call(A, 'do-broadcast', { to: [`${room}-a`, `${room}-b`], event: 'twice', args: [] });
          await marker(A, B);
          assert.equal(log.items.length, 1);
        });

        test('volatile and compress flags: delivered to a connected client', async () => {
          const v = nextEvent(B, 'volatile');
          await call(A, 'do-broadcast', { volatile: true, event: 'volatile', args: ['v'] });
          assert.deepEqual(await v, ['v']);
          for (const compress of [false, true]) {
            const c = nextEvent(B, 'compress');
            await call(A, 'do-broadcast', { compress, event: 'compress', args: [compress] });
            assert.deepEqual(await c, [compress]);
          }
        });

        test('local broadcast stays on its server', async () => {
          const log = record(B, 'local');
          const self = nextEvent(A, 'local');
          await call(A, 'do-broadcast', { local: true, event: 'local', args: ['l'] });
          assert.deepEqual(await self, ['l']);
          await marker(A, B);
          assert.equal(log.items.length, 0, 'a local broadcast was forwarded');
        });

        test('binary arguments arrive as bytes', async () => {
          const bytes = [0, 1, 2, 254, 255, 10, 13];
          const got = nextEvent(B, 'bin');
          await call(A, 'do-broadcast', { event: 'bin', args: ['before', { k: 'v' }], bin: bytes });
          const [s, o, buf] = await got;
          assert.equal(s, 'before');
          assert.deepEqual(o, { k: 'v' });
          assert.ok(buf instanceof ArrayBuffer || ArrayBuffer.isView(buf), `not binary: ${typeof buf}`);
          assert.deepEqual([...new Uint8Array(buf.buffer ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf)], bytes);
        });

        test('broadcast with acks collects every client\'s answer across servers', async () => {
          const room = unique('acks');
          const B2 = await cluster.client(dir.to, { name: 'B2' });
          for (const s of [A, B, B2]) {
            await call(s, 'join', { rooms: [room] });
            s.once('ask', (x, cb) => cb({ name: s.name, x }));
          }
          const out = await call(A, 'do-broadcast-ack', { to: [room], event: 'ask', args: [7], timeout: budget(3000) });
          assert.equal(out.error, null);
          const names = out.responses.map((r) => r.name).sort();
          assert.deepEqual(names, ['A', 'B', 'B2']);
          for (const r of out.responses) assert.equal(r.x, 7);
          B2.disconnect();
        });

        test('broadcast with acks times out with the answers that came', async () => {
          const room = unique('slow');
          const B2 = await cluster.client(dir.to, { name: 'B2' });
          await call(B, 'join', { rooms: [room] });
          await call(B2, 'join', { rooms: [room] });
          B.once('ask-slow', (cb) => cb('fast'));
          B2.once('ask-slow', () => { /* never answers */ });
          const out = await call(A, 'do-broadcast-ack', { to: [room], event: 'ask-slow', timeout: 500 });
          assert.match(String(out.error), /time/i);
          assert.deepEqual(out.responses, ['fast']);
          B2.disconnect();
        });

        test('broadcast with acks: binary answers arrive as bytes', async () => {
          // Node's BROADCAST_ACK carries the client's first ack argument as msgpack, a Buffer
          // as bin: top level or inside an object, both must come back binary
          const room = unique('binacks');
          const B2 = await cluster.client(dir.to, { name: 'B2' });
          await call(B, 'join', { rooms: [room] });
          await call(B2, 'join', { rooms: [room] });
          B.once('ask-bin', (cb) => cb(Buffer.from(BYTES)));
          B2.once('ask-bin', (cb) => cb({ who: 'B2', b: Buffer.from(BYTES.slice(2)) }));
          const out = await call(A, 'do-broadcast-ack', { to: [room], event: 'ask-bin', timeout: budget(3000) });
          assert.equal(out.error, null);
          assert.equal(out.responses.length, 2, JSON.stringify(out));
          const top = out.responses.find((r) => !(r && r.who));
          const nested = out.responses.find((r) => r && r.who === 'B2');
          assert.deepEqual(bytesOf(top), BYTES);
          assert.ok(nested, `no answer of B2: ${JSON.stringify(out.responses)}`);
          assert.deepEqual(bytesOf(nested.b), BYTES.slice(2));
          B2.disconnect();
        });

        test('fetchSockets describes the other server\'s sockets: id, handshake, rooms, data', async () => {
          const room = unique('fetch');
          await call(B, 'join', { rooms: [room] });
          const list = await call(A, 'do-fetch', { to: [room] });
          assert.equal(list.length, 1);
          const [s] = list;
          assert.equal(s.id, B.id);
          assert.ok(s.rooms.includes(B.id) && s.rooms.includes(room), `rooms: ${s.rooms}`);
          // socket.data as the server set it (sio: sio_socket_set_data_json)
          assert.deepEqual(s.data, { server: dir.to, name: 'B' });
          assert.deepEqual(s.handshake.auth, { name: 'B' });
          assert.equal(s.handshake.query.who, 'B');
          assert.equal(typeof s.handshake.address, 'string');
          const all = await call(A, 'do-fetch', {});
          const mine = all.map((x) => x.id);
          assert.ok(mine.includes(A.id) && mine.includes(B.id), `fetch of all: ${mine}`);
        });

        test('a remote socket: emit, join, leave, disconnect', async () => {
          const room = unique('remote');
          const got = nextEvent(B, 'to-you');
          assert.deepEqual(await call(A, 'do-remote', { id: B.id, op: 'emit', event: 'to-you', args: [1, 'x'] }), { found: true });
          assert.deepEqual(await got, [1, 'x']);
          await call(A, 'do-remote', { id: B.id, op: 'join', rooms: [room, `${room}-2`] });
          await eventually(async () => (await call(B, 'my-rooms')).includes(`${room}-2`), budget(3000), 'remote join');
          await call(A, 'do-remote', { id: B.id, op: 'leave', rooms: room });
          await eventually(async () => !(await call(B, 'my-rooms')).includes(room), budget(3000), 'remote leave');
          const C = await cluster.client(dir.to, { name: 'C' });
          const gone = nextEvent(C, 'disconnect');
          await call(A, 'do-remote', { id: C.id, op: 'disconnect' });
          assert.equal((await gone)[0], 'io server disconnect');
        });

        test('socketsJoin and socketsLeave reach the other server\'s sockets', async () => {
          const room = unique('sj');
          await call(B, 'join', { rooms: [`${room}-sel`] });
          await call(A, 'do-join', { to: [`${room}-sel`], rooms: [`${room}-new`] });
          await eventually(async () => (await call(B, 'my-rooms')).includes(`${room}-new`), budget(3000), 'socketsJoin');
          await call(A, 'do-leave', { to: [`${room}-sel`], rooms: [`${room}-new`] });
          await eventually(async () => !(await call(B, 'my-rooms')).includes(`${room}-new`), budget(3000), 'socketsLeave');
        });

        test('disconnectSockets(close) on a room of the other server', async () => {
          // A companion socket on the victim's connection tells close from not: it stays
          // connected unless the whole connection is closed.
          const room = unique('dc');
          for (const close of [false, true]) {
            const victim = await cluster.client(dir.to, { name: 'V' });
            const companion = victim.io.socket(`/dyn-${seq++}keep`);
            await nextEvent(companion, 'connect');
            await call(victim, 'join', { rooms: [room] });
            const gone = nextEvent(victim, 'disconnect');
            const companionLog = record(companion, 'disconnect');
            await call(A, 'do-disconnect', { to: [room], close });
            assert.equal((await gone)[0], 'io server disconnect');
            if (close) {
              // Node tells every socket of the connection "io server disconnect", then closes it
              await eventually(() => companionLog.items.length === 1 && victim.io.engine.readyState === 'closed',
                budget(2000), 'the connection to close');
            } else {
              await marker(A, B);
              assert.ok(companion.connected, 'disconnectSockets(false) closed the connection');
              companion.disconnect();
            }
          }
          assert.ok(B.connected, 'a socket outside the room was disconnected');
        });

        test('serverSideEmit without and with acks', async () => {
          await call(B, 'get-ss-log');
          await call(A, 'do-ss-emit', { event: 'ss-note', args: ['hello', { n: 1 }] });
          await eventually(async () => {
            const log = await call(B, 'get-ss-log');
            if (!log.length) return 'empty';
            assert.deepEqual(log, [{ event: 'ss-note', args: ['hello', { n: 1 }] }]);
            return true;
          }, budget(3000), 'the server-side event');
          const out = await call(A, 'do-ss-emit', { event: 'ss-ask', args: ['q'], ack: true });
          assert.equal(out.error, null);
          const servers = out.responses.map((r) => r.server).sort();
          assert.deepEqual(servers, ids.filter((id) => id !== dir.from).sort());
          for (const r of out.responses) assert.deepEqual(r.args, ['q']);
        });

        test('serverSideEmit with binary arguments, without and with acks', async () => {
          // Node's classic adapter sends serverSideEmit as JSON (a Buffer as Buffer#toJSON
          // writes it), the sharded one as msgpack (a Buffer as bin: a Buffer again)
          const bin = mode.msgpack ? { bin: BYTES } : { type: 'Buffer', data: BYTES };
          await call(B, 'get-ss-log');
          await call(A, 'do-ss-emit', { event: 'ss-note', args: ['b', { n: 2 }], bin: BYTES });
          await eventually(async () => {
            const log = await call(B, 'get-ss-log');
            if (!log.length) return 'empty';
            assert.deepEqual(log, [{ event: 'ss-note', args: ['b', { n: 2 }, bin] }]);
            return true;
          }, budget(3000), 'the binary server-side event');
          const out = await call(A, 'do-ss-emit', { event: 'ss-ask', args: ['q'], bin: BYTES, ack: true });
          assert.equal(out.error, null);
          const servers = out.responses.map((r) => r.server).sort();
          assert.deepEqual(servers, ids.filter((id) => id !== dir.from).sort());
          for (const r of out.responses) assert.deepEqual(r.args, ['q', bin]);
        });

        test('serverSideEmit with acks: a binary answer arrives as its bytes', async () => {
          // Node's sharded adapter answers a Buffer as msgpack bin, its classic one as JSON
          // (Buffer#toJSON); sio answers JSON text, so a binary answer reaches a sio
          // server's callback as Buffer#toJSON's JSON, and a sio server answers in that form
          const out = await call(A, 'do-ss-emit', { event: 'ss-echo', args: [], bin: BYTES, ack: true });
          assert.equal(out.error, null);
          assert.equal(out.responses.length, ids.length - 1, JSON.stringify(out));
          for (const r of out.responses) {
            const bytes = r && r.type === 'Buffer' ? r.data : bytesOf(r);
            assert.deepEqual(bytes, BYTES, JSON.stringify(r));
          }
        });

        test('serverCount counts every server', async () => {
          assert.equal(await call(A, 'do-count'), ids.length);
        });

        test('allRooms includes the other server\'s rooms', { skip: (mode.sharded || mode.streams) && 'the ClusterAdapter has no allRooms' }, async () => {
          const room = unique('allrooms');
          await call(B, 'join', { rooms: [room] });
          const rooms = await call(A, 'do-rooms');
          assert.ok(rooms.includes(room) && rooms.includes(B.id), `allRooms: ${rooms}`);
        });

        test('dynamic namespaces: each its own channels', async () => {
          const nsp = `/dyn-${seq++}x`;
          const dA = await cluster.client(dir.from, { nsp, name: 'dA' });
          const dB = await cluster.client(dir.to, { nsp, name: 'dB' });
          // a server makes (and subscribes) a child namespace on its first connection
          // (mode.strayChildren: clients that landed elsewhere first made the child there too)
          await eventually(async () => {
            const n = await call(dA, 'do-count');
            return mode.strayChildren ? n >= 2 : n === 2;
          }, budget(3000), 'both servers in the child');
          const rootLog = record(B, 'dyn');
          const got = nextEvent(dB, 'dyn');
          await call(dA, 'do-broadcast', { event: 'dyn', args: [nsp] });
          assert.deepEqual(await got, [nsp]);
          await marker(A, B);
          assert.equal(rootLog.items.length, 0, 'a broadcast in a child reached "/"');
          const list = await call(dA, 'do-fetch', {});
          assert.deepEqual(list.map((s) => s.id).sort(), [dA.id, dB.id].sort());
          await call(dB, 'get-ss-log');
          const out = await call(dA, 'do-ss-emit', { event: 'ss-ask', args: [nsp], ack: true });
          assert.ok(out.responses.some((r) => r.server === dir.to), JSON.stringify(out));
        });
      });
    }
  });
}

