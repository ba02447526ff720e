// Connection state recovery under network drops (issue 14, point 8): the official
// socket.io-client with automatic reconnection, against examples/recovery behind a TCP proxy
// (lib/cutproxy.mjs) that cuts every connection 10 times while the server broadcasts a tick
// 100 times a second. Every tick must arrive exactly once and in order, each reconnection
// must be a recovery, over websocket-only, polling-only and upgrade.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, skip, startC, setup, ready, cut, ask } from './lib/recovery.mjs';
import { budget, sleep, withTimeout } from './lib/timeouts.mjs';

describe('connection state recovery: 10 TCP cuts during a 100 msg/s broadcast', { skip }, () => {
  for (const [name, mode] of Object.entries(MODES)) {
    test(`no tick lost or duplicated (${name})`, async () => {
      const env = await setup(startC);
      try {
        const s = env.client(mode, {
          reconnection: true,
          reconnectionDelay: 100,
          reconnectionDelayMax: 200,
          randomizationFactor: 0
        });
        const ticks = [];
        s.on('tick', (n, offset) => {
          assert.equal(typeof offset, 'string');
          ticks.push(n);
        });
        await ready(s, mode);
        const COUNT = 600; // 6 s at 100 msg/s
        await ask(s, 'ticks', 10, COUNT);
        let recovered = 0;
        s.on('connect', () => {
          if (s.recovered) recovered++;
        });
        for (let i = 0; i < 10; i++) {
          await sleep(250);
          await cut(env, s);
          await withTimeout(new Promise((resolve) => s.once('connect', resolve)), budget(10000),
                            'reconnection');
        }
        await withTimeout((async () => {
                            while (ticks.length < COUNT && ticks.at(-1) !== COUNT) await sleep(50);
                          })(),
                          budget(20000), 'the last tick');
        await sleep(200);
        const expected = Array.from({length: COUNT}, (_, i) => i + 1);
        const missing = expected.filter((n) => !ticks.includes(n));
        const dup = ticks.filter((n, i) => ticks.indexOf(n) !== i);
        assert.deepEqual({missing, dup}, {missing: [], dup: []});
        assert.deepEqual(ticks, expected, 'in order');
        assert.equal(recovered, 10, 'every reconnection recovered');
      } finally {
        await env.close();
      }
    });
  }
});
