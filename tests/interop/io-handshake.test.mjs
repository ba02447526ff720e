// allowRequest (decided now or later) and socket.handshake as one object, against
// $SIO_BIN_DIR/handshake and its Node twin reference/handshake-server.mjs (socket.io 4.8.1):
// every test runs on both, and what sio answers is compared with what Node answers.
//
// - a refused polling handshake: 403 {"code":4,"message":M} (M the refusal's, else
//   "Forbidden"), also when the verdict comes later, also before the protocol version check;
// - a refused WebSocket handshake: 400 Bad Request, text/html, M as the body, connection closed;
// - the official socket.io-client (websocket-only, polling-only, polling then upgrade): a
//   refusal is its connect_error, a late acceptance connects, and allowRequest is asked once
//   per session (not for the upgrade);
// - a client that leaves while the verdict is pending: the late verdict goes nowhere;
// - socket.handshake: a raw polling handshake with repeated headers and query parameters, and
//   the official client over each transport, give the same object on both servers (but for
//   what differs by nature: the port in host, the time, sec-websocket-key).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { io as ioc } from 'socket.io-client';
import { BIN_DIR, INTEROP_DIR, freePort, startServer, stopAndCheck } from './lib/server.mjs';
import { budget, sleep, nextEvent } from './lib/timeouts.mjs';

const BIN = path.join(BIN_DIR, 'handshake');
const skip = existsSync(BIN) ? false : `${BIN} is not built yet`;

const TARGETS = [
  { name: 'sio', command: BIN, args: (port) => ['--port', String(port)] },
  {
    name: 'node',
    command: process.execPath,
    args: (port) => [path.join(INTEROP_DIR, 'reference', 'handshake-server.mjs'), '--port', String(port)],
  },
];

const TRANSPORTS = [
  { name: 'websocket-only', opts: { transports: ['websocket'] } },
  { name: 'polling-only', opts: { transports: ['polling'], upgrade: false } },
  { name: 'polling then upgrade', opts: { transports: ['polling', 'websocket'] } },
];

// One raw HTTP exchange on its own connection: resolves with {status, headers, body, closed}
// once the server closed the connection (or the response is complete, with `keep`).
function raw(port, text, { destroyAfterMs } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(text, 'latin1'));
    let data = Buffer.alloc(0);
    const t = setTimeout(() => { sock.destroy(); reject(new Error(`no answer to ${text.split('\r\n')[0]}`)); }, budget(5000));
    if (destroyAfterMs !== undefined) {
      setTimeout(() => { clearTimeout(t); sock.destroy(); resolve(null); }, destroyAfterMs);
    }
    sock.on('data', (d) => { data = Buffer.concat([data, d]); });
    sock.on('error', () => {});
    sock.on('close', () => {
      clearTimeout(t);
      const s = data.toString('latin1');
      const end = s.indexOf('\r\n\r\n');
      if (end < 0) return resolve({ status: 0, headers: {}, body: '', raw: s });
      const lines = s.slice(0, end).split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) {
        const c = l.indexOf(':');
        headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
      }
      let body = Buffer.from(s.slice(end + 4), 'latin1');
      if (/chunked/i.test(headers['transfer-encoding'] || '')) {
        const parts = [];
        let b = body.toString('latin1');
        for (;;) {
          const nl = b.indexOf('\r\n');
          const n = parseInt(b.slice(0, nl), 16);
          if (!n) break;
          parts.push(b.slice(nl + 2, nl + 2 + n));
          b = b.slice(nl + 4 + n);
        }
        body = Buffer.from(parts.join(''), 'latin1');
      }
      resolve({ status: Number(lines[0].split(' ')[1]), statusLine: lines[0], headers, body: body.toString('utf8') });
    });
  });
}

const get = (port, query, extra = '') =>
  raw(port, `GET /socket.io/?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${extra}\r\n`);
