// The storm-alert demo over TLS in Chromium (issue 15, point 5): examples/weather with
// --tls-cert/--tls-key serves the page over https and Socket.IO over wss, and an alert pushed
// by the server reaches the page.
//
// The certificates are made here (openssl, in a temporary folder removed at the end): a
// throwaway CA and a localhost/127.0.0.1 certificate signed by it. Chromium trusts exactly
// that certificate, by the SHA-256 hash of its public key
// (--ignore-certificate-errors-spki-list), not every certificate (--ignore-certificate-errors):
// a second server with a self-signed certificate of its own is refused by the same browser.
// The alert is POSTed over https by Node checking the chain against the CA. The page must be a
// secure context, its socket.io client on the websocket transport, and the alert must arrive
// as a frame of that wss:// WebSocket.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, stopAndCheck } from '../interop/lib/server.mjs';
import { budget } from '../interop/lib/timeouts.mjs';
import { chromiumSkip, launchChromium, startWeather, weatherTarget } from './lib/weather.mjs';

const target = weatherTarget();
const skip = target.skip || chromiumSkip() ||
  (target.reference && 'the Node twin (reference/weather-server.mjs) has no TLS options');

function openssl(args, input) {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** ca.pem, server.pem/server.key (localhost, 127.0.0.1; signed by the CA), other.pem/other.key
 * (self-signed, not trusted) in dir; returns the base64 SHA-256 of server.pem's SPKI. */
function makeCertificates(dir) {
  const f = (n) => path.join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2',
    '-subj', '/CN=sio browser test CA']);
  openssl(['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext')]);
  openssl(['req', '-x509', ...ec, '-keyout', f('other.key'), '-out', f('other.pem'), '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  const pub = openssl(['x509', '-in', f('server.pem'), '-noout', '-pubkey']);
  const der = openssl(['pkey', '-pubin', '-outform', 'der'], pub);
  return openssl(['dgst', '-sha256', '-binary'], der).toString('base64');
}

/** POSTs an alert over https, checking the server's chain against `ca`; {status, body}. */
function postAlertTls(port, ca, alert) {
  const body = JSON.stringify(alert);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/api/alerts', method: 'POST', ca, servername: 'localhost',
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* left null */ }
        resolve({ status: res.statusCode, body: json, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe(`weather demo over https and wss in Chromium against ${target.name}`, { skip }, () => {
  let dir;
  let spki;
  let server;
  let other;
  let browser;
  const pageErrors = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'sio-browser-tls-'));
    spki = makeCertificates(dir);
    const port = await freePort();
    server = await startWeather(target, port, ['--no-sim', '--tls-cert', path.join(dir, 'server.pem'),
      '--tls-key', path.join(dir, 'server.key')]);
    const otherPort = await freePort();
    other = await startWeather(target, otherPort, ['--no-sim', '--tls-cert', path.join(dir, 'other.pem'),
      '--tls-key', path.join(dir, 'other.key')]);
    browser = await launchChromium([`--ignore-certificate-errors-spki-list=${spki}`]);
  });

  after(async () => {
    // Each step runs even when an earlier one throws, so no process is left behind.
    let failure = null;
    try { if (browser) await browser.close(); } catch (e) { failure = failure || e; }
    for (const s of [server, other]) {
      try { await stopAndCheck(s); } catch (e) { failure = failure || e; }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (failure) throw failure;
  });

  test('the server announces https', () => {
    assert.match(server.stdout, new RegExp(`https://127\\.0\\.0\\.1:${server.port}/`));
  });

  test('the page loads over https, connects over wss and receives an alert pushed by the server', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.on('pageerror', (e) => pageErrors.push(e.message));
      const sockets = [];
      page.on('websocket', (ws) => {
        const entry = { url: ws.url(), frames: [] };
        ws.on('framereceived', (f) => entry.frames.push(String(f.payload)));
        sockets.push(entry);
      });
      const base = `https://localhost:${server.port}`;
      const res = await page.goto(`${base}/?follow=london`);
      assert.equal(res.status(), 200);
      assert.ok(res.url().startsWith('https://'), res.url());
      await page.locator('#status[data-state="connected"]').waitFor({ timeout: budget(10000) });
      await page.locator('body[data-followed="london"]').waitFor({ timeout: budget(5000) });
      // The client starts on polling (over https) and upgrades: wait for the websocket.
      await page.locator('#transport[data-transport="websocket"]').waitFor({ timeout: budget(10000) });

      const env = await page.evaluate(() => ({
        secure: window.isSecureContext,
        protocol: location.protocol,
        crypto: typeof crypto.subtle === 'object', // only in secure contexts
      }));
      assert.deepEqual(env, { secure: true, protocol: 'https:', crypto: true });
      assert.equal(sockets.length >= 1, true, 'no WebSocket opened');
      for (const s of sockets) assert.match(s.url, new RegExp(`^wss://localhost:${server.port}/socket\\.io/`));

      const text = `Hail over wss #${process.pid}`;
      const posted = await postAlertTls(server.port, readFileSync(path.join(dir, 'ca.pem')),
        { city: 'london', severity: 'severe', message: text });
      assert.equal(posted.status, 202, posted.text);
      assert.equal(posted.body.delivered, 1, posted.text);
      const item = page.locator('#feed .item.alert', { hasText: text });
      await item.waitFor({ timeout: budget(5000) });
      assert.equal(await item.getAttribute('data-city'), 'london');
      assert.equal(await item.getAttribute('data-source'), 'api');
      // It came as a Socket.IO event on the wss:// WebSocket, not over polling.
      assert.ok(sockets.some((s) => s.frames.some((p) => p.startsWith('42') && p.includes(text))),
        'the alert did not arrive as a frame of the wss WebSocket');
      assert.deepEqual(pageErrors, []);
    } finally {
      await context.close();
    }
  });

  test('the trust is narrow: a certificate whose key is not in the SPKI list is refused', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await assert.rejects(page.goto(`https://localhost:${other.port}/`), /ERR_CERT_AUTHORITY_INVALID/);
    } finally {
      await context.close();
    }
  });
});
