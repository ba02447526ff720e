// Interop tests for the HTTP layer: drive build/bin/httptest (and weather) with Node's fetch,
// raw sockets (for byte-exact framing, pipelining, malformed input, timeouts) and curl.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';

const BIN = process.env.SIO_BIN_DIR || path.resolve('build/bin');
const SLOW = process.env.SIO_SANITIZE === '1' || process.env.SIO_SANITIZE === 'ON';
const T = SLOW ? 3 : 1; // time scale under sanitizers

const procs = new Set();
function startServer(name, args = [], env = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(path.join(BIN, name), ['--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    procs.add(proc);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 10000 * T);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/[^:]+:(\d+)\//);
      if (m) { clearTimeout(timer); resolve({ proc, port: Number(m[1]), url: `http://127.0.0.1:${m[1]}` }); }
    });
    proc.stderr.on('data', (d) => { out += d; });
    proc.on('exit', (code) => { procs.delete(proc); clearTimeout(timer); if (!out.includes('http://')) reject(new Error(`${name} exited ${code}: ${out}`)); });
  });
}
function stop(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}
process.on('exit', () => { for (const p of procs) try { p.kill('SIGKILL'); } catch {} });

// Sends raw bytes; resolves with everything received until the server closes or `ms` pass.
function raw(port, chunks, { ms = 1500 * T, gap = 0, half = false } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let closed = false;
    const done = () => { clearTimeout(t); s.destroy(); resolve({ text: buf.toString('latin1'), buf, closed }); };
    const t = setTimeout(done, ms);
    s.on('data', (d) => { buf = Buffer.concat([buf, d]); });
    s.on('end', () => { closed = true; });
    s.on('close', () => { closed = true; done(); });
    s.on('error', () => { closed = true; done(); });
    s.on('connect', async () => {
      for (const c of [].concat(chunks)) {
        s.write(c);
        if (gap) await new Promise((r) => setTimeout(r, gap));
      }
      if (half) s.end();
    });
  });
}
const statusOf = (text) => Number((text.match(/^HTTP\/1\.1 (\d{3})/) || [])[1]);
const count = (text, re) => (text.match(re) || []).length;

let srv, root, outside, views;
before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-http-root-'));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-http-out-'));
  fs.writeFileSync(path.join(root, 'index.html'), '<h1>root index</h1>\n');
  fs.mkdirSync(path.join(root, 'dir'));
  fs.writeFileSync(path.join(root, 'dir', 'index.html'), '<p>dir index</p>\n');
  fs.writeFileSync(path.join(root, 'style.css'), 'body { color: red; }\n'.repeat(200));
  fs.writeFileSync(path.join(root, 'hello.txt'), 'Hello, range world!\n');
  fs.writeFileSync(path.join(root, '.secret'), 'hidden');
  fs.writeFileSync(path.join(root, 'big.bin'), crypto.randomBytes(5 * 1024 * 1024 + 123));
  fs.writeFileSync(path.join(root, 'big.txt'), 'abcdefghij\n'.repeat(300000));
  fs.writeFileSync(path.join(outside, 'passwd'), 'secret outside');
  fs.symlinkSync(path.join(outside, 'passwd'), path.join(root, 'escape.txt'));
  fs.symlinkSync(outside, path.join(root, 'escdir'));
  views = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-http-views-'));
  fs.writeFileSync(path.join(views, 'page.mustache'), '<h1>{{title}}</h1>{{{title}}}<ul>{{#cities}}<li>{{name}}</li>{{/cities}}</ul>{{^warn}}calm{{/warn}}{{> foot}}');
  fs.writeFileSync(path.join(views, 'foot.mustache'), '<footer>ok</footer>');
  fs.writeFileSync(path.join(views, 'broken.mustache'), '{{#open}} never closed');
  srv = await startServer('httptest', ['--root', root, '--max-body', '65536', '--views', views]);
});
after(async () => {
  if (srv) await stop(srv.proc);
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
  fs.rmSync(views, { recursive: true, force: true });
});

