// The echo server (build/bin/echo) driven by npm `ws`, the client most Node users run:
// payload sizes around the length-encoding edges up to 16 MiB, fragmentation, ping/pong,
// every close path (client close, limit, shutdown, idle), pipelining, and permessage-deflate
// on and off with every parameter combination ws can offer.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BIN_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, sleep, withTimeout } from './lib/timeouts.mjs';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../package.json'));
const WebSocket = require('ws');

const ECHO = path.join(BIN_DIR, 'echo');
const skip = existsSync(ECHO) ? false : `${ECHO} is not built`;

const clients = new Set();
function connect(port, opts = {}, pathname = '/') {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${pathname}`, { perMessageDeflate: false, ...opts });
  clients.add(ws);
  ws.messages = [];
  ws.waiters = [];
  ws.on('message', (data, isBinary) => {
    ws.messages.push({ data, isBinary });
    for (const w of ws.waiters.splice(0)) w();
  });
  ws.closedP = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('error', () => {});
  ws.openedP = withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), budget(5000), 'ws open');
  return ws;
}

async function nextMessage(ws, timeout = budget(10000)) {
  const t0 = Date.now();
  while (!ws.messages.length) {
    if (Date.now() - t0 > timeout) throw new Error('timed out waiting for a message');
    await new Promise((r) => { ws.waiters.push(r); setTimeout(r, 100); });
  }
  return ws.messages.shift();
}

async function roundTrip(ws, payload, binary) {
  ws.send(payload, { binary });
  const m = await nextMessage(ws, budget(30000));
  assert.equal(m.isBinary, binary);
  assert.equal(m.data.length, Buffer.byteLength(payload));
  assert.ok(Buffer.from(m.data).equals(Buffer.isBuffer(payload) ? payload : Buffer.from(payload)), 'payload differs');
}

let plain, deflating, small;

describe('echo server with npm ws', { skip }, () => {
  before(async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    plain = await startServer({ command: ECHO, args: ['--port', String(p1), '--host', '127.0.0.1'], port: p1 });
    deflating = await startServer({ command: ECHO, args: ['--port', String(p2), '--host', '127.0.0.1', '--deflate'], port: p2 });
    small = await startServer({ command: ECHO, args: ['--port', String(p3), '--host', '127.0.0.1', '--max-message', '1000', '--idle-timeout', '300'], port: p3 });
  });

  after(async () => {
    for (const ws of clients) ws.terminate();
    await stopAndCheck(plain);
    await stopAndCheck(deflating);
    await stopAndCheck(small);
  });

  for (const [name, getServer, pmd] of [
    ['deflate off', () => plain, false],
    ['deflate on', () => deflating, { threshold: 0 }],
  ]) {
    describe(name, () => {
      test('sizes 0..16 MiB, text and binary', async () => {
        const ws = connect(getServer().port, { perMessageDeflate: pmd, maxPayload: 64 << 20 });
        await ws.openedP;
        assert.equal(ws.extensions.includes('permessage-deflate'), !!pmd);
        for (const n of [0, 1, 125, 126, 127, 128, 65535, 65536, 65537, 1 << 20]) {
          await roundTrip(ws, 'é'.repeat(n >> 1) + 'a'.repeat(n & 1), false);
          await roundTrip(ws, crypto.randomBytes(n), true);
        }
        await roundTrip(ws, crypto.randomBytes(16 << 20), true);
        await roundTrip(ws, 'x'.repeat(16 << 20), false);
        ws.close(1000, 'done');
        assert.deepEqual(await ws.closedP, { code: 1000, reason: 'done' });
      });

      test('fragmented messages (fin: false) and interleaved pings', async () => {
        const ws = connect(getServer().port, { perMessageDeflate: pmd });
        await ws.openedP;
        const pongs = [];
        ws.on('pong', (d) => pongs.push(d.toString()));
        ws.send('frag', { fin: false });
        ws.ping('between');
        ws.send('men', { fin: false });
        ws.send('ted', { fin: true });
        const m = await nextMessage(ws);
        assert.equal(m.data.toString(), 'fragmented');
        assert.deepEqual(pongs, ['between']);
        ws.close();
        assert.equal((await ws.closedP).code, 1005);
      });

      test('pipelined: 2000 messages in flight come back in order', async () => {
        const ws = connect(getServer().port, { perMessageDeflate: pmd });
        await ws.openedP;
        for (let i = 0; i < 2000; i++) ws.send(`msg ${i}`);
        for (let i = 0; i < 2000; i++) assert.equal((await nextMessage(ws)).data.toString(), `msg ${i}`);
        ws.close(4000);
        assert.equal((await ws.closedP).code, 4000);
      });

      test('ping payloads come back in pongs', async () => {
        const ws = connect(getServer().port, { perMessageDeflate: pmd });
        await ws.openedP;
        for (const n of [0, 1, 125]) {
          const p = crypto.randomBytes(n);
          const got = new Promise((r) => ws.once('pong', r));
          ws.ping(p);
          assert.ok((await got).equals(p));
        }
        ws.close();
        await ws.closedP;
      });
    });
  }

  describe('permessage-deflate parameters', () => {
    const combos = [];
    for (const serverNoContextTakeover of [false, true]) {
      for (const clientNoContextTakeover of [false, true]) {
        for (const serverMaxWindowBits of [undefined, 9, 10, 12, 15]) {
          for (const clientMaxWindowBits of [undefined, 9, 15]) {
            combos.push({ serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits, threshold: 0 });
          }
        }
      }
    }
    test(`${combos.length} combinations of the four parameters round-trip`, async () => {
      for (const c of combos) {
        const ws = connect(deflating.port, { perMessageDeflate: c });
        await ws.openedP;
        assert.ok(ws.extensions.startsWith('permessage-deflate'), JSON.stringify(c));
        // what the server answered, as ws parsed it (ws.extensions lists only names)
        const params = ws._extensions['permessage-deflate'].params;
        assert.equal(!!params.server_no_context_takeover, c.serverNoContextTakeover, JSON.stringify(params));
        assert.equal(!!params.client_no_context_takeover, c.clientNoContextTakeover, JSON.stringify(params));
        if (c.serverMaxWindowBits) assert.equal(params.server_max_window_bits, c.serverMaxWindowBits);
        for (const n of [0, 10, 1000, 70000]) {
          const text = 'abcabcabd'.repeat(Math.ceil(n / 9)).slice(0, n);
          await roundTrip(ws, text, false);
          await roundTrip(ws, text, false);
          await roundTrip(ws, crypto.randomBytes(n), true);
        }
        ws.close();
        await ws.closedP;
      }
    });
    test('server_max_window_bits=8 alone is declined (no extension, still works)', async () => {
      // ws always offers a single offer; with 8 the server must decline it
      const ws = connect(deflating.port, { perMessageDeflate: { serverMaxWindowBits: 8, threshold: 0 } });
      await ws.openedP;
      assert.equal(ws.extensions, '');
      await roundTrip(ws, 'plain', false);
      ws.close();
      await ws.closedP;
    });
  });

  describe('close paths', () => {
    test('client close with code and reason is echoed', async () => {
      const ws = connect(plain.port);
      await ws.openedP;
      ws.close(3001, 'reason µ');
      assert.deepEqual(await ws.closedP, { code: 3001, reason: 'reason µ' });
    });
    test('a message over the limit -> 1009, under it echoes', async () => {
      const ws = connect(small.port);
      await ws.openedP;
      await roundTrip(ws, Buffer.alloc(1000), true);
      ws.send(Buffer.alloc(1001));
      assert.equal((await ws.closedP).code, 1009);
    });
    test('idle: the server pings a silent client, which stays when it answers', async () => {
      const ws = connect(small.port);
      await ws.openedP;
      let pings = 0;
      ws.on('ping', () => pings++);
      await sleep(1000);
      assert.ok(pings >= 2, `pings: ${pings}`);
      assert.equal(ws.readyState, WebSocket.OPEN);
      ws.close();
      await ws.closedP;
    });
    test('idle: a client that never answers is dropped', async () => {
      const ws = connect(small.port, { autoPong: false });
      await ws.openedP;
      const r = await withTimeout(ws.closedP, budget(3000), 'idle close');
      assert.equal(r.code, 1006);
    });
    test('terminate by the client leaves the server healthy', async () => {
      const ws = connect(plain.port);
      await ws.openedP;
      ws.send('x'.repeat(100000));
      ws.terminate();
      const ws2 = connect(plain.port);
      await ws2.openedP;
      await roundTrip(ws2, 'still here', false);
      ws2.close();
      await ws2.closedP;
    });
    test('shutdown (SIGTERM) closes open WebSockets with 1001', async () => {
      const port = await freePort();
      const srv = await startServer({ command: ECHO, args: ['--port', String(port), '--host', '127.0.0.1'], port });
      try {
        const ws = connect(port);
        await ws.openedP;
        await roundTrip(ws, 'hi', false);
        process.kill(srv.pid, 'SIGTERM');
        const r = await withTimeout(ws.closedP, budget(5000), 'close on shutdown');
        assert.equal(r.code, 1001);
        const info = await withTimeout(srv.exited, budget(7000), 'server exit');
        assert.equal(info.code, 0);
      } finally {
        await srv.stop();
      }
    });
  });
});
