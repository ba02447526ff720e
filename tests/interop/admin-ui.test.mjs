// The admin UI's server side (issue 14, point 6): socket.io-client 4.8 connects to the "/admin"
// namespace of $SIO_BIN_DIR/admin (examples/admin, sio_admin_ui) and of its Node twin
// (reference/admin-server.mjs: socket.io 4.8 with @socket.io/admin-ui 0.5.1's instrument()),
// as the UI does, and checks on both: basic auth refused (wrong user, wrong password, none,
// unknown session id) and accepted (the "session" event, then a reconnection with that
// sessionId), "config" and "all_sockets", "server_stats" every 2 s with its fields, the counts
// of aggregatedEvents and the namespaces, the socket events of another namespace
// (socket_connected, room_joined, event_received, event_sent, socket_updated for data and for
// an upgrade, room_left, socket_disconnected) and the UI's operations (emit to a socket and to
// a namespace, join, leave, _disconnect with and without close); readonly mode (no
// operation), production mode (server_stats only). The same scenario runs on both servers and
// the transcripts of admin events (values replaced by their types) must be equal.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { io } from 'socket.io-client';
import { BIN_DIR, INTEROP_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, sleep, withTimeout, nextEvent } from './lib/timeouts.mjs';

const BIN = path.join(BIN_DIR, 'admin');
const REF = path.join(INTEROP_DIR, 'reference', 'admin-server.mjs');
const PASSWORD = 'changeit'; // the demo hash of both servers
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const TARGETS = [
  { name: 'sio (examples/admin)', c: true, command: BIN, pre: [],
    skip: existsSync(BIN) ? false : `${BIN} is not built yet` },
  { name: 'Node (@socket.io/admin-ui instrument)', c: false, command: process.execPath, pre: [REF],
    skip: false },
];

async function start(target, extra = []) {
  const port = await freePort();
  return startServer({ command: target.command, args: [...target.pre, '--port', String(port), ...extra], port });
}

const sockets = [];
function client(url, nsp, opts = {}) {
  const s = io(url + nsp, { forceNew: true, reconnection: false, transports: ['websocket'], ...opts });
  sockets.push(s);
  return s;
}

/** An admin connection whose events are all logged in s.log as [event, args]. */
async function admin(url, auth = { username: 'admin', password: PASSWORD }, opts = {}) {
  const s = client(url, '/admin', { auth, ...opts });
  s.log = [];
  s.onAny((ev, ...args) => s.log.push([ev, args]));
  const [r] = await withTimeout(Promise.race([
    nextEvent(s, 'connect').then(() => ['ok']),
    nextEvent(s, 'connect_error').then(([e]) => [e]),
  ]), budget(5000), 'the admin connection');
  return { s, error: r === 'ok' ? null : r };
}

/** Waits until the log holds an entry matching pred; returns it. */
async function until(s, pred, what, ms = budget(5000)) {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = s.log.find(([ev, args]) => pred(ev, args));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error(`no admin event ${what}; got ${JSON.stringify(s.log.map((e) => e[0]))}`);
    await sleep(10);
  }
}

function ack(s, ...args) {
  return withTimeout(new Promise((resolve) => s.emit(...args, (...r) => resolve(r))), budget(5000), `ack of ${args[0]}`);
}

/** The value's shape: types in place of values (maps of headers and query as "map"). */
function shape(v, key) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.map((x) => shape(x));
  if (typeof v === 'object') {
    if (key === 'headers' || key === 'query') return 'map';
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k], k)]));
  }
  if (typeof v === 'string' && ISO.test(v)) return 'date';
  return typeof v;
}

const transcripts = {};

