// sio-server (issue 17, point 6) in a real browser: headless Debian Chromium (playwright-core)
// loads a page served by sio-server's --static directory, which connects with the client bundle
// the server serves at /socket.io/socket.io.js (over WebSocket, and polling only in a second
// page). Backends then publish with curl and with the Python client (server/clients/
// sio_publish.py, python3's standard library only): to everyone, to a room the page was put in
// by POST /api/sockets/join, and with except; the pages must show exactly what was meant for
// them, in order (auth is covered by tests/interop/sio-server).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BIN_DIR, SOURCE_DIR, freePort, startServer, stopAndCheck } from '../interop/lib/server.mjs';
import { budget } from '../interop/lib/timeouts.mjs';
import { chromiumSkip, launchChromium } from './lib/weather.mjs';

const execFileP = promisify(execFile);
const BIN = path.join(BIN_DIR, 'sio-server');
const PY = path.join(SOURCE_DIR, 'server', 'clients', 'sio_publish.py');
const TOKEN = 'browser-' + process.pid;
const skip = (existsSync(BIN) ? false : `${BIN} is not built`) || chromiumSkip();

// The page: connects (transports from ?t=), records every event as "event:json" in #log, and
// shows its socket id once connected.
const PAGE = `<!doctype html><meta charset="utf-8"><title>sio-server test</title>
<pre id="log"></pre>
<script src="/socket.io/socket.io.js"></script>
<script>
  const t = new URLSearchParams(location.search).get('t');
  const socket = io({ transports: t ? t.split(',') : undefined });
  const log = document.getElementById('log');
  socket.on('connect', () => { document.body.dataset.sid = socket.id; });
  socket.onAny((event, ...args) => { log.textContent += event + ':' + JSON.stringify(args) + '\\n'; });
</script>`;

describe('sio-server publishes to Chromium', { skip }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sio-server-browser-'));
  let server, browser;

  before(async () => {
    writeFileSync(path.join(dir, 'index.html'), PAGE);
    const port = await freePort();
    server = await startServer({ command: BIN, port,
      args: ['--host', '127.0.0.1', '--port', String(port), '--token', TOKEN, '--static', dir] });
    browser = await launchChromium();
  });

  after(async () => {
    let failure = null;
    try { if (browser) await browser.close(); } catch (e) { failure = failure || e; }
    try { await stopAndCheck(server); } catch (e) { failure = failure || e; }
    rmSync(dir, { recursive: true, force: true });
    if (failure) throw failure;
  });

  async function open(query) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/${query}`);
    await page.locator('body[data-sid]').waitFor({ state: 'attached', timeout: budget(10000) });
    page.sid = await page.evaluate(() => document.body.dataset.sid);
    return page;
  }
  const lines = (page) => page.evaluate(() => document.getElementById('log').textContent.split('\n').filter(Boolean));
  async function waitLines(page, n) {
    const deadline = Date.now() + budget(5000);
    let got = await lines(page);
    while (got.length < n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      got = await lines(page);
    }
    return got;
  }
  async function curl(route, body) {
    const { stdout } = await execFileP('curl', ['-sS', '-X', 'POST', '-H', `Authorization: Bearer ${TOKEN}`,
      '-H', 'Content-Type: application/json', '-d', JSON.stringify(body), `${server.url}${route}`]);
    return JSON.parse(stdout);
  }
  const curlEmit = (body) => curl('/api/emit', body);
  const py = async (...args) => JSON.parse((await execFileP('python3', [PY, server.url, TOKEN, ...args])).stdout);

  test('curl and Python reach a WebSocket page and a polling-only page: all, a room, except', async () => {
    const ws = await open('?t=websocket');
    const polling = await open('?t=polling');
    assert.equal(await polling.evaluate(() => socket.io.engine.transport.name), 'polling');
    assert.equal(await ws.evaluate(() => socket.io.engine.transport.name), 'websocket');

    assert.equal((await curlEmit({ event: 'all', args: ['from curl', 1] })).recipients, 2);
    assert.equal((await py('emit', 'all', '[{"from":"python","text":"é"}]')).recipients, 2);
    assert.equal((await curlEmit({ rooms: 'vip', event: 'none' })).recipients, 0);
    await curl('/api/sockets/join', { rooms: polling.sid, room: 'vip' });
    assert.deepEqual((await py('sockets', 'vip')).sockets.map((s) => s.id), [polling.sid]);
    assert.equal((await curlEmit({ rooms: 'vip', event: 'vip', data: 'only polling' })).recipients, 1);
    assert.equal((await py('emit', 'not-vip', '[true]', '--except', 'vip')).recipients, 1);

    const want = ['all:["from curl",1]', 'all:[{"from":"python","text":"é"}]'];
    assert.deepEqual(await waitLines(ws, 3), [...want, 'not-vip:[true]']);
    assert.deepEqual(await waitLines(polling, 3), [...want, 'vip:["only polling"]']);
  });
});
