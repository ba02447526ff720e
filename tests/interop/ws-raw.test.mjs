// RFC 6455 / RFC 7692 conformance of the echo server (build/bin/echo), byte by byte over raw
// TCP: the categories a strict suite (Autobahn style) checks, each with the close code the
// RFC asks for, and that the server closes TCP after the close handshake.
//
// A small client below speaks the handshake and framing by hand so that it can send what no
// well-behaved library would (unmasked frames, reserved bits and opcodes, bad UTF-8, bad
// close payloads, odd fragmentations).

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { existsSync } from 'node:fs';
import { BIN_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, sleep } from './lib/timeouts.mjs';

const ECHO = path.join(BIN_DIR, 'echo');
const skip = existsSync(ECHO) ? false : `${ECHO} is not built`;

// --- a raw WebSocket client -------------------------------------------------------------------
function mask(payload, key) {
  const out = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) out[i] = payload[i] ^ key[i & 3];
  return out;
}

/** A client frame. opts: fin (default true), rsv (bits 0..7 as RSV1..3 = 4,2,1), masked. */
function frame(opcode, payload = Buffer.alloc(0), { fin = true, rsv = 0, masked = true } = {}) {
  payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const n = payload.length;
  let hdr;
  if (n < 126) {
    hdr = Buffer.from([0, n]);
  } else if (n < 65536) {
    hdr = Buffer.from([0, 126, n >> 8, n & 255]);
  } else {
    hdr = Buffer.alloc(10);
    hdr[1] = 127;
    hdr.writeBigUInt64BE(BigInt(n), 2);
  }
  hdr[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!masked) return Buffer.concat([hdr, payload]);
  hdr[1] |= 0x80;
  const key = crypto.randomBytes(4);
  return Buffer.concat([hdr, key, mask(payload, key)]);
}

const closePayload = (code, reason = '') => {
  const r = Buffer.isBuffer(reason) ? reason : Buffer.from(reason);
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
};

