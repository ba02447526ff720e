// Raw WebSocket for Engine.IO / Socket.IO: every frame as it arrives (text or binary),
// the close code, and nothing in between. Built on npm `ws`.
//
// `connectWs(url)` returns at once; `await sock.opened` for the handshake, `sock.next()`
// for the next frame (queued, so none is missed), `sock.closed` resolves with the close
// (also when the server refuses the handshake: code 1006).

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { budget, withTimeout } from './timeouts.mjs';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../package.json'));
const WebSocket = require('ws');

export class RawWs {
  constructor(url, options = {}) {
    this.url = url;
    this.queue = [];
    this.waiters = [];
    this.isClosed = false;
    this.closeInfo = null;
    this.error = null;
    // When set, Engine.IO pings (text "2") are answered with "3" and not queued.
    this.autoPong = !!options.autoPong;
    this.pings = 0;
    const { autoPong, ...wsOptions } = options;
    this.ws = new WebSocket(url, { perMessageDeflate: false, ...wsOptions });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('close', () => reject(new Error(`WebSocket ${url} closed before opening` +
        (this.error ? `: ${this.error.message}` : ''))));
    });
    this.opened.catch(() => {});
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.isClosed = true;
        this.closeInfo = { code, reason: reason.toString('utf8') };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) w.reject(new Error(`WebSocket closed (code ${code}) while waiting for a message`));
      });
    });
    this.ws.on('error', (err) => { this.error = err; });
    this.ws.on('message', (data, isBinary) => {
      const msg = isBinary ? { binary: true, data: Buffer.from(data) } : { binary: false, data: data.toString('utf8') };
      if (this.autoPong && !isBinary && msg.data === '2') {
        this.pings++;
        this.ws.send('3');
        return;
      }
      const w = this.waiters.shift();
      if (w) w.resolve(msg); else this.queue.push(msg);
    });
  }

  /** The next frame: `{binary, data}` (data is a string for text, a Buffer for binary). */
  next(ms = budget(3000)) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.isClosed) return Promise.reject(new Error(`WebSocket closed (code ${this.closeInfo.code}) while waiting for a message`));
    let waiter;
    const p = new Promise((resolve, reject) => { waiter = { resolve, reject }; this.waiters.push(waiter); });
    return withTimeout(p, ms, 'a WebSocket message').catch((e) => {
      // Forget the waiter so a later frame is not lost to it.
      this.waiters = this.waiters.filter((w) => w !== waiter);
      throw e;
    });
  }

  /** The next frame, which must be text; returns the string. */
  async nextText(ms) {
    const m = await this.next(ms);
    if (m.binary) throw new Error(`expected a text frame, got binary ${m.data.toString('hex')}`);
    return m.data;
  }

  /** The next frame, which must be binary; returns the Buffer. */
  async nextBinary(ms) {
    const m = await this.next(ms);
    if (!m.binary) throw new Error(`expected a binary frame, got text ${JSON.stringify(m.data)}`);
    return m.data;
  }

  /** Resolves with the frames received during `ms` (and takes them out of the queue). */
  async drain(ms) {
    await new Promise((r) => setTimeout(r, ms));
    return this.queue.splice(0);
  }

  /** Text is sent as a text frame; a Buffer/Uint8Array as a binary frame. */
  send(data) {
    this.ws.send(data, { binary: typeof data !== 'string' });
  }

  /** Waits for the server to close (or refuse) the connection. */
  waitClosed(ms = budget(3000)) {
    return withTimeout(this.closed, ms, 'the server to close the WebSocket');
  }

  /** Ends the connection from our side, without waiting. */
  terminate() {
    try { this.ws.terminate(); } catch { /* already gone */ }
  }
}

export function connectWs(url, options) {
  return new RawWs(url, options);
}

/** Connects and waits for the WebSocket handshake. */
export async function openWs(url, options, ms = budget(3000)) {
  const s = new RawWs(url, options);
  await withTimeout(s.opened, ms, `WebSocket ${url} to open`);
  return s;
}