const post = (port, query, body) =>
  raw(port, `POST /socket.io/?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n` +
    `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
const upgrade = (port, query, opts) =>
  raw(port, `GET /socket.io/?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\n` +
    'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n', opts);

// What differs between two servers by nature: the port in host, when, the WebSocket key.
function comparable(hs) {
  const h = { ...hs, headers: { ...hs.headers }, query: { ...hs.query } };
  h.headers.host = h.headers.host?.replace(/:\d+$/, ':PORT');
  delete h.headers['sec-websocket-key'];
  delete h.time;
  delete h.issued;
  delete h.query.t;
  h.url = h.url?.replace(/&t=[^&]*/, '');
  return h;
}

function checkTimes(hs, before, afterMs) {
  assert.equal(typeof hs.issued, 'number');
  assert.ok(hs.issued >= before - 1000 && hs.issued <= afterMs + 1000, `issued ${hs.issued}`);
  assert.match(hs.time, /^[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4} \(.+\)$/);
  assert.equal(Date.parse(hs.time), Math.floor(hs.issued / 1000) * 1000, `${hs.time} vs ${hs.issued}`);
}

describe('allowRequest and socket.handshake (examples/handshake vs Node socket.io 4.8)', { skip }, () => {
  const servers = {};
  const clients = [];

  before(async () => {
    for (const t of TARGETS) {
      const port = await freePort();
      servers[t.name] = await startServer({ command: t.command, args: t.args(port), port });
    }
  });

  after(async () => {
    for (const c of clients) c.disconnect();
    for (const t of TARGETS) await stopAndCheck(servers[t.name]);
  });

  // A raw polling session that connected to "/" and asked "handshake": the ack's object.
  async function rawHandshake(port, query, extra) {
    const open = await get(port, `EIO=4&transport=polling${query}`, extra);
    assert.equal(open.status, 200, open.body);
    const sid = JSON.parse(open.body.slice(1)).sid;
    const q = `EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    assert.equal((await post(port, q, '40')).body, 'ok');
    const connected = await get(port, q);
    assert.match(connected.body, /^40\{"sid"/);
    assert.equal((await post(port, q, '421["handshake"]')).body, 'ok');
    const end = Date.now() + budget(3000);
    while (Date.now() < end) {
      const r = await get(port, q);
      const ack = r.body.split('\x1e').find((p) => p.startsWith('431['));
      if (ack) {
        await post(port, q, '1');
        return JSON.parse(ack.slice(3))[0];
      }
      if (r.body === '2') await post(port, q, '3');
    }
    throw new Error('no handshake ack');
  }

  for (const target of TARGETS) {
    describe(target.name, () => {
      const port = () => servers[target.name].port;
      const url = () => servers[target.name].url;

      test('polling handshake refused: 403 {"code":4,"message":M}, "Forbidden" without one', async () => {
        for (const [q, message] of [['deny=no%20entry', 'no entry'], ['deny=', 'Forbidden'], ['deny=%22q%22', '"q"']]) {
          const r = await get(port(), `EIO=4&transport=polling&${q}`);
          assert.equal(r.status, 403);
          assert.match(r.headers['content-type'], /^application\/json/);
          assert.deepEqual(JSON.parse(r.body), { code: 4, message });
        }
      });

      test('polling handshake refused later (100 ms): the same answer, after the wait', async () => {
        const t0 = Date.now();
        const r = await get(port(), 'EIO=4&transport=polling&deny=late&delay=100');
        assert.ok(Date.now() - t0 >= 90, `answered after ${Date.now() - t0} ms`);
        assert.equal(r.status, 403);
        assert.deepEqual(JSON.parse(r.body), { code: 4, message: 'late' });
      });

      test('allowRequest comes before the protocol version check; accepted, the version still counts', async () => {
        const refused = await get(port(), 'EIO=3&transport=polling&deny=x');
        assert.equal(refused.status, 403);
        assert.deepEqual(JSON.parse(refused.body), { code: 4, message: 'x' });
        const old = await get(port(), 'EIO=3&transport=polling&delay=20');
        assert.equal(old.status, 400);
        assert.deepEqual(JSON.parse(old.body), { code: 5, message: 'Unsupported protocol version' });
      });

      test('websocket handshake refused (now and later): 400 Bad Request, text/html, the message, closed', async () => {
        for (const [q, message] of [['deny=go%20away', 'go away'], ['deny=', 'Forbidden'], ['deny=late&delay=80', 'late']]) {
          const r = await upgrade(port(), `EIO=4&transport=websocket&${q}`);
          assert.equal(r.statusLine, 'HTTP/1.1 400 Bad Request');
          assert.match(r.headers['content-type'], /^text\/html/);
          assert.equal(r.body, message);
        }
        // an accepted request of a protocol version not served: sio refuses it before the 101
        // with the same answer; Node's engine.io checks the version after the WebSocket
        // handshake (101, then the 400 text written over the upgraded socket)
        const old = await upgrade(port(), 'EIO=3&transport=websocket&delay=10');
        if (target.name === 'sio') {
          assert.equal(old.statusLine, 'HTTP/1.1 400 Bad Request');
          assert.equal(old.body, 'Unsupported protocol version');
        } else {
          assert.match(old.raw ?? `${old.statusLine}\r\n`, /HTTP\/1.1 101/);
        }
      });

      test('a client that leaves while the verdict is pending: the late verdict goes nowhere', async () => {
        await get(port(), 'EIO=4&transport=polling&delay=150', '').catch(() => {});
        await raw(port(), `GET /socket.io/?EIO=4&transport=polling&delay=150 HTTP/1.1\r\nHost: x\r\n\r\n`, { destroyAfterMs: 30 });
        await raw(port(), `GET /socket.io/?EIO=4&transport=polling&delay=150&deny=x HTTP/1.1\r\nHost: x\r\n\r\n`, { destroyAfterMs: 30 });
        await upgrade(port(), 'EIO=4&transport=websocket&delay=150', { destroyAfterMs: 30 });
        await upgrade(port(), 'EIO=4&transport=websocket&delay=150&deny=x', { destroyAfterMs: 30 });
        await sleep(250);
        const r = await get(port(), 'EIO=4&transport=polling');
        assert.equal(r.status, 200);
        assert.ok(servers[target.name].alive(), servers[target.name].crashReport() ?? 'server died');
      });

      for (const transport of TRANSPORTS) {
        describe(`official client, ${transport.name}`, () => {
          test('a refusal is connect_error; a late acceptance connects', async () => {
            const c = ioc(url(), { ...transport.opts, reconnection: false, forceNew: true, query: { deny: 'nope' } });
            clients.push(c);
            const [err] = await nextEvent(c, 'connect_error');
            if (transport.opts.transports[0] === 'polling') {
              assert.equal(err.message, 'xhr poll error');
              assert.equal(err.description, 403);
            } else {
              assert.equal(err.message, 'websocket error');
              assert.match(String(err.description?.message ?? err.description), /400/);
            }
            const t0 = Date.now();
            const ok = ioc(url(), { ...transport.opts, reconnection: false, forceNew: true, query: { delay: '120' } });
            clients.push(ok);
            await nextEvent(ok, 'connect');
            assert.ok(Date.now() - t0 >= 110, `connected after ${Date.now() - t0} ms`);
            ok.disconnect();
          });

          test('allowRequest is asked once per session (an upgrade is not asked)', async () => {
            const c = ioc(url(), { ...transport.opts, reconnection: false, forceNew: true });
            clients.push(c);
            await nextEvent(c, 'connect');
            const before = await c.emitWithAck('allow-count');
            const d = ioc(url(), { ...transport.opts, reconnection: false, forceNew: true });
            clients.push(d);
            await nextEvent(d, 'connect');
            if (transport.opts.transports.length === 2 && d.io.engine.transport.name !== 'websocket')
              await nextEvent(d.io.engine, 'upgrade');
            assert.equal(d.io.engine.transport.name, transport.opts.transports.length === 2 ? 'websocket' : transport.opts.transports[0]);
            assert.equal(await d.emitWithAck('allow-count'), before + 1);
            c.disconnect();
            d.disconnect();
          });
        });
      }
    });
  }

  describe('socket.handshake: sio answers as Node does', () => {
    test('a raw polling handshake with repeated headers and query parameters', async () => {
      const extra = 'X-Multi: a\r\nx-multi: b\r\nCookie: c=1\r\nCookie: d=2\r\nUser-Agent: one\r\nUser-Agent: two\r\n' +
        'Set-Cookie: s=1\r\nX-Latin: caf\xc3\xa9\r\n42: n\r\n7: m\r\nOrigin: http://o.test\r\nAccept:  */* \r\n';
      const query = '&b=1&a=x&a=y&a=z&9=n&3=m&empty&sp=a+b%20c&enc=%C3%A9&bad=%E9&=e&&plus=%2B&pct=%zz';
      const got = {};
      for (const t of TARGETS) {
        const before = Date.now();
        const hs = await rawHandshake(servers[t.name].port, query, extra);
        checkTimes(hs, before, Date.now());
        got[t.name] = hs;
      }
      assert.equal(got.sio.xdomain, true);
      assert.deepEqual(got.sio.headers['set-cookie'], ['s=1']);
      assert.deepEqual(got.sio.query.a, ['x', 'y', 'z']);
      assert.deepEqual(Object.keys(got.sio.query).slice(0, 2), ['3', '9']);
      assert.deepEqual(comparable(got.sio), comparable(got.node));
    });

    for (const transport of TRANSPORTS) {
      test(`official client, ${transport.name}: the same object, on "/" and "/other"; text form and time agree`, async () => {
        const got = {};
        for (const t of TARGETS) {
          const opts = {
            ...transport.opts, reconnection: false, forceNew: true,
            query: { token: 'abc', list: 'x' }, auth: { user: 'ann', n: 1e21, nested: { k: [1, 'é'] } },
            extraHeaders: { 'x-test': 'yes', origin: 'http://app.test' },
          };
          const before = Date.now();
          const c = ioc(servers[t.name].url, opts);
          clients.push(c);
          await nextEvent(c, 'connect');
          if (transport.opts.transports.length === 2 && c.io.engine.transport.name !== 'websocket')
            await nextEvent(c.io.engine, 'upgrade');
          const hs = await c.emitWithAck('handshake');
          checkTimes(hs, before, Date.now());
          const { text, time, xdomain } = await c.emitWithAck('handshake-text');
          assert.deepEqual(JSON.parse(text), hs);
          assert.equal(time, hs.time);
          assert.equal(xdomain, true);
          const other = c.io.socket('/other', { auth: { other: true } });
          await nextEvent(other, 'connect');
          const hso = await other.emitWithAck('handshake');
          assert.ok(hso.issued >= hs.issued);
          assert.deepEqual(hso.auth, { other: true });
          got[t.name] = [hs, hso];
          c.disconnect();
        }
        assert.deepEqual(got.sio.map(comparable), got.node.map(comparable));
      });
    }
  });
});