class Raw {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    this.head = null;
    this.headWaiters = [];
    this.endedP = new Promise((resolve) => sock.once('close', () => { this.ended = true; this.wake(); resolve(); }));
    sock.on('error', () => {});
    sock.on('data', (d) => this.onData(d));
  }

  static async connect(port, { path: p = '/', headers = {}, raw } = {}) {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.setNoDelay(true);
    await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    const c = new Raw(sock);
    const key = headers['Sec-WebSocket-Key'] ?? crypto.randomBytes(16).toString('base64');
    const h = {
      Host: `127.0.0.1:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
      ...headers,
    };
    let req = raw ?? `GET ${p} HTTP/1.1\r\n`;
    if (!raw) {
      for (const [k, v] of Object.entries(h)) if (v !== null) req += `${k}: ${v}\r\n`;
      req += '\r\n';
    }
    sock.write(req);
    c.key = key;
    return c;
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.head) {
      const i = this.buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      const text = this.buf.subarray(0, i).toString('latin1');
      const [statusLine, ...lines] = text.split('\r\n');
      const headers = {};
      for (const l of lines) {
        const k = l.indexOf(':');
        headers[l.slice(0, k).trim().toLowerCase()] = l.slice(k + 1).trim();
      }
      this.head = { status: Number(statusLine.split(' ')[1]), headers, statusLine };
      this.buf = this.buf.subarray(i + 4);
      for (const w of this.headWaiters.splice(0)) w();
      if (this.head.status !== 101) return;
    }
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 0x7f, off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2); off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2)); off = 10;
      }
      if (b1 & 0x80) throw new Error('server frames must not be masked');
      if (this.buf.length < off + len) break;
      this.frames.push({
        fin: !!(b0 & 0x80), rsv: (b0 >> 4) & 7, opcode: b0 & 15,
        payload: Buffer.from(this.buf.subarray(off, off + len)),
      });
      this.buf = this.buf.subarray(off + len);
    }
    this.wake();
  }

  wake() { for (const w of this.waiters.splice(0)) w(); }

  async handshake(timeout = budget(3000)) {
    const t0 = Date.now();
    while (!this.head) {
      if (this.ended) throw new Error('closed before the handshake answer');
      if (Date.now() - t0 > timeout) throw new Error('no handshake answer');
      await new Promise((r) => { this.headWaiters.push(r); setTimeout(r, 50); });
    }
    return this.head;
  }

  async open(timeout) {
    const h = await this.handshake(timeout);
    assert.equal(h.status, 101, `handshake status ${h.statusLine}`);
    const accept = crypto.createHash('sha1').update(this.key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    assert.equal(h.headers['sec-websocket-accept'], accept);
    return h;
  }

  send(...bufs) { this.sock.write(Buffer.concat(bufs)); }

  /** The next frame, or null if the connection ended first. */
  async next(timeout = budget(5000)) {
    const t0 = Date.now();
    for (;;) {
      if (this.frames.length) return this.frames.shift();
      if (this.ended) return null;
      if (Date.now() - t0 > timeout) throw new Error('timed out waiting for a frame');
      await new Promise((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  /** Expects the server to send a close with `code` (skipping other frames) and close TCP. */
  async expectClose(code, timeout = budget(5000)) {
    for (;;) {
      const f = await this.next(timeout);
      assert.ok(f, `expected a close ${code}, the connection ended without one`);
      if (f.opcode !== 8) continue;
      const got = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
      assert.equal(got, code, `close code ${got}, expected ${code} (${f.payload.subarray(2)})`);
      break;
    }
    await this.expectTcpClosed(timeout);
  }

  async expectTcpClosed(timeout = budget(5000)) {
    const t = sleep(timeout).then(() => 'timeout');
    const r = await Promise.race([this.endedP.then(() => 'closed'), t]);
    assert.equal(r, 'closed', 'the server did not close TCP');
  }

  /** Client-initiated clean close: expects the echo close and the TCP close. */
  async closeCleanly(code = 1000) {
    this.send(frame(8, closePayload(code)));
    await this.expectClose(code);
  }

  destroy() { this.sock.destroy(); }
}

// --- fixtures ------------------------------------------------------------------------------------
let server, small;
const conns = new Set();
async function open(port = server.port, opts) {
  const c = await Raw.connect(port, opts);
  conns.add(c);
  await c.open();
  return c;
}

async function echoes(c, opcode, payload, ...chops) {
  const f = await c.next();
  assert.ok(f, 'connection ended');
  assert.equal(f.opcode, opcode);
  assert.ok(f.fin);
  assert.equal(f.payload.length, payload.length);
  assert.ok(f.payload.equals(payload), 'payload differs');
}

describe('WebSocket conformance over raw TCP (echo)', { skip }, () => {
  before(async () => {
    const port = await freePort();
    server = await startServer({ command: ECHO, args: ['--port', String(port), '--host', '127.0.0.1', '--deflate'], port });
    const port2 = await freePort();
    small = await startServer({ command: ECHO, args: ['--port', String(port2), '--host', '127.0.0.1', '--max-message', '1000', '--deflate'], port: port2 });
  });

  after(async () => {
    for (const c of conns) c.destroy();
    await stopAndCheck(server);
    await stopAndCheck(small);
  });

  describe('handshake', () => {
    test('version other than 13 -> 426 with Sec-WebSocket-Version: 13', async () => {
      const c = await Raw.connect(server.port, { headers: { 'Sec-WebSocket-Version': '8' } });
      conns.add(c);
      const h = await c.handshake();
      assert.equal(h.status, 426);
      assert.equal(h.headers['sec-websocket-version'], '13');
    });
    test('a key that is not 16 bytes -> 400', async () => {
      for (const key of ['dGhlIHNhbXBsZSBub25jZQ', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'not base64 at all!!!!!!!']) {
        const c = await Raw.connect(server.port, { headers: { 'Sec-WebSocket-Key': key } });
        conns.add(c);
        assert.equal((await c.handshake()).status, 400, key);
      }
    });
    test('Connection token list is matched case-insensitively', async () => {
      const c = await open(server.port, { headers: { Connection: 'keep-alive, UPGRADE', Upgrade: 'WebSocket' } });
      c.send(frame(1, 'hi'));
      await echoes(c, 1, Buffer.from('hi'));
      await c.closeCleanly();
    });
    test('Connection without upgrade -> 400', async () => {
      const c = await Raw.connect(server.port, { headers: { Connection: 'keep-alive' } });
      conns.add(c);
      const h = await c.handshake();
      assert.notEqual(h.status, 101);
    });
    test('the RFC example key gets the RFC accept value', async () => {
      const c = await Raw.connect(server.port, { headers: { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      conns.add(c);
      const h = await c.handshake();
      assert.equal(h.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      await c.closeCleanly();
    });
    test('frames sent right behind the request are processed', async () => {
      const key = crypto.randomBytes(16).toString('base64');
      const sock = net.connect({ port: server.port, host: '127.0.0.1' });
      const c = new Raw(sock);
      conns.add(c);
      c.key = key;
      await new Promise((r) => sock.once('connect', r));
      sock.write(Buffer.concat([Buffer.from(`GET /any/path?x=1 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`), frame(1, 'early'), frame(2, Buffer.from([1, 2]))]));
      await c.open();
      await echoes(c, 1, Buffer.from('early'));
      await echoes(c, 2, Buffer.from([1, 2]));
      await c.closeCleanly();
    });
  });

  describe('1 framing', () => {
    for (const n of [0, 125, 126, 127, 128, 65535, 65536, 200000]) {
      test(`text and binary of ${n} bytes, whole and chopped`, async () => {
        const c = await open();
        const text = Buffer.from('x'.repeat(n));
        const bin = crypto.randomBytes(n);
        c.send(frame(1, text));
        await echoes(c, 1, text);
        c.send(frame(2, bin));
        await echoes(c, 2, bin);
        for (const chop of [1, 7, 997]) {
          if (n > 70000 && chop < 997) continue;
          const f = frame(2, bin);
          for (let i = 0; i < f.length; i += chop) c.send(f.subarray(i, i + chop));
          await echoes(c, 2, bin);
        }
        await c.closeCleanly();
      });
    }
    test('several messages in one write are all echoed in order', async () => {
      const c = await open();
      const frames = [];
      for (let i = 0; i < 100; i++) frames.push(frame(1, `m${i}`));
      c.send(...frames);
      for (let i = 0; i < 100; i++) await echoes(c, 1, Buffer.from(`m${i}`));
      await c.closeCleanly();
    });
    test('an unmasked client frame -> 1002', async () => {
      const c = await open();
      c.send(frame(1, 'hello', { masked: false }));
      await c.expectClose(1002);
    });
  });

  describe('2 pings and pongs', () => {
    test('pings of 0..125 bytes get identical pongs', async () => {
      const c = await open();
      for (const n of [0, 1, 10, 124, 125]) {
        const p = crypto.randomBytes(n);
        c.send(frame(9, p));
        const f = await c.next();
        assert.equal(f.opcode, 10);
        assert.ok(f.payload.equals(p));
      }
      // chopped into single bytes
      const p = Buffer.from('chopped ping');
      const f = frame(9, p);
      for (let i = 0; i < f.length; i++) { c.send(f.subarray(i, i + 1)); }
      const pong = await c.next();
      assert.equal(pong.opcode, 10);
      assert.ok(pong.payload.equals(p));
      await c.closeCleanly();
    });
    test('a ping over 125 bytes -> 1002', async () => {
      const c = await open();
      c.send(frame(9, Buffer.alloc(126, 1)));
      await c.expectClose(1002);
    });
    test('unsolicited pongs are ignored', async () => {
      const c = await open();
      c.send(frame(10, 'unsolicited'), frame(10, ''), frame(1, 'after'));
      await echoes(c, 1, Buffer.from('after'));
      await c.closeCleanly();
    });
    test('ten pings in a row get ten pongs', async () => {
      const c = await open();
      const fs = [];
      for (let i = 0; i < 10; i++) fs.push(frame(9, `p${i}`));
      c.send(...fs);
      for (let i = 0; i < 10; i++) {
        const f = await c.next();
        assert.equal(f.opcode, 10);
        assert.equal(f.payload.toString(), `p${i}`);
      }
      await c.closeCleanly();
    });
  });

  describe('3 reserved bits', () => {
    for (const [name, frames] of [
      ['RSV1 on text (no extension negotiated)', [frame(1, 'a', { rsv: 4 })]],
      ['RSV2 on text', [frame(1, 'a', { rsv: 2 })]],
      ['RSV3 after a valid frame', [frame(1, 'ok'), frame(1, 'a', { rsv: 1 })]],
      ['RSV on a ping', [frame(9, 'p', { rsv: 6 })]],
      ['RSV on a close', [frame(8, '', { rsv: 7 })]],
      ['RSV on binary', [frame(2, Buffer.from([0]), { rsv: 5 })]],
    ]) {
      test(`${name} -> 1002`, async () => {
        const c = await open();
        c.send(...frames);
        await c.expectClose(1002);
      });
    }
  });

  describe('4 opcodes', () => {
    for (const op of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
      test(`opcode ${op} -> 1002 (after a valid frame, with payload)`, async () => {
        const c = await open();
        c.send(frame(1, 'ok'), frame(op, 'x'));
        await echoes(c, 1, Buffer.from('ok'));
        await c.expectClose(1002);
      });
    }
  });

  describe('5 fragmentation', () => {
    test('a fragmented ping -> 1002', async () => {
      const c = await open();
      c.send(frame(9, 'fr', { fin: false }), frame(0, 'ag'));
      await c.expectClose(1002);
    });
    test('a fragmented close -> 1002', async () => {
      const c = await open();
      c.send(frame(8, closePayload(1000), { fin: false }));
      await c.expectClose(1002);
    });
    test('a continuation with nothing to continue -> 1002', async () => {
      for (const fin of [true, false]) {
        const c = await open();
        c.send(frame(0, 'cont', { fin }));
        await c.expectClose(1002);
      }
    });
    test('a new data frame while a message is open -> 1002', async () => {
      const c = await open();
      c.send(frame(1, 'frag', { fin: false }), frame(1, 'new'));
      await c.expectClose(1002);
    });
    test('control frames between fragments are handled at once', async () => {
      const c = await open();
      c.send(frame(1, 'frag', { fin: false }), frame(9, 'between'));
      const pong = await c.next();
      assert.equal(pong.opcode, 10);
      assert.equal(pong.payload.toString(), 'between');
      await sleep(50);
      c.send(frame(10, 'x'), frame(0, 'men', { fin: false }), frame(9, ''), frame(0, 'ted'));
      const pong2 = await c.next();
      assert.equal(pong2.opcode, 10);
      await echoes(c, 1, Buffer.from('fragmented'));
      await c.closeCleanly();
    });
    test('messages in 1-byte fragments, text and binary', async () => {
      const c = await open();
      for (const op of [1, 2]) {
        const msg = Buffer.from('fragments of one byte each');
        const fs = [];
        for (let i = 0; i < msg.length; i++) fs.push(frame(i === 0 ? op : 0, msg.subarray(i, i + 1), { fin: i === msg.length - 1 }));
        c.send(...fs);
        await echoes(c, op, msg);
      }
      await c.closeCleanly();
    });
    test('empty fragments', async () => {
      const c = await open();
      c.send(frame(1, '', { fin: false }), frame(0, '', { fin: false }), frame(0, ''));
      await echoes(c, 1, Buffer.alloc(0));
      await c.closeCleanly();
    });
  });

  describe('6 UTF-8', () => {
    const valid = [
      'Hello-µ@ßöäüàá-UTF-8!!',
      'κόσμε',
      '\u{10FFFF}\u{FFFF}\u{D7FF}\u{E000}\u{FFFD}\u{1F600}',
      '\u0000\u007F\u0080\u07FF\u0800',
    ];
    for (const s of valid) {
      test(`valid ${JSON.stringify(s).slice(0, 20)}: whole and split at every byte`, async () => {
        const c = await open();
        const b = Buffer.from(s);
        c.send(frame(1, b));
        await echoes(c, 1, b);
        for (let k = 1; k < b.length; k++) {
          c.send(frame(1, b.subarray(0, k), { fin: false }), frame(0, b.subarray(k)));
          await echoes(c, 1, b);
        }
        const fs = [];
        for (let i = 0; i < b.length; i++) fs.push(frame(i === 0 ? 1 : 0, b.subarray(i, i + 1), { fin: i === b.length - 1 }));
        c.send(...fs);
        await echoes(c, 1, b);
        await c.closeCleanly();
      });
    }
    const invalid = {
      'lone continuation': [0x80],
      'overlong 2-byte': [0xc0, 0xaf],
      'overlong 3-byte': [0xe0, 0x80, 0xaf],
      'overlong 4-byte': [0xf0, 0x80, 0x80, 0xaf],
      'surrogate D800': [0xed, 0xa0, 0x80],
      'surrogate DFFF': [0xed, 0xbf, 0xbf],
      'past U+10FFFF': [0xf4, 0x90, 0x80, 0x80],
      '5-byte form': [0xf8, 0x88, 0x80, 0x80, 0x80],
      'FE': [0xfe],
      'FF': [0xff],
      'truncated at the end': [0x41, 0xce],
    };
    for (const [name, bytes] of Object.entries(invalid)) {
      test(`invalid (${name}) -> 1007`, async () => {
        const c = await open();
        c.send(frame(1, Buffer.concat([Buffer.from('ok '), Buffer.from(bytes)])));
        await c.expectClose(1007);
      });
    }
    test('fail fast: a bad first fragment closes before the rest is sent', async () => {
      const c = await open();
      c.send(frame(1, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80]), { fin: false }));
      await c.expectClose(1007);
    });
    test('fail fast: inside a frame, before the frame is complete', async () => {
      const c = await open();
      const f = frame(1, Buffer.concat([Buffer.from('abc'), Buffer.from([0xf4, 0x90]), Buffer.alloc(1000, 0x41)]));
      c.send(f.subarray(0, 8 + 5)); // header (2 + 2 length + 4 mask), 'abc', F4 90
      await c.expectClose(1007);
    });
  });

  describe('7 close', () => {
    test('a close without payload is answered with a close and TCP closes', async () => {
      const c = await open();
      c.send(frame(8));
      const f = await c.next();
      assert.equal(f.opcode, 8);
      assert.ok(f.payload.length === 0 || f.payload.readUInt16BE(0) === 1000);
      await c.expectTcpClosed();
    });
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]) {
      test(`valid code ${code} with a UTF-8 reason is answered`, async () => {
        const c = await open();
        c.send(frame(8, closePayload(code, 'Hello µ')));
        await c.expectClose(code);
      });
    }
    for (const code of [0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
      test(`invalid code ${code} -> 1002`, async () => {
        const c = await open();
        c.send(frame(8, closePayload(code)));
        await c.expectClose(1002);
      });
    }
    test('a 1-byte close payload -> 1002', async () => {
      const c = await open();
      c.send(frame(8, Buffer.from([3])));
      await c.expectClose(1002);
    });
    test('a close reason that is not UTF-8 -> 1002', async () => {
      const c = await open();
      c.send(frame(8, closePayload(1000, Buffer.from([0xce, 0xba, 0xed, 0xa0, 0x80]))));
      await c.expectClose(1002);
    });
    test('a 125-byte close payload is fine', async () => {
      const c = await open();
      c.send(frame(8, closePayload(1000, 'x'.repeat(123))));
      await c.expectClose(1000);
    });
    test('nothing is processed after a close', async () => {
      const c = await open();
      c.send(frame(1, 'before'), frame(8, closePayload(1000)), frame(1, 'after'), frame(9, 'ping'));
      await echoes(c, 1, Buffer.from('before'));
      const f = await c.next();
      assert.equal(f.opcode, 8);
      assert.equal(await c.next(), null, 'nothing may follow the close');
      await c.expectTcpClosed();
    });
    test('a close in the middle of a fragmented message is answered', async () => {
      const c = await open();
      c.send(frame(1, 'frag', { fin: false }), frame(8, closePayload(1000)));
      await c.expectClose(1000);
    });
  });

  describe('9 limits', () => {
    test('16 MiB binary echoed intact', async () => {
      const c = await open();
      const big = crypto.randomBytes(16 << 20);
      c.send(frame(2, big));
      await echoes(c, 2, big);
      await c.closeCleanly();
    });
    test('4 MiB in 64-byte fragments (65,536 fragments)', async () => {
      const c = await open();
      const big = crypto.randomBytes(4 << 20);
      const parts = [];
      for (let i = 0; i < big.length; i += 64) {
        parts.push(frame(i === 0 ? 2 : 0, big.subarray(i, i + 64), { fin: i + 64 >= big.length }));
      }
      c.send(...parts);
      await echoes(c, 2, big);
      await c.closeCleanly();
    });
    test('over the limit -> 1009 (whole or fragmented)', async () => {
      let c = await open(small.port);
      c.send(frame(2, Buffer.alloc(1000)));
      await echoes(c, 2, Buffer.alloc(1000));
      c.send(frame(2, Buffer.alloc(1001)));
      await c.expectClose(1009);
      c = await open(small.port);
      c.send(frame(1, 'a'.repeat(600), { fin: false }), frame(0, 'b'.repeat(600)));
      await c.expectClose(1009);
    });
  });

  describe('robustness', () => {
    test('random bytes and random frames on many connections never hurt the server', async () => {
      let seed = 12345;
      const rand = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
      const cs = [];
      for (let i = 0; i < 40; i++) {
        const deflateOffer = i % 2 ? { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } } : undefined;
        const c = await open(server.port, deflateOffer);
        cs.push(c);
        const parts = [];
        for (let k = 0; k < 20; k++) {
          const kind = rand(4);
          if (kind === 0) parts.push(crypto.randomBytes(rand(300)));
          else parts.push(frame(rand(16), crypto.randomBytes(rand(200)), { fin: !!rand(2), rsv: rand(8) }));
        }
        c.send(...parts);
      }
      await sleep(300);
      for (const c of cs) c.destroy();
      // the server still works
      const c = await open();
      c.send(frame(1, 'alive'));
      await echoes(c, 1, Buffer.from('alive'));
      await c.closeCleanly();
      assert.ok(server.alive());
    });
  });

  describe('12-13 permessage-deflate', () => {
    const inflate = (p) => zlib.inflateRawSync(Buffer.concat([p, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const deflate = (p, windowBits = 15) => {
      const d = zlib.deflateRawSync(p, { finishFlush: zlib.constants.Z_SYNC_FLUSH, windowBits });
      return d.subarray(0, d.length - 4);
    };
    const offers = [
      ['permessage-deflate', 'permessage-deflate'],
      ['permessage-deflate; client_max_window_bits', 'permessage-deflate'],
      ['permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover'],
      ['permessage-deflate; client_no_context_takeover', 'permessage-deflate; client_no_context_takeover'],
      ['permessage-deflate; server_max_window_bits=9', 'permessage-deflate; server_max_window_bits=9'],
      ['permessage-deflate; server_max_window_bits=15', 'permessage-deflate; server_max_window_bits=15'],
      ['permessage-deflate; server_max_window_bits=8', null],
      ['permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=10',
        'permessage-deflate; server_max_window_bits=10'],
      ['permessage-deflate; server_max_window_bits=8, permessage-deflate', 'permessage-deflate'],
      ['permessage-deflate; client_max_window_bits=8; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12',
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12'],
      ['permessage-deflate; unknown_param', null],
      ['permessage-deflate; server_max_window_bits=16', null],
      ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', null],
      ['x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=15', 'permessage-deflate'],
    ];
    for (const [offer, want] of offers) {
      test(`offer "${offer}" -> ${want ?? 'no extension'}`, async () => {
        const c = await open(server.port, { headers: { 'Sec-WebSocket-Extensions': offer } });
        const h = c.head;
        assert.equal(h.headers['sec-websocket-extensions'], want ?? undefined);
        // a compressed round trip when accepted, a plain one otherwise
        const msg = Buffer.from('Hello compressed world '.repeat(20));
        if (want) {
          const windowBits = /server_max_window_bits=(\d+)/.exec(want)?.[1];
          for (let i = 0; i < 3; i++) {
            c.send(frame(1, deflate(msg), { rsv: 4 }));
            const f = await c.next();
            assert.equal(f.opcode, 1);
            assert.equal(f.rsv, 4, 'server messages are compressed');
            const out = i === 0 || /server_no_context_takeover/.test(want) ? inflate(f.payload) : null;
            if (out) assert.ok(out.equals(msg));
            if (windowBits) assert.ok(Number(windowBits) >= 9);
          }
        } else {
          c.send(frame(1, msg));
          await echoes(c, 1, msg);
        }
        await c.closeCleanly();
      });
    }
    test('RSV1 on a continuation frame -> 1002', async () => {
      const c = await open(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_no_context_takeover' } });
      const d = deflate(Buffer.from('Hello'));
      c.send(frame(1, d.subarray(0, 2), { fin: false, rsv: 4 }), frame(0, d.subarray(2), { rsv: 4 }));
      await c.expectClose(1002);
    });
    test('compressed fragmented messages and uncompressed ones mixed', async () => {
      const c = await open(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; client_no_context_takeover; server_no_context_takeover' } });
      const msg = crypto.randomBytes(5000);
      const d = deflate(msg);
      const fs = [];
      for (let i = 0; i < d.length; i += 100) fs.push(frame(i === 0 ? 2 : 0, d.subarray(i, i + 100), { fin: i + 100 >= d.length, rsv: i === 0 ? 4 : 0 }));
      c.send(...fs, frame(2, msg));
      for (let k = 0; k < 2; k++) {
        const f = await c.next();
        assert.equal(f.opcode, 2);
        assert.ok(inflate(f.payload).equals(msg));
      }
      await c.closeCleanly();
    });
    test('invalid UTF-8 inside compressed text -> 1007', async () => {
      const c = await open(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
      c.send(frame(1, deflate(Buffer.from([0x61, 0xed, 0xa0, 0x80])), { rsv: 4 }));
      await c.expectClose(1007);
    });
    test('a decompression bomb is stopped at the message limit (1009)', async () => {
      const c = await open(small.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } });
      assert.equal(c.head.headers['sec-websocket-extensions'], 'permessage-deflate');
      c.send(frame(2, deflate(Buffer.alloc(1000)), { rsv: 4 }));
      const f = await c.next();
      assert.ok(inflate(f.payload).equals(Buffer.alloc(1000)));
      c.send(frame(2, deflate(Buffer.alloc(100000)), { rsv: 4 }));
      await c.expectClose(1009);
    });
    test('RSV1 when deflate was not negotiated -> 1002', async () => {
      const c = await open(server.port);
      c.send(frame(2, deflate(Buffer.alloc(10)), { rsv: 4 }));
      await c.expectClose(1002);
    });
  });
});
