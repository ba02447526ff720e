// The msgpack parser (issue 14, points 4 and 8): the official socket.io-client 4.8 with
// `parser: require("socket.io-msgpack-parser")` against examples/msgpack (sio with
// sio_io_set_parser(io, SIO_PARSER_MSGPACK) and connection state recovery) and against its
// Node twin (reference/msgpack-server.mjs: socket.io 4.8 with the same parser), so that every
// expectation below is shown to be Node's behaviour. Each runs over websocket-only,
// polling-only and polling-then-upgrade:
// connect with auth; every packet one binary Engine.IO message; events both ways with nested
// objects, integers, floats, strings, null and binary; the bytes of a server-built packet
// equal to what Node's encoder writes; acks both ways (binary ones too); broadcast to a room;
// volatile (delivered, no offset); namespaces on one connection; connect error from a
// middleware; recovery (the offset as last argument, missed events replayed after a TCP cut);
// bad input (a text message, invalid msgpack, a wrong packet shape) closing the connection
// while a valid packet with nothing to dispatch does not; a default-parser server refusing a
// msgpack client.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Manager } from 'socket.io-client';
import { BIN_DIR, INTEROP_DIR, SOURCE_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { startCutProxy } from './lib/cutproxy.mjs';
import { budget, sleep, withTimeout, nextEvent } from './lib/timeouts.mjs';
import { TYPES } from './reference/msgpack-types.mjs';

const require = createRequire(path.join(SOURCE_DIR, 'package.json'));
const parser = require('socket.io-msgpack-parser');
// the parser's own notepack (2.2): what the client and Node's server encode with
const notepack = createRequire(require.resolve('socket.io-msgpack-parser'))('notepack.io');

const C_BIN = path.join(BIN_DIR, 'msgpack');
const NODE_TWIN = path.join(INTEROP_DIR, 'reference', 'msgpack-server.mjs');
const skip = existsSync(C_BIN) ? false : `${C_BIN} is not built yet`;
const PING = ['--ping-interval', '300', '--ping-timeout', '300'];

const TARGETS = [
  { name: 'sio (examples/msgpack)', command: C_BIN, args: [] },
  { name: 'Node twin (socket.io 4.8 + socket.io-msgpack-parser)', command: process.execPath, args: [NODE_TWIN] },
];

const MODES = [
  { name: 'websocket-only', opts: { transports: ['websocket'] } },
  { name: 'polling-only', opts: { transports: ['polling'], upgrade: false } },
  { name: 'polling-then-upgrade', opts: { transports: ['polling', 'websocket'], upgrade: true } },
];

async function start(target, extra = []) {
  const port = await freePort();
  return startServer({
    command: target.command,
    args: [...target.args, '--port', String(port), ...PING, ...extra],
    port,
  });
}

const ask = (s, ev, ...args) => withTimeout(s.emitWithAck(ev, ...args), budget(5000), ev);

/** Every argument of an ack answer (emitWithAck gives the first only). */
const askAll = (s, ev, ...args) =>
  withTimeout(new Promise((resolve) => s.emit(ev, ...args, (...answer) => resolve(answer))), budget(5000), ev);

const isOffset = (v) => typeof v === 'string' && v.length > 0;

for (const target of TARGETS) {
  describe(`msgpack parser: ${target.name}`, { skip }, () => {
    let server;
    let proxy;
    const managers = [];

    before(async () => {
      server = await start(target);
      proxy = await startCutProxy(server.port);
    });

    after(async () => {
      for (const m of managers) for (const s of Object.values(m.nsps)) s.disconnect();
      await proxy.close();
      await stopAndCheck(server);
    });

    for (const mode of MODES) {
      describe(mode.name, () => {
        /** A connected socket of nsp with its own manager; raw Engine.IO packets in m.raw. */
        async function client(nsp = '/', { auth, viaProxy = false, manager } = {}) {
          const m = manager || new Manager(viaProxy ? proxy.url : server.url, {
            ...mode.opts, parser, reconnection: false, forceNew: true,
          });
          if (!manager) {
            managers.push(m);
            m.raw = [];
            m.on('open', () => m.engine.on('packet', (p) => m.raw.push(p)));
          }
          const s = m.socket(nsp, auth ? { auth } : {});
          s.log = [];
          s.onAny((...a) => s.log.push(a));
          // the socket connects on its own (autoConnect): a second connect() on an open manager
          // would send a second CONNECT, which Node answers by closing the connection
          if (!s.connected) await nextEvent(s, 'connect', budget(8000));
          if (mode.opts.upgrade && m.engine.transport.name !== 'websocket') {
            await nextEvent(m.engine, 'upgrade', budget(8000));
          }
          return s;
        }

        const messages = (m) => m.raw.filter((p) => p.type === 'message');
        const decoded = (m) => messages(m).map((p) => notepack.decode(Buffer.from(p.data)));

        test('connect with auth; every packet is one binary Engine.IO message', async () => {
          const auth = { token: 'abc', n: 1.5, nested: { x: [1, null, 'y'] } };
          const s = await client('/', { auth });
          const me = await ask(s, 'whoami');
          assert.equal(me.id, s.id);
          assert.equal(me.nsp, '/');
          assert.deepEqual(me.auth, auth);
          await ask(s, 'types');
          const msgs = messages(s.io);
          assert.ok(msgs.length >= 3);
          for (const p of msgs) assert.ok(typeof p.data !== 'string', 'a binary message, never text');
          const connect = decoded(s.io)[0];
          assert.equal(connect.type, 0);
          assert.equal(connect.nsp, '/');
          assert.equal(connect.data.sid, s.id);
          assert.ok(isOffset(connect.data.pid), 'recovery on: the CONNECT reply has a pid');
          s.disconnect();
        });

        test('events both ways: nested objects, ints, floats, strings, null, binary', async () => {
          const s = await client();
          const value = {
            int: 42, neg: -7, big: 2 ** 40, float: 1.5, negf: -0.25, str: 'héllo ✓',
            nul: null, t: true, arr: [1, [2, [3, []]]], nested: { a: { b: { c: 'd' } } },
            bin: Buffer.from([4, 5]),
          };
          const args = [value, 7, 2.5, -1e-9, 'text', null, Buffer.from([1, 2, 3, 255])];
          const back = nextEvent(s, 'back');
          await ask(s, 'emit-back', ...args);
          const got = await back;
          assert.equal(got.length, args.length + 1);
          assert.deepEqual(got.slice(0, -1), args);
          assert.ok(Buffer.isBuffer(got[6]) && Buffer.isBuffer(got[0].bin), 'binary arrives as Buffers');
          assert.ok(isOffset(got[got.length - 1]), 'a stored event ends with its offset');
          s.disconnect();
        });

        test('a packet the server builds is the bytes Node encodes for it', async () => {
          const s = await client();
          const [value, bin] = await askAll(s, 'types');
          assert.deepEqual(value, JSON.parse(TYPES));
          assert.deepEqual(bin, Buffer.from([0, 1, 2, 255]));
          const raw = messages(s.io).map((p) => Buffer.from(p.data));
          const ack = raw.find((b) => notepack.decode(b).type === 3);
          const { id } = notepack.decode(ack);
          const want = parser.Encoder.prototype.encode({
            id, type: 3, data: [JSON.parse(TYPES), Buffer.from([0, 1, 2, 255])], nsp: '/',
          })[0];
          assert.equal(ack.toString('hex'), want.toString('hex'));
          s.disconnect();
        });

        test('acks both ways, binary ones included', async () => {
          const s = await client();
          const sent = [{ deep: [{ x: Buffer.from([9]) }] }, Buffer.from('raw'), 0, -3.25, 'z', null];
          assert.deepEqual(await askAll(s, 'echo', ...sent), sent);
          s.on('ask', (...a) => {
            const cb = a.pop();
            cb('answer', Buffer.from([8, 7]), { got: a });
          });
          const answer = await askAll(s, 'ask', 'q', Buffer.from([1]));
          assert.deepEqual(answer, ['answer', Buffer.from([8, 7]), { got: ['q', Buffer.from([1])] }]);
          s.disconnect();
        });

        test('broadcast to a room reaches its members only', async () => {
          const [a, b, c] = [await client(), await client(), await client()];
          const room = `r-${mode.name}`;
          await ask(a, 'join', room);
          await ask(b, 'join', room);
          const ga = nextEvent(a, 'room');
          const gb = nextEvent(b, 'room');
          await ask(c, 'to-room', room, { x: 1 }, Buffer.from([6]));
          for (const got of [await ga, await gb]) {
            assert.deepEqual(got.slice(0, 2), [{ x: 1 }, Buffer.from([6])]);
            assert.ok(isOffset(got[2]));
          }
          await sleep(150);
          assert.equal(c.log.filter((e) => e[0] === 'room').length, 0);
          for (const s of [a, b, c]) s.disconnect();
        });

        test('volatile: delivered without an offset (not stored); a broadcast has one', async () => {
          const s = await client();
          const vol = nextEvent(s, 'vol');
          await ask(s, 'volatile', { v: 1 });
          assert.deepEqual(await vol, [{ v: 1 }]);
          const news = nextEvent(s, 'news');
          await ask(s, 'bcast', 'n');
          const got = await news;
          assert.equal(got[0], 'n');
          assert.ok(isOffset(got[1]));
          s.disconnect();
        });

        test('namespaces share the connection; each gets its own packets', async () => {
          const main = await client();
          const ns = await client('/ns', { manager: main.io });
          assert.equal((await ask(ns, 'whoami')).nsp, '/ns');
          const back = nextEvent(ns, 'back');
          await ask(ns, 'emit-back', 'only /ns', Buffer.from([3]));
          const got = await back;
          assert.deepEqual(got.slice(0, 2), ['only /ns', Buffer.from([3])]);
          assert.equal(main.log.filter((e) => e[0] === 'back').length, 0);
          const nsps = new Set(decoded(main.io).map((p) => p.nsp));
          assert.deepEqual([...nsps].sort(), ['/', '/ns']);
          ns.disconnect();
          main.disconnect();
        });

        test('connect error from a middleware: message and data', async () => {
          const m = new Manager(server.url, { ...mode.opts, parser, reconnection: false, forceNew: true });
          managers.push(m);
          const s = m.socket('/', { auth: { deny: true } });
          const err = nextEvent(s, 'connect_error');
          const [e] = await err;
          assert.equal(e.message, 'denied');
          assert.deepEqual(e.data, { reason: 'asked', code: 7 });
          assert.equal(s.connected, false);
          s.disconnect();
        });

        test('recovery: missed events replayed with their offsets after a TCP cut', async () => {
          const s = await client('/', { viaProxy: true });
          const other = await client();
          await ask(s, 'join', 'rr');
          const first = nextEvent(s, 'news');
          await ask(other, 'bcast', 'before');
          const [, off0] = await first;
          assert.ok(isOffset(off0));
          const id = s.id;
          const gone = nextEvent(s, 'disconnect', budget(8000));
          proxy.cut();
          await gone;
          await sleep(900); // the server notices (a ping timeout at most)
          s.log.length = 0;
          await ask(other, 'bcast', 'm1');
          await ask(other, 'to-room', 'rr', 'm2', Buffer.from([2]));
          await ask(other, 'volatile', 'not replayed');
          s.connect();
          await nextEvent(s, 'connect', budget(8000));
          assert.equal(s.recovered, true);
          assert.equal(s.id, id);
          const missed = s.log.filter((e) => e[0] === 'news' || e[0] === 'room');
          assert.deepEqual(missed.map((e) => e.slice(0, -1)), [['news', 'm1'], ['room', 'm2', Buffer.from([2])]]);
          for (const e of missed) assert.ok(isOffset(e[e.length - 1]));
          assert.equal(s.log.filter((e) => e[0] === 'vol').length, 0);
          assert.equal((await ask(s, 'whoami')).recovered, true);
          s.disconnect();
          other.disconnect();
        });

        // What Node's decoder throws on closes the connection; a packet it accepts but that
        // has nothing to dispatch does not.
        const BAD = {
          'a text message': '2["echo"]',
          'invalid msgpack': Buffer.from([0xc1]),
          'trailing bytes': Buffer.concat([notepack.encode({ type: 2, data: ['echo'], nsp: '/' }), Buffer.from([0])]),
          'an event whose data is no array': notepack.encode({ type: 2, data: { a: 1 }, nsp: '/' }),
          'a packet type out of range': notepack.encode({ type: 7, data: ['echo'], nsp: '/' }),
          'no namespace': notepack.encode({ type: 2, data: ['echo'] }),
        };
        for (const [what, bytes] of Object.entries(BAD)) {
          test(`${what} closes the connection`, async () => {
            const s = await client();
            const gone = nextEvent(s, 'disconnect', budget(5000));
            s.io.engine.write(bytes);
            const [reason] = await gone;
            assert.equal(reason, 'transport close'); // the server closed the connection
          });
        }

        test('an event with no name is dropped, the connection stays', async () => {
          const s = await client();
          s.io.engine.write(notepack.encode({ type: 2, data: [], nsp: '/' }));
          s.io.engine.write(notepack.encode({ type: 2, data: [{}], nsp: '/' }));
          assert.equal((await ask(s, 'whoami')).id, s.id);
          assert.equal(s.connected, true);
          s.disconnect();
        });
      });
    }

    test('a server with the default parser does not connect a msgpack client', async () => {
      const plain = await start(target, ['--json']);
      try {
        const m = new Manager(plain.url, { transports: ['websocket'], parser, reconnection: false, forceNew: true });
        const s = m.socket('/');
        let connected = false;
        s.on('connect', () => { connected = true; });
        const gone = Promise.race([nextEvent(s, 'disconnect', budget(3000)), nextEvent(s, 'connect_error', budget(3000))]);
        await gone.catch(() => {});
        assert.equal(connected, false);
        s.disconnect();
        m._close?.();
      } finally {
        await stopAndCheck(plain);
      }
    });
  });
}
