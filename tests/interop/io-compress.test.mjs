// socket.compress(on) per packet, against $SIO_BIN_DIR/iofeatures --compression
// (permessage-deflate and gzip of polling responses on, thresholds 1024 bytes).
//
// Over WebSocket (a raw TCP client that sees RSV1 on each frame): a packet emitted with
// compress(false) goes out as a plain frame even when it is big; the default (compress on)
// deflates frames at or above the threshold and leaves small ones plain. A broadcast is
// encoded once and each recipient's write decides: a client that negotiated deflate gets a
// compressed frame, one that did not gets the same packet plain.
// Over polling: a response is gzipped only when a packet in it asked for compression
// (engine.io's Polling.send: packets.some(p => p.options.compress)).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { BIN_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { closeHttp, Polling, SEP } from './lib/http.mjs';
import { openFrames } from './lib/wsframes.mjs';
import { budget } from './lib/timeouts.mjs';

const BIN = path.join(BIN_DIR, 'iofeatures');
const skip = existsSync(BIN) ? false : `${BIN} is not built yet`;

const BIG = 3000;
const blob = (n) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 7))).join('');

describe('socket.compress() per packet (iofeatures --compression)', { skip }, () => {
  let server;
  const sockets = [];

  before(async () => {
    const port = await freePort();
    server = await startServer({ command: BIN, args: ['--port', String(port), '--compression'], port });
  });

  after(async () => {
    for (const s of sockets) s.close();
    closeHttp();
    await stopAndCheck(server);
  });

  async function wsClient(deflate) {
    const s = await openFrames(`${server.wsUrl}/socket.io/?EIO=4&transport=websocket`, { deflate });
    sockets.push(s);
    assert.equal(/permessage-deflate/.test(s.extensions), deflate);
    await s.nextStartingWith('0{');
    s.send('40');
    await s.nextStartingWith('40{');
    await s.nextStartingWith('42["auth"');
    return s;
  }

  // one emit and its ack: the "big" frame as it arrived
  async function emitBig(s, args) {
    s.send(`421${JSON.stringify(['compressed', ...args])}`);
    const f = await s.nextStartingWith('42["big"');
    await s.nextStartingWith('431[');
    return f;
  }

  test('websocket: compress(false) sends a big packet plain, the default deflates it', async () => {
    const s = await wsClient(true);
    const off = await emitBig(s, [false, BIG]);
    assert.equal(off.rsv1, false);
    assert.equal(off.text, `42["big","${blob(BIG)}"]`);
    const on = await emitBig(s, [true, BIG]);
    assert.equal(on.rsv1, true);
    assert.ok(on.payload.length < BIG / 4, `compressed to ${on.payload.length} bytes`);
    assert.equal(on.text, `42["big","${blob(BIG)}"]`);
    const small = await emitBig(s, [true, 100]); // under the threshold: plain
    assert.equal(small.rsv1, false);
    assert.equal(small.text, `42["big","${blob(100)}"]`);
  });

  test('websocket broadcast: encoded once, compressed per recipient connection', async () => {
    const [a, b] = [await wsClient(true), await wsClient(false)];
    const room = 'compress-room';
    for (const s of [a, b]) {
      s.send(`421${JSON.stringify(['join', room])}`);
      await s.nextStartingWith('431[');
    }
    a.send(`42${JSON.stringify(['compressed', true, BIG, room])}`);
    const [fa, fb] = [await a.nextStartingWith('42["big"'), await b.nextStartingWith('42["big"')];
    assert.equal(fa.rsv1, true);
    assert.equal(fb.rsv1, false);
    assert.equal(fa.text, fb.text);
    a.send(`42${JSON.stringify(['compressed', false, BIG, room])}`);
    const [ga, gb] = [await a.nextStartingWith('42["big"'), await b.nextStartingWith('42["big"')];
    assert.equal(ga.rsv1, false);
    assert.equal(gb.rsv1, false);
    assert.equal(ga.text, `42["big","${blob(BIG)}"]`);
  });

  test('polling: gzip only when a packet in the response asked for compression', async () => {
    const p = new Polling(server.url, '/socket.io/');
    await p.handshake();
    const gz = { headers: { 'accept-encoding': 'gzip' } };
    // GETs until a packet starting with `prefix` came; pings answered; each response checked
    // against engine.io's rule (pings ask for compression, as every engine.io packet does)
    async function until(prefix, compressible) {
      const end = Date.now() + budget(3000);
      while (Date.now() < end) {
        const r = await p.get(gz);
        assert.equal(r.status, 200);
        const zipped = r.headers['content-encoding'] === 'gzip';
        const text = zipped ? zlib.gunzipSync(r.body).toString('utf8') : r.text;
        const packets = text.split(SEP);
        if (packets.includes('2')) await p.post('3');
        const asked = packets.some((x) => x === '2' || compressible(x));
        const size = Buffer.byteLength(text);
        assert.equal(zipped, asked && size >= 1024, `gzip ${zipped} for ${packets.map((x) => x.slice(0, 12))}`);
        const hit = packets.find((x) => x.startsWith(prefix));
        if (hit) return { hit, zipped };
      }
      throw new Error(`no ${prefix} packet`);
    }
    await p.post('40');
    await until('40{', () => true);
    await p.post(`42${JSON.stringify(['compressed', false, BIG])}`);
    const off = await until('42["big"', (x) => !x.startsWith('42["big"'));
    assert.equal(off.hit, `42["big","${blob(BIG)}"]`);
    await p.post(`42${JSON.stringify(['compressed', true, BIG])}`);
    const on = await until('42["big"', () => true);
    assert.equal(on.zipped, true);
    assert.equal(on.hit, `42["big","${blob(BIG)}"]`);
    await p.post('1');
  });
});
