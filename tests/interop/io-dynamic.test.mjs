// Dynamic namespaces: a broadcast with acks on the parent collects the answers of every
// child's sockets into one callback (rooms per child, timeout with the answers that came); and
// cleanup_empty_child_namespaces (Node's cleanupEmptyChildNamespaces),
// with the official socket.io-client 4.8 (websocket-only, polling-only, polling then upgrade)
// against $SIO_BIN_DIR/iofeatures --cleanup-children:
// a child of "/dyn-*" is removed when its last socket leaves, and the next connection to its
// name re-creates it through the parent (whose middleware and connection handler run again).
// A socket waiting in the parent's middleware keeps the child; a socket the application holds
// past its disconnect, an operator on the removed child and a cross-thread emit to its name are
// all safe (the ASan build of the same test checks that nothing touches freed memory).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Manager } from 'socket.io-client';
import { BIN_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, sleep, withTimeout, nextEvent } from './lib/timeouts.mjs';

const BIN = path.join(BIN_DIR, 'iofeatures');
const skip = existsSync(BIN) ? false : `${BIN} is not built yet`;

const TRANSPORTS = [
  { name: 'websocket-only', opts: { transports: ['websocket'] } },
  { name: 'polling-only', opts: { transports: ['polling'], upgrade: false } },
  { name: 'upgrade', opts: { transports: ['polling', 'websocket'] } }, // polling, then WebSocket
];

const next = nextEvent;

describe('dynamic namespaces: cleanup of empty children (iofeatures --cleanup-children)', { skip }, () => {
  let server;
  const managers = [];

  before(async () => {
    const port = await freePort();
    server = await startServer({ command: BIN, args: ['--port', String(port), '--cleanup-children'], port });
  });

  after(async () => {
    for (const m of managers) for (const s of Object.values(m.nsps)) s.disconnect();
    await stopAndCheck(server);
  });

  for (const transport of TRANSPORTS) {
    describe(transport.name, () => {
      // a socket on nsp; `nspEvent` resolves with the parent's connection handler's "nsp" event
      function socket(nsp, auth = {}) {
        const m = new Manager(server.url, { ...transport.opts, reconnection: false });
        managers.push(m);
        const s = m.socket(nsp, { auth });
        s.nspEvent = next(s, 'nsp');
        s.nspEvent.catch(() => {}); // awaited by the tests that expect it
        return s;
      }
      async function connected(nsp, auth) {
        const s = socket(nsp, auth);
        await next(s, 'connect');
        return s;
      }
      async function exists(root, name) {
        return root.emitWithAck('nsp-exists', name);
      }
      async function waitGone(root, name) {
        const end = Date.now() + budget(3000);
        while (await exists(root, name)) {
          if (Date.now() > end) throw new Error(`${name} is still there`);
          await sleep(20);
        }
      }

      test('the last socket leaving removes the child; connecting again re-creates it through the parent', async () => {
        const name = `/dyn-cleanup-${transport.name}`;
        const root = await connected('/');
        assert.equal(await exists(root, name), false);
        const a = await connected(name);
        assert.deepEqual(await a.nspEvent, [name]);
        const b = await connected(name);
        assert.deepEqual(await b.nspEvent, [name]);
        assert.equal(await exists(root, name), true);
        a.disconnect();
        await sleep(100);
        assert.equal(await exists(root, name), true, 'one socket is left');
        b.disconnect();
        await waitGone(root, name);
        const c = await connected(name); // the parent's connection handler runs again
        assert.deepEqual(await c.nspEvent, [name]);
        assert.equal(await exists(root, name), true);
        await c.emitWithAck('join', 'r'); // the re-created child works
        c.disconnect();
        await waitGone(root, name);
        root.disconnect();
      });

      test('a socket waiting in the parent middleware keeps the child', async () => {
        const name = `/dyn-pending-${transport.name}`;
        const root = await connected('/');
        const a = await connected(name);
        const slow = socket(name, { slow: true }); // 150 ms in the middleware
        await sleep(30);
        a.disconnect();
        await next(slow, 'connect');
        assert.deepEqual(await slow.nspEvent, [name]);
        assert.equal(await exists(root, name), true);
        slow.disconnect();
        await waitGone(root, name);
        // leaving during the middleware: the child goes, the middleware's later step is safe
        const gone = socket(name, { slow: true });
        await sleep(30);
        gone.disconnect();
        await waitGone(root, name);
        await sleep(200);
        assert.equal(await exists(root, name), false);
        root.disconnect();
      });

      test('a socket held past its disconnect, an emit to the removed child, a late cross-thread emit', async () => {
        const name = `/dyn-held-${transport.name}`;
        const root = await connected('/');
        const a = await connected(name);
        await a.emitWithAck('join', 'held-room');
        await a.emitWithAck('hold'); // the server keeps the socket 200 ms
        a.disconnect();
        await waitGone(root, name);
        await sleep(300); // the held socket is used, then released
        assert.ok(server.alive(), server.crashReport() ?? 'server died');
        assert.doesNotMatch(server.stderr, /BUG/);
        const b = await connected(name); // a fresh child: the old rooms are gone
        assert.deepEqual(await b.nspEvent, [name]);
        b.disconnect();
        root.disconnect();
      });

      test('broadcast with acks on the parent: every child\'s sockets answer into one callback', async () => {
        const n1 = `/dyn-acks1-${transport.name}`, n2 = `/dyn-acks2-${transport.name}`;
        const root = await connected('/');
        const [a, b, c] = [await connected(n1), await connected(n1), await connected(n2)];
        a.on('question-all', (cb) => cb('a'));
        b.on('question-all', (cb) => cb('b'));
        c.on('question-all', (cb) => cb('c'));
        root.emit('dyn-ask-all', 2000);
        const [r] = await next(root, 'ask-all-result');
        assert.equal(r.error, null);
        assert.equal(r.expected, 3);
        assert.deepEqual(r.answers.sort(), ['a', 'b', 'c']);
        // rooms apply in each child
        await b.emitWithAck('join', 'acks-room');
        await c.emitWithAck('join', 'acks-room');
        root.emit('dyn-ask-all', 2000, 'acks-room');
        const [r2] = await next(root, 'ask-all-result');
        assert.equal(r2.error, null);
        assert.equal(r2.expected, 2);
        assert.deepEqual(r2.answers.sort(), ['b', 'c']);
        // one child silent: the timeout reports the answers that came
        c.off('question-all');
        c.on('question-all', () => { /* silent */ });
        root.emit('dyn-ask-all', 200);
        const [r3] = await next(root, 'ask-all-result');
        assert.match(r3.error, /timed out/);
        assert.equal(r3.expected, 3);
        assert.deepEqual(r3.answers.sort(), ['a', 'b']);
        for (const s of [a, b, c, root]) s.disconnect();
      });

      test('disconnecting every socket of the parent empties and removes every child', async () => {
        const names = [`/dyn-k1-${transport.name}`, `/dyn-k2-${transport.name}`];
        const root = await connected('/');
        const socks = [await connected(names[0]), await connected(names[0]), await connected(names[1])];
        const reasons = socks.map((s) => next(s, 'disconnect'));
        await root.emitWithAck('dyn-kick');
        assert.deepEqual((await Promise.all(reasons)).map((r) => r[0]), Array(3).fill('io server disconnect'));
        for (const n of names) await waitGone(root, n);
        root.disconnect();
      });
    });
  }
});
