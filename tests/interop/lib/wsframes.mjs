// A WebSocket client over raw TCP that shows each frame as it arrived: FIN, RSV1 (the
// permessage-deflate "compressed" bit, which npm `ws` does not expose), opcode and payload.
//
// `openFrames(url, {deflate})` performs the handshake, offering permessage-deflate with
// server_no_context_takeover when `deflate` is set (so that every compressed message inflates
// on its own), and resolves once the 101 is in. `next()` gives the next data frame
// `{rsv1, opcode, payload, text}` where `text` is the message (inflated when RSV1 is set);
// Engine.IO pings ("2") are answered with "3" and not queued.

import net from 'node:net';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { budget, withTimeout } from './timeouts.mjs';

function maskedFrame(opcode, data) {
  const payload = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len])
    : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  if (len >= 65536) throw new Error('frame too large for this helper');
  const mask = crypto.randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

export class FrameSocket {
  constructor(sock, extensions) {
    this.sock = sock;
    this.extensions = extensions; // the Sec-WebSocket-Extensions the server answered, or ''
    this.buf = Buffer.alloc(0);
    this.queue = [];
    this.waiters = [];
    this.closed = false;
    sock.on('data', (d) => this.onData(d));
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed while waiting for a frame'));
    });
    sock.on('error', () => {});
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const b0 = this.buf[0], b1 = this.buf[1];
      let len = b1 & 0x7f, off = 2;
      if (len === 126) {
        if (this.buf.length < 4) return;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) return;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      if (this.buf.length < off + len) return;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      this.onFrame({ fin: !!(b0 & 0x80), rsv1: !!(b0 & 0x40), opcode: b0 & 0x0f, payload: Buffer.from(payload) });
    }
  }

  onFrame(f) {
    if (f.opcode === 8) { this.sock.end(); return; }
    if (f.opcode === 9) { this.sock.write(maskedFrame(10, f.payload)); return; }
    if (f.opcode !== 1 && f.opcode !== 2) return;
    const raw = f.rsv1
      ? zlib.inflateRawSync(Buffer.concat([f.payload, Buffer.from([0, 0, 0xff, 0xff])]),
        { finishFlush: zlib.constants.Z_SYNC_FLUSH })
      : f.payload;
    f.text = f.opcode === 1 ? raw.toString('utf8') : null;
    if (f.text === '2') { this.send('3'); return; }
    const w = this.waiters.shift();
    if (w) w.resolve(f); else this.queue.push(f);
  }

  /** The next data frame (text or binary). */
  next(ms = budget(3000)) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closed) return Promise.reject(new Error('connection closed'));
    let waiter;
    const p = new Promise((resolve, reject) => { waiter = { resolve, reject }; this.waiters.push(waiter); });
    return withTimeout(p, ms, 'a WebSocket frame').catch((e) => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      throw e;
    });
  }

  /** The next text frame whose message starts with `prefix` (others are skipped). */
  async nextStartingWith(prefix, ms = budget(3000)) {
    const end = Date.now() + ms;
    for (;;) {
      const f = await this.next(Math.max(1, end - Date.now()));
      if (f.text !== null && f.text.startsWith(prefix)) return f;
    }
  }

  send(text) {
    this.sock.write(maskedFrame(1, text));
  }

  close() {
    this.sock.destroy();
  }
}

/** Opens a WebSocket at `url` (ws://host:port/path?query) over raw TCP. */
export function openFrames(url, { deflate = false } = {}, ms = budget(3000)) {
  const u = new URL(url);
  const p = new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port) });
    sock.once('error', reject);
    sock.once('connect', () => {
      const ext = deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n' : '';
      sock.write(`GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
        'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
        `Sec-WebSocket-Version: 13\r\n${ext}\r\n`);
    });
    let head = Buffer.alloc(0);
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const text = head.subarray(0, end).toString('latin1');
      if (!text.startsWith('HTTP/1.1 101')) {
        sock.destroy();
        reject(new Error(`handshake refused: ${text.split('\r\n')[0]}`));
        return;
      }
      const m = /^sec-websocket-extensions:\s*(.*)$/im.exec(text);
      const fs = new FrameSocket(sock, m ? m[1] : '');
      const rest = head.subarray(end + 4);
      if (rest.length) fs.onData(rest);
      resolve(fs);
    };
    sock.on('data', onData);
  });
  return withTimeout(p, ms, `WebSocket ${url}`);
}