for (const target of TARGETS) {
  describe(`admin UI: ${target.name}`, { skip: target.skip }, () => {
    let server;
    before(async () => { server = await start(target); });
    after(async () => {
      for (const s of sockets.splice(0)) s.disconnect();
      await stopAndCheck(server);
    });

    test('auth refused: wrong password, wrong user, none, unknown session', async () => {
      for (const auth of [{ username: 'admin', password: 'nope' }, { username: 'root', password: PASSWORD },
        {}, { sessionId: '0123456789abcdef' }]) {
        const { error } = await admin(server.url, auth);
        assert.ok(error, `refused: ${JSON.stringify(auth)}`);
        assert.equal(error.message, 'invalid credentials');
      }
    });

    test('auth accepted: session, then the session id alone', async () => {
      const { s, error } = await admin(server.url);
      assert.equal(error, null);
      const [, [sid]] = await until(s, (ev) => ev === 'session', 'session');
      assert.match(sid, /^[0-9a-f]{16}$/);
      s.disconnect();
      const again = await admin(server.url, { sessionId: sid });
      assert.equal(again.error, null);
      assert.ok(!again.s.log.some(([ev]) => ev === 'session'), 'no new session for a session id');
    });

    test('config and all_sockets', async () => {
      const { s } = await admin(server.url);
      const [, [cfg]] = await until(s, (ev) => ev === 'config', 'config');
      assert.deepEqual(cfg, { supportedFeatures: ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE',
        'MDISCONNECT', 'AGGREGATED_EVENTS', 'ALL_EVENTS'] });
      const [, [all]] = await until(s, (ev) => ev === 'all_sockets', 'all_sockets');
      const me = all.find((x) => x.id === s.id);
      assert.ok(me, 'all_sockets lists the admin socket itself');
      assert.equal(me.nsp, '/admin');
      assert.equal(me.transport, 'websocket');
      assert.equal(me.clientId.length, 12);
      assert.deepEqual(me.rooms, [s.id]);
      assert.deepEqual(me.data, {});
      assert.equal(me.handshake.address, '127.0.0.1');
      assert.equal(me.handshake.query.EIO, '4');
      assert.equal(me.handshake.secure, false);
      assert.equal(typeof me.handshake.issued, 'number');
      assert.equal(me.handshake.auth, undefined, 'auth is never shown');
    });

    test('server_stats every 2 s', async () => {
      const { s } = await admin(server.url);
      const poll = client(server.url, '/chat', { transports: ['polling'] });
      await nextEvent(poll, 'connect');
      const t0 = Date.now();
      const stats = () => s.log.filter(([ev]) => ev === 'server_stats').map(([, [x]]) => x);
      await until(s, () => stats().length >= 2, 'two server_stats', budget(5000));
      const [a, b] = stats();
      assert.ok(Date.now() - t0 >= 1500, 'two server_stats are ~2 s apart');
      for (const st of [a, b]) {
        assert.deepEqual(Object.keys(st).sort(), ['aggregatedEvents', 'clientsCount', 'hostname', 'namespaces',
          'pid', 'pollingClientsCount', 'serverId', 'uptime']);
        assert.equal(typeof st.pid, 'number');
        assert.ok(st.uptime > 0);
        assert.equal(st.serverId, st.hostname);
        assert.ok(st.clientsCount >= 2);
        const names = st.namespaces.map((n) => n.name).sort();
        assert.deepEqual(names, ['/', '/admin', '/chat']);
        assert.ok(st.namespaces.find((n) => n.name === '/chat').socketsCount >= 1);
        for (const e of st.aggregatedEvents) {
          assert.equal(e.timestamp % 1000, 0);
          assert.ok(['rawConnection', 'rawDisconnection', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut'].includes(e.type));
          assert.ok(e.count > 0);
        }
      }
      assert.ok(b.pollingClientsCount >= 1, 'the polling client is counted');
      const all = [...a.aggregatedEvents, ...b.aggregatedEvents];
      assert.ok(all.some((e) => e.type === 'rawConnection'));
      assert.ok(all.some((e) => e.type === 'packetsOut' && e.count > 0));
      assert.ok(all.some((e) => e.type === 'bytesOut' && e.count > 0));
      poll.disconnect();
    });

    test('an upgrade: socket_connected on polling, then socket_updated to websocket', async () => {
      const { s } = await admin(server.url);
      const up = client(server.url, '/chat', { transports: ['polling', 'websocket'] });
      await nextEvent(up, 'connect');
      const [, [sock]] = await until(s, (ev, [x]) => ev === 'socket_connected' && x.id === up.id, 'socket_connected');
      assert.equal(sock.transport, 'polling');
      const [, [u]] = await until(s, (ev, [x]) => ev === 'socket_updated' && x.id === up.id && x.transport,
        'socket_updated (transport)', budget(5000));
      assert.deepEqual(u, { id: up.id, nsp: '/chat', transport: 'websocket' });
      up.disconnect();
    });

    test('socket events and the UI operations (the transcript compared with Node)', async () => {
      const { s } = await admin(server.url);
      await until(s, (ev) => ev === 'all_sockets', 'all_sockets');
      s.log.length = 0;
      const wait = (what, pred) => until(s, pred, what);
      const c = client(server.url, '/chat');
      const got = [];
      c.onAny((ev, ...args) => got.push([ev, args]));
      await nextEvent(c, 'connect');
      const cid = c.id;
      const [, [sock, date]] = await wait('socket_connected', (ev, [x]) => ev === 'socket_connected' && x.id === c.id);
      assert.match(date, ISO);
      assert.equal(sock.nsp, '/chat');
      assert.equal(sock.transport, 'websocket');
      assert.deepEqual(sock.rooms, [c.id]);
      await wait('room_joined (own room)', (ev, a) => ev === 'room_joined' && a[1] === c.id);

      assert.deepEqual(await ack(c, 'join', 'r1'), [2]);
      await wait('room_joined r1', (ev, a) => ev === 'room_joined' && a[1] === 'r1');
      const rec = await wait('event_received', (ev, a) => ev === 'event_received' && a[2][0] === 'join');
      assert.deepEqual(rec[1].slice(0, 3), ['/chat', c.id, ['join', 'r1']]);

      await ack(c, 'set-data', { user: { name: 'ann', n: [1, 2] } });
      const [, [upd]] = await wait('socket_updated (data)', (ev, [x]) => ev === 'socket_updated' && x.data);
      assert.deepEqual(upd, { id: c.id, nsp: '/chat', data: { user: { name: 'ann', n: [1, 2] } } });

      s.emit('emit', '/chat', c.id, 'hello', 1, { x: 'y' });
      const sent = await wait('event_sent', (ev, a) => ev === 'event_sent' && a[2][0] === 'hello');
      assert.deepEqual(sent[1].slice(0, 3), ['/chat', c.id, ['hello', 1, { x: 'y' }]]);
      s.emit('emit', '/chat', '', 'to-all', 'z');
      await wait('event_sent to-all', (ev, a) => ev === 'event_sent' && a[2][0] === 'to-all');

      s.emit('join', '/chat', 'r2', c.id);
      await wait('room_joined r2', (ev, a) => ev === 'room_joined' && a[1] === 'r2');
      s.emit('leave', '/chat', 'r1', c.id);
      const left = await wait('room_left r1', (ev, a) => ev === 'room_left' && a[1] === 'r1');
      assert.deepEqual(left[1].slice(0, 3), ['/chat', 'r1', c.id]);

      const reason = nextEvent(c, 'disconnect');
      s.emit('_disconnect', '/chat', false, c.id);
      assert.equal((await reason)[0], 'io server disconnect');
      const dis = await wait('socket_disconnected', (ev) => ev === 'socket_disconnected');
      assert.deepEqual(dis[1].slice(0, 3), ['/chat', cid, 'server namespace disconnect']);
      await wait('room_left r2', (ev, a) => ev === 'room_left' && a[1] === 'r2');
      await wait('room_left (own)', (ev, a) => ev === 'room_left' && a[1] === cid);
      assert.deepEqual(got, [['hello', [1, { x: 'y' }]], ['to-all', ['z']]]);

      // _disconnect(close: true) also closes the connection under the socket
      const d = client(server.url, '/chat');
      await nextEvent(d, 'connect');
      const did = d.id;
      await wait('socket_connected (second)', (ev, [x]) => ev === 'socket_connected' && x.id === did);
      const closed = nextEvent(d, 'disconnect');
      s.emit('_disconnect', '/chat', true, did);
      assert.equal((await closed)[0], 'io server disconnect'); // the DISCONNECT goes out before the close, as in Node
      await wait('socket_disconnected (second)', (ev, a) => ev === 'socket_disconnected' && a[1] === did);
      await wait('room_left (second)', (ev, a) => ev === 'room_left' && a[2] === did);

      // malformed operations are ignored, the server goes on
      s.emit('emit', 42, null, 'x');
      s.emit('join', '/nowhere', 'r', null);
      s.emit('_disconnect');
      await sleep(100);
      const e = client(server.url, '/chat');
      await nextEvent(e, 'connect');
      const eid = e.id;
      await wait('socket_connected (third)', (ev, [x]) => ev === 'socket_connected' && x.id === eid);
      e.disconnect();
      await wait('socket_disconnected (third)', (ev, a) => ev === 'socket_disconnected' && a[1] === eid);
      await sleep(50);
      transcripts[target.c ? 'c' : 'node'] = s.log.filter(([ev]) => ev !== 'server_stats')
        .map(([ev, args]) => [ev, shape(args)]);
    });

    test('readonly: no operation', async () => {
      const ro = await start(target, ['--readonly']);
      try {
        const { s } = await admin(ro.url);
        const [, [cfg]] = await until(s, (ev) => ev === 'config', 'config');
        assert.deepEqual(cfg.supportedFeatures, ['AGGREGATED_EVENTS', 'ALL_EVENTS']);
        const c = client(ro.url, '/chat');
        const got = [];
        c.onAny((ev) => got.push(ev));
        await nextEvent(c, 'connect');
        await until(s, (ev, [x]) => ev === 'socket_connected' && x.id === c.id, 'socket_connected');
        s.emit('emit', '/chat', c.id, 'hello');
        s.emit('_disconnect', '/chat', false, c.id);
        assert.deepEqual(await ack(c, 'echo', 1), [1]);
        await sleep(100);
        assert.ok(c.connected);
        assert.deepEqual(got, []);
        c.disconnect();
        s.disconnect();
      } finally {
        await stopAndCheck(ro);
      }
    });

    test('production: server_stats only', async () => {
      const pr = await start(target, ['--production', '--server-id', 'node-a']);
      try {
        const { s } = await admin(pr.url);
        const [, [cfg]] = await until(s, (ev) => ev === 'config', 'config');
        assert.deepEqual(cfg.supportedFeatures, ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE',
          'MDISCONNECT', 'AGGREGATED_EVENTS']);
        const c = client(pr.url, '/chat');
        await nextEvent(c, 'connect');
        await ack(c, 'join', 'r1');
        const [, [st]] = await until(s, (ev) => ev === 'server_stats', 'server_stats', budget(3000));
        assert.equal(st.serverId, 'node-a');
        assert.deepEqual([...new Set(s.log.map(([ev]) => ev))].sort(), ['config', 'server_stats', 'session']);
        c.disconnect();
        s.disconnect();
      } finally {
        await stopAndCheck(pr);
      }
    });

    if (target.c) {
      test('bad options are refused at start', () => {
        for (const args of [['--hash', 'not-a-bcrypt-hash'], ['--hash', '$2b$99$' + 'a'.repeat(53)]]) {
          const r = spawnSync(BIN, ['--port', '0', ...args], { encoding: 'utf8', timeout: 10000 });
          assert.notEqual(r.status, 0);
          assert.match(r.stderr, /bcrypt hash/);
        }
      });

      test('a password that is not a string is refused (Node\'s bcryptjs throws)', async () => {
        const { error } = await admin(server.url, { username: 'admin', password: 12345 });
        assert.equal(error?.message, 'invalid credentials');
      });
    }
  });
}

test('the transcripts of sio and Node are the same', { skip: TARGETS[0].skip }, () => {
  assert.ok(transcripts.c && transcripts.node, 'both scenarios ran');
  assert.deepEqual(transcripts.c, transcripts.node);
});
