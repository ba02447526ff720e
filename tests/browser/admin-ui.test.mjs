// The admin UI in a real browser (issue 14, point 6): headless Debian Chromium loads the UI of
// npm @socket.io/admin-ui 0.5.1 (its ui/dist, served at /ui/ by examples/admin itself) and
// logs in to the server's "/admin" namespace through the UI's connection form, as a user
// does: a wrong password shows "invalid credentials", the right one closes the form. The UI
// must then show the server's sockets (a socket.io-client socket on "/chat" with its room),
// in the "/chat" list, its room, the server's pid) and act on it: the row's disconnect button
// ends that socket, and only it, on the server. A screenshot is saved to tests/artifacts/.
//
// Target: $SIO_BIN_DIR/admin (default) or its Node twin (socket.io + instrument()) with
// SIO_TEST_TARGET=reference. The page's requests for web fonts (Google, jsdelivr) are
// answered empty: the test needs no network.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { io } from 'socket.io-client';
import { BIN_DIR, INTEROP_DIR, freePort, startServer, stopAndCheck } from '../interop/lib/server.mjs';
import { budget, nextEvent } from '../interop/lib/timeouts.mjs';
import { artifactPath, chromiumSkip, launchChromium } from './lib/weather.mjs';

const reference = process.env.SIO_TEST_TARGET === 'reference';
const BIN = path.join(BIN_DIR, 'admin');
const target = reference
  ? { name: 'Node (instrument)', command: process.execPath, pre: [path.join(INTEROP_DIR, 'reference', 'admin-server.mjs')], skip: false }
  : { name: `sio (${BIN})`, command: BIN, pre: [], skip: existsSync(BIN) ? false : `${BIN} is not built yet` };
const skip = target.skip || chromiumSkip();

describe(`admin UI in Chromium against ${target.name}`, { skip }, () => {
  let server;
  let browser;
  let page;
  const sockets = [];
  const pageErrors = [];

  before(async () => {
    const port = await freePort();
    server = await startServer({ command: target.command, args: [...target.pre, '--port', String(port)], port });
    browser = await launchChromium();
  });

  after(async () => {
    let failure = null;
    for (const s of sockets) s.disconnect();
    try { if (browser) await browser.close(); } catch (e) { failure = failure || e; }
    try { await stopAndCheck(server); } catch (e) { failure = failure || e; }
    if (failure) throw failure;
  });

  /** Picks nsp in the page's "Select namespace" list. */
  async function selectNamespace(nsp) {
    await page.locator('main .v-select').first().click();
    await page.getByRole('option', { name: nsp, exact: true }).click();
  }

  test('the connection form refuses a wrong password and accepts the right one', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.route(/^https:\/\//, (route) => route.fulfill({ status: 200, body: '' }));
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${server.url}/ui/`);
    const url = page.getByLabel('Server URL');
    await url.waitFor({ timeout: budget(10000) });
    await url.fill(server.url);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByText('invalid credentials').waitFor({ timeout: budget(10000) });
    await page.getByLabel('Password').fill('changeit');
    await page.getByRole('button', { name: 'Connect' }).click();
    await url.waitFor({ state: 'hidden', timeout: budget(10000) });
  });

  test('the UI shows the server, its namespaces and a socket with its room', async () => {
    const c = io(`${server.url}/chat`, { forceNew: true, reconnection: false, transports: ['websocket'] });
    sockets.push(c);
    await nextEvent(c, 'connect');
    await new Promise((resolve) => c.emit('join', 'lobby', resolve));
    await page.goto(`${server.url}/ui/#/sockets/`);
    await selectNamespace('/chat');
    await page.getByText(c.id).first().waitFor({ timeout: budget(10000) });
    await page.goto(`${server.url}/ui/#/rooms/`);
    await page.getByText('lobby').first().waitFor({ timeout: budget(10000) });
    await page.goto(`${server.url}/ui/#/servers/`);
    await page.getByText(String(server.pid)).first().waitFor({ timeout: budget(10000) });
    await page.screenshot({ path: artifactPath(`admin-ui-${reference ? 'node' : 'sio'}.png`), fullPage: true });
  });

  test('the "disconnect" button of a socket\'s row ends that socket on the server', async () => {
    const c = io(`${server.url}/chat`, { forceNew: true, reconnection: false, transports: ['websocket'] });
    sockets.push(c);
    await nextEvent(c, 'connect');
    const other = io(`${server.url}/chat`, { forceNew: true, reconnection: false, transports: ['websocket'] });
    sockets.push(other);
    await nextEvent(other, 'connect');
    await page.goto(`${server.url}/ui/#/sockets/`);
    await selectNamespace('/chat');
    const row = page.locator('tr', { hasText: c.id }).filter({ hasText: '127.0.0.1' }); // the list's row
    await row.waitFor({ timeout: budget(10000) });
    const gone = nextEvent(c, 'disconnect', budget(10000));
    await row.locator('button').click(); // icons only (the icon font is not loaded)
    assert.equal((await gone)[0], 'io server disconnect');
    await row.waitFor({ state: 'detached', timeout: budget(10000) });
    assert.ok(other.connected, 'only that socket');
    assert.deepEqual(pageErrors, []);
  });
});
