// Raw HTTP for Engine.IO long-polling: exact status codes and body bytes, nothing hidden.
//
// `request` sends one request and returns status, headers and the body as a Buffer and as
// text. `Polling` wraps an Engine.IO polling session (handshake, GET, POST with the sid).
// Requests share a keep-alive agent, as browsers and the official client do; concurrent
// requests get their own connections. Call `closeHttp()` in `after` so no socket lingers.

import http from 'node:http';
import { budget, withTimeout } from './timeouts.mjs';

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

export function closeHttp() {
  agent.destroy();
}

/**
 * One HTTP request. Rejects on network errors or after `timeout` ms.
 * @returns {Promise<{status:number, headers:object, body:Buffer, text:string}>}
 */
export function request(url, { method = 'GET', body, headers = {}, timeout = budget(5000), fresh = false } = {}) {
  const p = new Promise((resolve, reject) => {
    const u = new URL(url);
    const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(String(body), 'utf8');
    const h = { ...headers };
    if (payload !== undefined && h['Content-Type'] === undefined && h['content-type'] === undefined) {
      h['Content-Type'] = 'text/plain;charset=UTF-8';
    }
    if (payload !== undefined) h['Content-Length'] = payload.length;
    const req = http.request({
      host: u.hostname,
      port: u.port,
      path: u.pathname + u.search,
      method,
      headers: h,
      agent: fresh ? false : agent,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, headers: res.headers, body: buf, text: buf.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
  return withTimeout(p, timeout, `${method} ${url}`);
}

/** Parses an Engine.IO open packet `0{...}` and returns the JSON, or throws. */
export function parseOpen(text) {
  if (typeof text !== 'string' || text[0] !== '0') throw new Error(`not an open packet: ${JSON.stringify(text)}`);
  return JSON.parse(text.slice(1));
}

/** An Engine.IO long-polling session driven by hand. */
export class Polling {
  /** @param base e.g. http://127.0.0.1:3000 ; @param path e.g. /engine.io/ */
  constructor(base, path = '/engine.io/') {
    this.base = base;
    this.path = path;
    this.sid = null;
    this.open = null;
  }

  url(extra = '') {
    const sid = this.sid ? `&sid=${encodeURIComponent(this.sid)}` : '';
    return `${this.base}${this.path}?EIO=4&transport=polling${sid}${extra}`;
  }

  /** Performs the handshake; returns the raw response. */
  async handshake() {
    const res = await request(this.url());
    if (res.status !== 200) throw new Error(`handshake failed: ${res.status} ${res.text}`);
    this.open = parseOpen(res.text);
    this.sid = this.open.sid;
    return res;
  }

  get(opts = {}) {
    return request(this.url(), { ...opts, method: 'GET' });
  }

  post(body, opts = {}) {
    return request(this.url(), { ...opts, method: 'POST', body });
  }
}

/** The record separator between packets of a polling payload. */
export const SEP = '\x1e';
