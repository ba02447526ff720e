// socket.io-client 2.5 (Engine.IO v3) against a server that does not allow EIO3 (the default, as
// Node's allowEIO3: false): over websocket-only, polling-only and polling-then-upgrade the client
// never connects and gets connect_error; its own handshake request is answered with Node's
// 400 {"code":5,"message":"Unsupported protocol version"}.
//
// Server under test: $SIO_BIN_DIR/conformance, or the Node reference server with
// SIO_TEST_TARGET=reference (which validates these tests).
//   SIO_TEST_TARGET=reference node --test tests/interop/io-eio3-off.test.mjs

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { conformanceTarget, startConformance, stopAndCheck } from './lib/server.mjs';
import { budget, sleep } from './lib/timeouts.mjs';

const require = createRequire(import.meta.url);
const ioV2 = require('socket.io-client-v2');
const target = conformanceTarget();

const TRANSPORTS = [
  { name: 'websocket-only', opts: { transports: ['websocket'] } },
  { name: 'polling-only', opts: { transports: ['polling'], upgrade: false } },
  { name: 'polling-then-upgrade', opts: { transports: ['polling', 'websocket'], upgrade: true } },
];

describe(`socket.io-client 2.5 without allowEIO3 against ${target.name}`, { skip: target.skip }, () => {
  let server;
  before(async () => { server = await startConformance(target); });
  after(async () => { await stopAndCheck(server); });

  test('the handshake request a 2.5 client sends gets 400 code 5', async () => {
    // engine.io-client 3.x polling handshake: EIO=3, a cache-busting t, b64=1 for non-XHR2
    for (const q of ['EIO=3&transport=polling&t=Oabc123', 'EIO=3&transport=polling&t=Oabc123&b64=1']) {
      const res = await fetch(`${server.url}/socket.io/?${q}`);
      assert.equal(res.status, 400, q);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.deepEqual(await res.json(), { code: 5, message: 'Unsupported protocol version' }, q);
    }
  });

  for (const tr of TRANSPORTS) {
    test(`${tr.name}: connect_error, never connect`, async () => {
      const socket = ioV2(server.url, { ...tr.opts, reconnection: false, forceNew: true, timeout: budget(3000) });
      let connected = false;
      socket.on('connect', () => { connected = true; });
      try {
        const err = await new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no connect_error')), budget(5000));
          socket.once('connect_error', (e) => { clearTimeout(timer); resolve(e); });
        });
        assert.ok(err instanceof Error, 'connect_error carries an Error');
        await sleep(100);
        assert.equal(connected, false);
      } finally {
        socket.close();
      }
    });
  }
});