describe('routing and responses', () => {
  test('GET / answers text with Date and keep-alive', async () => {
    const r = await fetch(`${srv.url}/`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), 'hello');
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    assert.match(r.headers.get('date'), /GMT$/);
  });
  test(':params and percent-decoding', async () => {
    const r = await fetch(`${srv.url}/api/cities/s%C3%A3o%20paulo`);
    assert.deepEqual(await r.json(), { id: 'são paulo' });
  });
  test('query strings are percent-decoded, + is a space', async () => {
    const r = await fetch(`${srv.url}/query?q=a%20b+c&x=%E2%9C%93&q=second`);
    assert.deepEqual(await r.json(), { q: 'a b c', x: '✓', path: '/query' });
  });
  test('404 page as HTML, or JSON when preferred', async () => {
    let r = await fetch(`${srv.url}/nope`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /Cannot GET \/nope/);
    r = await fetch(`${srv.url}/nope`, { headers: { accept: 'application/json' } });
    assert.equal(r.status, 404);
    assert.equal((await r.json()).status, 404);
  });
  test('405 with Allow when only other methods match; OPTIONS answers 204 with Allow', async () => {
    let r = await fetch(`${srv.url}/api/cities/1`, { method: 'POST' });
    assert.equal(r.status, 405);
    const allow = r.headers.get('allow').split(/,\s*/).sort();
    assert.deepEqual(allow, ['DELETE', 'GET', 'HEAD']);
    r = await fetch(`${srv.url}/api/cities/1`, { method: 'OPTIONS' });
    assert.equal(r.status, 204);
    assert.match(r.headers.get('allow'), /GET/);
    r = await fetch(`${srv.url}/api/cities/1`, { method: 'DELETE' });
    assert.equal(r.status, 200);
  });
  test('HEAD gets the headers of GET without a body', async () => {
    const { text } = await raw(srv.port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(text), 200);
    assert.match(text, /Content-Length: 5\r\n/);
    assert.ok(text.endsWith('\r\n\r\n'), 'no body after the head');
  });
  test('mounted router sees relative paths; middleware under a prefix; wildcard', async () => {
    assert.deepEqual(await (await fetch(`${srv.url}/api/v2/items/7`)).json(), { n: '7', path: '/items/7' });
    const r = await fetch(`${srv.url}/mw/x`);
    assert.equal(r.headers.get('x-middleware'), 'ran');
    assert.equal(await (await fetch(`${srv.url}/wild/a/b/c`)).text(), 'a/b/c');
    assert.equal((await fetch(`${srv.url}/api/v2/nothing`)).status, 404);
    assert.equal(await (await fetch(`${srv.url}/opt/5`)).text(), '5');
    assert.equal(await (await fetch(`${srv.url}/opt`)).text(), '(none)');
    assert.equal(await (await fetch(`${srv.url}/opt/`)).text(), '(none)');
    assert.equal((await fetch(`${srv.url}/opt/5/6`)).status, 404);
  });
  test('intercepts run before the router and may fall through', async () => {
    assert.equal(await (await fetch(`${srv.url}/intercepted/x`)).text(), 'intercepted');
    assert.equal(await (await fetch(`${srv.url}/intercepted/x?pass=1`)).text(), 'router');
  });
  test('templates render through sio_res_render; errors give 500', async () => {
    const r = await fetch(`${srv.url}/render/page`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.equal(await r.text(), '<h1>&lt;Storms&gt;</h1><Storms><ul><li>Oslo</li><li>Lima</li></ul>calm<footer>ok</footer>');
    assert.equal((await fetch(`${srv.url}/render/missing`)).status, 500);
    assert.equal((await fetch(`${srv.url}/render/broken`)).status, 500);
  });
  test('async handler answers later', async () => {
    const r = await fetch(`${srv.url}/async?ms=30`);
    assert.deepEqual(await r.json(), { async: true });
  });
  test('redirect, send_status, error handler page', async () => {
    let r = await fetch(`${srv.url}/redirect`, { redirect: 'manual' });
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/');
    r = await fetch(`${srv.url}/teapot`);
    assert.equal(r.status, 418);
    r = await fetch(`${srv.url}/fail`);
    assert.equal(r.status, 500);
    assert.match(await r.text(), /something broke/);
  });
  test('streamed response is chunked on HTTP/1.1, close-delimited on HTTP/1.0', async () => {
    let { text } = await raw(srv.port, 'GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(text, /Transfer-Encoding: chunked\r\n/);
    assert.match(text, /\r\n7\r\nline 0\n\r\n/);
    assert.ok(text.endsWith('0\r\n\r\n'));
    ({ text } = await raw(srv.port, 'GET /stream HTTP/1.0\r\n\r\n'));
    assert.doesNotMatch(text, /chunked/);
    assert.ok(text.endsWith('line 4\n'));
  });
  test('cookies are read and set', async () => {
    const r = await fetch(`${srv.url}/cookie`, { headers: { cookie: 'x=1; a=hello%20there; b="q"' } });
    assert.equal(await r.text(), 'hello there');
    const sc = r.headers.get('set-cookie');
    assert.match(sc, /^seen=yes%20%26%20more; Path=\/; Max-Age=60; Expires=.+GMT; HttpOnly; SameSite=Lax$/);
  });
  test('trust proxy: X-Forwarded-For gives the client address', async () => {
    assert.equal(await (await fetch(`${srv.url}/ip`, { headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'x-forwarded-proto': 'https' } })).text(), 'https 203.0.113.9');
    assert.match(await (await fetch(`${srv.url}/ip`)).text(), /^http .*127\.0\.0\.1/);
  });
  test('CORS: preflight 204 for an allowed origin, nothing for others', async () => {
    let r = await fetch(`${srv.url}/cors/data`, { method: 'OPTIONS', headers: { origin: 'http://b.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-a' } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://b.example');
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(r.headers.get('access-control-allow-headers'), 'x-a');
    assert.equal(r.headers.get('access-control-max-age'), '600');
    assert.match(r.headers.get('access-control-allow-methods'), /PUT/);
    r = await fetch(`${srv.url}/cors/data`, { headers: { origin: 'http://evil.example' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), null);
    r = await fetch(`${srv.url}/cors/data`, { headers: { origin: 'http://a.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://a.example');
  });
});

describe('bodies', () => {
  test('echo a Content-Length body (fetch) and a chunked body (raw)', async () => {
    const r = await fetch(`${srv.url}/echo`, { method: 'POST', body: 'ping' });
    assert.equal(await r.text(), 'ping');
    const { text } = await raw(srv.port, ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n', '3\r\nabc\r\n', '4;x=y\r\ndefg\r\n0\r\nT: 1\r\n\r\n'], { gap: 20 });
    assert.equal(statusOf(text), 200);
    assert.ok(text.endsWith('\r\n\r\nabcdefg'));
  });
  test('Expect: 100-continue gets 100 before the body is sent', async () => {
    const got = await new Promise((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1');
      let buf = '';
      let sent = false;
      s.on('data', (d) => {
        buf += d;
        if (!sent && buf.includes('HTTP/1.1 100 Continue\r\n\r\n')) { sent = true; s.write('hello'); }
      });
      s.on('close', () => resolve(buf));
      s.write('POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n');
    });
    assert.match(got, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.ok(got.endsWith('hello'));
  });
  test('JSON body parser: echo, 400 on bad JSON, 413 past its limit', async () => {
    let r = await fetch(`${srv.url}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2,{"b":null}]}' });
    assert.deepEqual(await r.json(), { a: [1, 2, { b: null }] });
    r = await fetch(`${srv.url}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /Invalid JSON/);
    r = await fetch(`${srv.url}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ s: 'x'.repeat(2000) }) });
    assert.equal(r.status, 413);
  });
  test('urlencoded body parser', async () => {
    const r = await fetch(`${srv.url}/form`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&name=J%C3%BCrgen+M' });
    assert.equal(await r.text(), 'Jürgen M');
  });
  test('413 when Content-Length exceeds the server limit', async () => {
    const { text, closed } = await raw(srv.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n');
    assert.equal(statusOf(text), 413);
    assert.ok(closed);
  });
  test('413 when a chunked body grows past the limit', async () => {
    const big = 'a'.repeat(40000);
    const chunk = `${big.length.toString(16)}\r\n${big}\r\n`;
    const { text } = await raw(srv.port, ['PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', chunk, chunk], { gap: 20 });
    assert.equal(statusOf(text), 413);
  });
});

describe('protocol errors answer with the right status and a reason', () => {
  const cases = [
    ['bad request line', 'GET /\r\nHost: x\r\n\r\n', 400, /Missing HTTP version/],
    ['bad method', 'G(T / HTTP/1.1\r\nHost: x\r\n\r\n', 400, /method/],
    ['missing Host', 'GET / HTTP/1.1\r\n\r\n', 400, /Host/],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n', 400, /folding/],
    ['space before colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400, /header field name/],
    ['CTL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nA: \x01\r\n\r\n', 400, /header field value/],
    ['CL and TE', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /Content-Length and Transfer-Encoding/],
    ['differing CL', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400, /Conflicting/],
    ['unknown transfer-coding', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501, /transfer-coding/],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505, /version/],
    ['request line too long', `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, /too long/],
    ['header block too large', `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(17000)}\r\n\r\n`, 431, /too large/],
    ['bad chunk size', 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, /chunk size/],
  ];
  for (const [name, req, status, reason] of cases) {
    test(`${status}: ${name}`, async () => {
      const { text, closed } = await raw(srv.port, req);
      assert.equal(statusOf(text), status, text.slice(0, 200));
      assert.match(text, reason);
      assert.match(text, /Connection: close/);
      assert.ok(closed, 'connection closed after the error');
    });
  }
  test('the server survives garbage and answers the next client', async () => {
    await raw(srv.port, crypto.randomBytes(5000), { ms: 300 });
    assert.equal((await fetch(`${srv.url}/`)).status, 200);
  });
});

describe('connections', () => {
  test('pipelined requests are answered in order, also around an async one', async () => {
    const { text } = await raw(srv.port,
      'GET /async?ms=50 HTTP/1.1\r\nHost: x\r\n\r\nGET /api/cities/2 HTTP/1.1\r\nHost: x\r\n\r\n' +
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /api/cities/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(count(text, /HTTP\/1\.1 200 OK/g), 4);
    const a = text.indexOf('{"async":true}'), b = text.indexOf('{"id":"2"}'), c = text.indexOf('abc'), d = text.indexOf('{"id":"4"}');
    assert.ok(a > 0 && a < b && b < c && c < d, text);
  });
  test('a deep pipeline through an async route (reading pauses and resumes) stays in order', async () => {
    let req = '';
    for (let i = 0; i < 400; i++) req += `GET /api/cities/${i} HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(300)}\r\n\r\nGET /async?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n`;
    req += 'GET /api/cities/end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const { text, closed } = await raw(srv.port, req, { ms: 20000 * T });
    assert.ok(closed);
    assert.equal(count(text, /HTTP\/1\.1 200 OK/g), 801);
    const ids = [...text.matchAll(/\{"id":"([^"]+)"\}/g)].map((m) => m[1]);
    assert.deepEqual(ids, [...Array(400).keys()].map(String).concat(['end']));
  });
  test('Range: If-Range that does not match and several ranges give the whole file', async () => {
    let r = await fetch(`${srv.url}/static/hello.txt`, { headers: { range: 'bytes=0-4', 'if-range': '"stale"' } });
    assert.equal(r.status, 200);
    assert.equal((await r.text()).length, 20);
    r = await fetch(`${srv.url}/static/hello.txt`, { headers: { range: 'bytes=0-1,3-4' } });
    assert.equal(r.status, 200);
    const etag = (await fetch(`${srv.url}/static/hello.txt`)).headers.get('etag');
    r = await fetch(`${srv.url}/static/hello.txt`, { headers: { range: 'bytes=0-4', 'if-range': etag } });
    assert.equal(r.status, 206);
  });
  test('pipelined requests split byte by byte', async () => {
    const req = 'GET /api/cities/x HTTP/1.1\r\nHost: x\r\n\r\nGET /api/cities/y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const { text } = await raw(srv.port, [...req].map((c) => c), { gap: 1, ms: 5000 * T });
    assert.equal(count(text, /HTTP\/1\.1 200 OK/g), 2);
    assert.ok(text.indexOf('"x"') < text.indexOf('"y"'));
  });
  test('keep-alive on HTTP/1.1, close on HTTP/1.0 unless asked', async () => {
    let r = await raw(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 300 });
    assert.equal(r.closed, false);
    r = await raw(srv.port, 'GET / HTTP/1.0\r\n\r\n');
    assert.equal(r.closed, true);
    assert.match(r.text, /Connection: close/);
    r = await raw(srv.port, 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', { ms: 300 });
    assert.equal(r.closed, false);
    assert.match(r.text, /Connection: keep-alive/);
    r = await raw(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.equal(r.closed, true);
  });
  test('a half-closed client still gets its answer', async () => {
    const r = await raw(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { half: true });
    assert.equal(statusOf(r.text), 200);
    assert.ok(r.closed);
  });
  test('an async handler answering after its client left is harmless', async () => {
    await raw(srv.port, 'GET /async-blind?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 50 });
    await raw(srv.port, 'GET /async-blind?ms=150 HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 50 });
    await new Promise((r) => setTimeout(r, 300 * T));
    assert.deepEqual(await (await fetch(`${srv.url}/async-blind?ms=1`)).json(), { blind: true });
  });
  test('sio_res_on_close fires when the client goes away', async () => {
    const before = (await (await fetch(`${srv.url}/closed-count`)).json()).closed;
    await raw(srv.port, 'GET /async?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 100 });
    await new Promise((r) => setTimeout(r, 100 * T));
    const now = (await (await fetch(`${srv.url}/closed-count`)).json()).closed;
    assert.equal(now, before + 1);
  });
});

describe('static files', () => {
  test('index.html for / and directories; /dir redirects to /dir/', async () => {
    assert.equal(await (await fetch(`${srv.url}/static/`)).text(), '<h1>root index</h1>\n');
    const r = await fetch(`${srv.url}/static/dir?x=1`, { redirect: 'manual' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.get('location'), '/static/dir/?x=1');
    assert.equal(await (await fetch(`${srv.url}/static/dir/`)).text(), '<p>dir index</p>\n');
  });
  test('MIME types, ETag/If-None-Match and Last-Modified/If-Modified-Since give 304', async () => {
    const r = await fetch(`${srv.url}/static/hello.txt`);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    const etag = r.headers.get('etag'), lm = r.headers.get('last-modified');
    assert.ok(etag && lm);
    let r2 = await fetch(`${srv.url}/static/hello.txt`, { headers: { 'if-none-match': etag } });
    assert.equal(r2.status, 304);
    assert.equal(await r2.text(), '');
    r2 = await fetch(`${srv.url}/static/hello.txt`, { headers: { 'if-modified-since': lm } });
    assert.equal(r2.status, 304);
    r2 = await fetch(`${srv.url}/static/hello.txt`, { headers: { 'if-modified-since': 'Sat, 01 Jan 2000 00:00:00 GMT' } });
    assert.equal(r2.status, 200);
    r2 = await fetch(`${srv.url}/static/hello.txt`, { headers: { 'if-none-match': '"other"', 'if-modified-since': lm } });
    assert.equal(r2.status, 200, 'If-None-Match takes precedence');
  });
  test('Range: 206, suffix range, 416', async () => {
    let r = await fetch(`${srv.url}/static/hello.txt`, { headers: { range: 'bytes=0-4' } });
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-range'), 'bytes 0-4/20');
    assert.equal(await r.text(), 'Hello');
    r = await fetch(`${srv.url}/static/hello.txt`, { headers: { range: 'bytes=-6' } });
    assert.equal(await r.text(), 'world!\n'.slice(0, 6) === 'world!' ? 'world!\n'.slice(-6) : '');
    r = await fetch(`${srv.url}/static/hello.txt`, { headers: { range: 'bytes=100-' } });
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), 'bytes */20');
  });
  test('gzip for compressible types when accepted; not for binaries', async () => {
    const { buf } = await raw(srv.port, 'GET /static/style.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n');
    const head = buf.subarray(0, buf.indexOf('\r\n\r\n')).toString();
    assert.match(head, /Content-Encoding: gzip/);
    assert.match(head, /Vary: Accept-Encoding/);
    const r = await fetch(`${srv.url}/static/style.css`); // fetch asks for gzip and inflates
    assert.equal(r.headers.get('content-encoding'), 'gzip');
    assert.equal(await r.text(), 'body { color: red; }\n'.repeat(200));
    const r2 = await fetch(`${srv.url}/static/big.bin`, { method: 'HEAD' });
    assert.equal(r2.headers.get('content-encoding'), null);
    assert.equal(r2.headers.get('content-length'), String(5 * 1024 * 1024 + 123));
  });
  test('large files stream whole and intact (plain and gzipped)', async () => {
    const want = crypto.createHash('sha256').update(fs.readFileSync(path.join(root, 'big.bin'))).digest('hex');
    const r = await fetch(`${srv.url}/static/big.bin`);
    const got = crypto.createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex');
    assert.equal(got, want);
    const t = await (await fetch(`${srv.url}/static/big.txt`)).text();
    assert.equal(t.length, 11 * 300000);
  });
  test('a changed file is served fresh (the small-file cache checks stat)', async () => {
    const f = path.join(root, 'changing.txt');
    fs.writeFileSync(f, 'first version');
    assert.equal(await (await fetch(`${srv.url}/static/changing.txt`)).text(), 'first version');
    assert.equal(await (await fetch(`${srv.url}/static/changing.txt`)).text(), 'first version');
    fs.writeFileSync(f, 'second, longer version');
    assert.equal(await (await fetch(`${srv.url}/static/changing.txt`)).text(), 'second, longer version');
    fs.unlinkSync(f);
    assert.equal((await fetch(`${srv.url}/static/changing.txt`)).status, 404);
  });
  test('cached small files: gzip, Range and HEAD', async () => {
    for (let i = 0; i < 2; i++) { // the second round is served from memory
      const r = await fetch(`${srv.url}/static/style.css`);
      assert.equal(r.headers.get('content-encoding'), 'gzip');
      assert.equal(await r.text(), 'body { color: red; }\n'.repeat(200));
      const g = await raw(srv.port, 'GET /static/style.css HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n');
      const body = g.buf.subarray(g.buf.indexOf('\r\n\r\n') + 4);
      assert.equal(zlib.gunzipSync(body).toString(), 'body { color: red; }\n'.repeat(200));
      const rr = await fetch(`${srv.url}/static/hello.txt`, { headers: { range: 'bytes=7-11' } });
      assert.equal(rr.status, 206);
      assert.equal(await rr.text(), 'range');
      const h = await raw(srv.port, 'HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match(h.text, /Content-Length: 20\r\n/);
      assert.ok(h.text.endsWith('\r\n\r\n'));
    }
  });
  test('a slow reader gets a large file whole (the stream waits for the socket to drain)', async () => {
    const size = 5 * 1024 * 1024 + 123;
    const got = await new Promise((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1');
      let n = 0, paused = false;
      s.on('data', (d) => {
        n += d.length;
        if (!paused) { paused = true; s.pause(); setTimeout(() => s.resume(), 500 * T); }
      });
      s.on('close', () => resolve(n));
      s.write('GET /static/big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    assert.ok(got > size && got < size + 1000, `received ${got}`);
  });
  test('no escape from the root: .., %2e%2e, %2f, NUL, symlinks, dotfiles', async () => {
    const st = async (p) => statusOf((await raw(srv.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).text);
    assert.equal(await st('/static/../index.html'), 403);
    assert.equal(await st('/static/dir/../../x'), 403);
    assert.equal(await st('/static/%2e%2e/x'), 403);
    assert.equal(await st('/static/%2E%2E%2Fetc%2Fpasswd'), 403);
    assert.equal(await st('/static/dir%2findex.html'), 403);
    assert.equal(await st('/static/hello.txt%00.html'), 403);
    assert.equal(await st('/static/escape.txt'), 404);
    assert.equal(await st('/static/escdir/passwd'), 404);
    assert.equal(await st('/static/.secret'), 404);
    assert.equal(await st('/static/nothing-here'), 404);
  });
  test('sio_res_send_file and curl', async () => {
    assert.equal(await (await fetch(`${srv.url}/sendfile`)).text(), '<h1>root index</h1>\n');
    let out;
    try { out = execFileSync('curl', ['-s', '-i', '--compressed', `${srv.url}/static/style.css`]).toString(); } catch { return; }
    assert.match(out, /Content-Encoding: gzip/i);
    assert.ok(out.includes('body { color: red; }'));
    out = execFileSync('curl', ['-s', '-I', `${srv.url}/static/hello.txt`]).toString();
    assert.match(out, /Content-Length: 20/);
  });
});

describe('timeouts, limits and shutdown', () => {
  test('slow headers and slow bodies get 408 and a close; idle keep-alive connections are closed', async () => {
    const s = await startServer('httptest', ['--header-timeout', '300', '--keepalive-timeout', '300']);
    try {
      const t0 = Date.now();
      const r = await raw(s.port, 'GET / HTTP/1.1\r\nHost', { ms: 3000 * T });
      assert.equal(statusOf(r.text), 408);
      assert.ok(r.closed);
      assert.ok(Date.now() - t0 >= 250);
      const rb = await raw(s.port, 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc', { ms: 3000 * T });
      assert.equal(statusOf(rb.text), 408, rb.text);
      assert.match(rb.text, /body took too long/);
      assert.ok(rb.closed);
      const r2 = await raw(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 3000 * T });
      assert.equal(statusOf(r2.text), 200);
      assert.ok(r2.closed, 'idle keep-alive connection closed by the server');
    } finally { await stop(s.proc); }
  });
  test('past max connections new clients get 503', async () => {
    const s = await startServer('httptest', ['--max-connections', '2']);
    const socks = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = net.connect(s.port, '127.0.0.1');
        await new Promise((r) => c.on('connect', r));
        socks.push(c);
      }
      await new Promise((r) => setTimeout(r, 50));
      const r = await raw(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(statusOf(r.text), 503);
    } finally { socks.forEach((c) => c.destroy()); await stop(s.proc); }
  });
  test('the default cap follows the open-file limit: excess connections get 503', async () => {
    // ulimit -n 200: the net keeps a margin of 64 (cap 136); the app's cap is lower still (room
    // for the connections it refuses with 503 or 1013), and logged at start
    let err = '';
    const s = await new Promise((resolve, reject) => {
      const proc = spawn('sh', ['-c', `ulimit -n 200 && exec "${path.join(BIN, 'httptest')}" --port 0`], { stdio: ['ignore', 'pipe', 'pipe'] });
      procs.add(proc);
      let out = '';
      proc.stderr.on('data', (d) => { err += d; });
      proc.stdout.on('data', (d) => { out += d; const m = out.match(/:(\d+)\//); if (m) resolve({ proc, port: Number(m[1]) }); });
      proc.on('exit', (c) => { procs.delete(proc); reject(new Error(`exited ${c}: ${out}`)); });
    });
    const socks = [];
    try {
      await new Promise((r) => setTimeout(r, 50));
      const logged = (err + '').match(/serving at most (\d+) connections \(open-file limit 200\b/);
      assert.ok(logged, `the cap and the limit are logged at start: ${err}`);
      const cap = Number(logged[1]);
      assert.ok(cap > 0 && cap < 136, `cap ${cap} below the net's 136`);
      for (let i = 0; i < cap; i++) {
        const c = net.connect(s.port, '127.0.0.1');
        c.on('error', () => {});
        await new Promise((r) => c.on('connect', r));
        socks.push(c);
      }
      await new Promise((r) => setTimeout(r, 100));
      const r = await raw(s.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(statusOf(r.text), 503);
      socks.pop().destroy();
      await new Promise((r) => setTimeout(r, 100));
      const ok = await raw(s.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.equal(statusOf(ok.text), 200);
    } finally { socks.forEach((c) => c.destroy()); await stop(s.proc); }
  });
  test('SIGTERM: in-flight responses finish, new connections are refused, exit 0', async () => {
    const s = await startServer('httptest', ['--shutdown-timeout', '3000']);
    const pending = fetch(`${s.url}/async?ms=400`).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 100));
    const exited = new Promise((r) => s.proc.once('exit', (code) => r(code)));
    s.proc.kill('SIGTERM');
    assert.deepEqual(await pending, { async: true });
    assert.equal(await exited, 0);
    await assert.rejects(fetch(`${s.url}/`));
  });
  test('weather serves its page and stops on SIGINT with status 0', async () => {
    if (!fs.existsSync(path.join(BIN, 'weather'))) return;
    const w = await startServer('weather');
    const r = await fetch(`${w.url}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/html/);
    const exited = new Promise((res) => w.proc.once('exit', (code) => res(code)));
    w.proc.kill('SIGINT');
    assert.equal(await exited, 0);
  });
});
