// Engine.IO v4 with the official npm engine.io-client against the conformance server's echo at
// /engine.io/: polling only, websocket only, polling then upgrade; text and binary both ways;
// a payload large enough to be gzip-compressed; heartbeat across several ping intervals;
// client-initiated close; CORS preflight.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { conformanceTarget, startConformance, stopAndCheck, SOURCE_DIR } from './lib/server.mjs';
import { request, closeHttp } from './lib/http.mjs';
import { budget, sleep, withTimeout } from './lib/timeouts.mjs';

const require = createRequire(path.join(SOURCE_DIR, 'package.json'));
const { Socket } = require('engine.io-client');
const target = conformanceTarget();

describe(`engine.io-client against ${target.name}`, { skip: target.skip }, () => {
  let server;
  before(async () => { server = await startConformance(target); });
  after(async () => { closeHttp(); await stopAndCheck(server); });

  function open(opts) {
    const s = new Socket(server.url, { path: '/engine.io/', ...opts });
    const messages = [];
    const waiters = [];
    s.on('message', (m) => {
      messages.push(m);
      while (waiters.length && waiters[0].n <= messages.length) waiters.shift().resolve();
    });
    s.until = (n) => withTimeout(new Promise((resolve) => {
      if (messages.length >= n) resolve(); else waiters.push({ n, resolve });
    }), budget(5000), `${n} messages`);
    s.messages = messages;
    s.opened = withTimeout(new Promise((resolve, reject) => {
      s.once('open', resolve);
      s.once('error', reject);
    }), budget(5000), 'open');
    return s;
  }

  for (const [name, opts, finalTransport] of [
    ['polling only', { transports: ['polling'] }, 'polling'],
    ['websocket only', { transports: ['websocket'] }, 'websocket'],
    ['polling then upgrade', {}, 'websocket'],
  ]) {
    test(`${name}: text, binary, large payload echoed; heartbeat; client close`, async () => {
      const s = open(opts);
      await s.opened;
      const big = 'x'.repeat(300000);
      s.send('hello');
      s.send(new Uint8Array([1, 2, 3, 4]));
      s.send(big);
      await s.until(3);
      assert.equal(s.messages[0], 'hello');
      assert.deepEqual([...new Uint8Array(s.messages[1])], [1, 2, 3, 4]);
      assert.equal(s.messages[2], big);
      // stays up across several heartbeats (pingInterval 300 ms, pingTimeout 200 ms)
      await sleep(1200);
      if (finalTransport === 'websocket') assert.equal(s.transport.name, 'websocket');
      s.send('after-heartbeats');
      await s.until(4);
      assert.equal(s.messages[3], 'after-heartbeats');
      const closed = new Promise((resolve) => s.once('close', (reason) => resolve(reason)));
      s.close();
      assert.equal(await closed, 'forced close');
    });
  }

  test('CORS preflight', async () => {
    const res = await request(`${server.url}/engine.io/?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://elsewhere.test', 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type' },
    });
    assert.ok(res.status === 204 || res.status === 200);
    assert.ok(['*', 'http://elsewhere.test'].includes(res.headers['access-control-allow-origin']));
  });
});
