// The storm-alert demo in a real browser (issue 6): headless Debian Chromium driven by
// playwright-core loads examples/weather/public from the server under test and must see what
// a visitor would see: alerts pushed to the followed city's pages only, within a second;
// local reports reaching the other followers; live watcher counts; a polling-only page; the
// page reconnecting and re-following by itself after the server restarts. A phone-width
// screenshot is saved to tests/artifacts/.
//
// Target: $SIO_BIN_DIR/weather (default) or the Node twin with SIO_TEST_TARGET=reference.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, stopAndCheck } from '../interop/lib/server.mjs';
import { budget, sleep } from '../interop/lib/timeouts.mjs';
import { artifactPath, chromiumSkip, launchChromium, postAlert, startWeather, weatherTarget } from './lib/weather.mjs';

const target = weatherTarget();
const skip = target.skip || chromiumSkip();
const PHONE = { width: 390, height: 844 };

describe(`weather demo in Chromium against ${target.name}`, { skip }, () => {
  let port;
  let server;
  let browser;
  const pageErrors = [];
  let unique = 0;
  const msg = (what) => `${what} #${process.pid}-${++unique}`;

  before(async () => {
    port = await freePort();
    server = await startWeather(target, port);
    browser = await launchChromium();
  });

  after(async () => {
    // Each step runs even when an earlier one throws, so no process is left behind.
    let failure = null;
    try { if (browser) await browser.close(); } catch (e) { failure = failure || e; }
    try { await stopAndCheck(server); } catch (e) { failure = failure || e; }
    if (failure) throw failure;
  });

  /** Opens the page in its own browser context (its own visitor: cookies, localStorage). */
  async function openPage(query, { viewport = PHONE, waitFollowed = true } = {}) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${query}: ${e.message}`));
    page.websockets = 0;
    page.on('websocket', () => { page.websockets++; });
    await page.goto(`${server.url}/${query}`);
    await page.locator('#status[data-state="connected"]').waitFor({ timeout: budget(10000) });
    if (waitFollowed) await page.locator('body[data-followed]').waitFor({ timeout: budget(5000) });
    return page;
  }

  const alertItem = (page, text) => page.locator('#feed .item.alert', { hasText: text });
  const reportItem = (page, text) => page.locator('#feed .item.report', { hasText: text });
  const watchers = (page, city) => page.locator(`.watchers[data-city="${city}"]`);

  let london1, london2, paris;

  test('pages connect, follow the cities in ?follow= and see live watcher counts', async () => {
    london1 = await openPage('?follow=london');
    london2 = await openPage('?follow=London');
    paris = await openPage('?follow=paris');
    assert.equal(await london1.getAttribute('body', 'data-followed'), 'london');
    assert.equal(await london2.getAttribute('body', 'data-followed'), 'london');
    assert.equal(await paris.getAttribute('body', 'data-followed'), 'paris');
    // The first London page learns live that a second visitor follows London.
    await watchers(london1, 'london').and(london1.locator('[data-count="2"]')).waitFor({ timeout: budget(2000) });
    await watchers(london2, 'london').and(london2.locator('[data-count="2"]')).waitFor({ timeout: budget(2000) });
    await watchers(paris, 'paris').and(paris.locator('[data-count="1"]')).waitFor({ timeout: budget(2000) });
    assert.equal(await london1.isChecked('.city[data-city="london"] input'), true);
    assert.equal(await london1.isChecked('.city[data-city="paris"] input'), false);
  });

  test('a POSTed London alert appears on both London pages within a second, never on Paris', async () => {
    const text = msg('Gale force winds');
    const started = Date.now();
    const res = await postAlert(server.url, { city: 'LONDON', severity: 'severe', message: text });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.delivered, 2);
    assert.ok(Number.isInteger(res.body.id), res.text);
    // The page stamps each item with the time it arrived (same clock as ours): that, not how
    // quickly playwright notices it, is the delivery time.
    for (const p of [london1, london2]) {
      await alertItem(p, text).waitFor({ timeout: budget(5000) });
      const elapsed = Number(await alertItem(p, text).getAttribute('data-received')) - started;
      assert.ok(elapsed <= 1000, `the alert took ${elapsed} ms to reach a London page`);
    }

    for (const p of [london1, london2]) {
      const item = alertItem(p, text);
      assert.equal(await item.getAttribute('data-severity'), 'severe');
      assert.equal(await item.getAttribute('data-city'), 'london');
      assert.equal(await item.getAttribute('data-source'), 'api');
      assert.equal(await item.getAttribute('data-id'), String(res.body.id));
      assert.match(await item.getAttribute('class'), /\bsev-severe\b/);
      assert.match(await item.locator('.city-name').textContent(), /London/);
      assert.match(await item.locator('time').textContent(), /\d{1,2}:\d{2}/);
    }
    await sleep(300);
    assert.equal(await alertItem(paris, text).count(), 0, 'the Paris page got a London alert');
  });

  test('alerts are newest first and styled by severity', async () => {
    const texts = ['minor', 'moderate', 'extreme'].map((s) => [s, msg(`${s} weather`)]);
    for (const [severity, text] of texts) {
      const res = await postAlert(server.url, { city: 'london', severity, message: text });
      assert.equal(res.status, 202, res.text);
      await alertItem(london1, text).waitFor({ timeout: budget(3000) });
    }
    const first = london1.locator('#feed .item').first();
    assert.match(await first.textContent(), new RegExp(texts[2][1]));
    assert.match(await first.getAttribute('class'), /\bsev-extreme\b/);
    const colours = await london1.evaluate((ts) => ts.map(([s]) => {
      const el = document.querySelector(`#feed .item.sev-${s} .badge`);
      return getComputedStyle(el).backgroundColor;
    }), texts);
    assert.equal(new Set(colours).size, 3, `severity badges share colours: ${colours}`);
  });

  test('a report from one London page appears on the other, not on Paris', async () => {
    const text = msg('Trees down on Mill Lane');
    await london1.selectOption('#report-city', 'london');
    await london1.fill('#report-message', text);
    await london1.click('#report-send');
    await reportItem(london2, text).waitFor({ timeout: budget(3000) });
    await reportItem(london1, text).waitFor({ timeout: budget(3000) }); // the sender's own copy
    await london1.locator('#report-result', { hasText: /Sent to 1 other follower/ }).waitFor({ timeout: budget(3000) });
    assert.equal(await reportItem(london2, text).getAttribute('data-city'), 'london');
    await sleep(300);
    assert.equal(await reportItem(paris, text).count(), 0, 'the Paris page got a London report');
    assert.equal(await reportItem(london2, text).count(), 1);
  });

  test('the page is readable at phone width (no sideways scrolling) and a screenshot is saved', async () => {
    const overflow = await london1.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone screen`);
    await london1.screenshot({ path: artifactPath(`weather-${target.reference ? 'reference' : 'sio'}.png`), fullPage: true });
  });

  test('watcher counts drop live when a visitor leaves', async () => {
    await london2.context().close();
    await watchers(london1, 'london').and(london1.locator('[data-count="1"]')).waitFor({ timeout: budget(5000) });
  });

  test('following is saved: without ?follow= the last choice comes back', async () => {
    const context = await browser.newContext({ viewport: PHONE });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await page.locator('#status[data-state="connected"]').waitFor({ timeout: budget(10000) });
      await page.locator('.city[data-city="oslo"] input').check();
      await page.locator('.watchers[data-city="oslo"][data-count="1"]').waitFor({ timeout: budget(2000) });
      await page.reload();
      await page.locator('body[data-followed="oslo"]').waitFor({ timeout: budget(10000) });
      const text = msg('Snow in Oslo');
      assert.equal((await postAlert(server.url, { city: 'Oslo', severity: 'moderate', message: text })).status, 202);
      await alertItem(page, text).waitFor({ timeout: budget(3000) });
    } finally {
      await context.close();
    }
  });

  test('a polling-only page (?transport=polling) gets alerts', async () => {
    const page = await openPage('?follow=london&transport=polling');
    try {
      assert.equal(await page.getAttribute('#transport', 'data-transport'), 'polling');
      const text = msg('Polling works');
      const res = await postAlert(server.url, { city: 'london', severity: 'moderate', message: text });
      assert.equal(res.status, 202, res.text);
      assert.equal(res.body.delivered, 2);
      await alertItem(page, text).waitFor({ timeout: budget(3000) });
      await alertItem(london1, text).waitFor({ timeout: budget(3000) });
      assert.equal(page.websockets, 0, 'the polling-only page opened a WebSocket');
    } finally {
      await page.context().close();
    }
  });

  test('after a server restart the pages reconnect, re-follow and still receive alerts', async () => {
    const polling = await openPage('?follow=london&transport=polling');
    await server.stop();
    await london1.locator('#status[data-state="reconnecting"]').waitFor({ timeout: budget(5000) });
    await polling.locator('#status[data-state="reconnecting"]').waitFor({ timeout: budget(5000) });
    server = await startWeather(target, port);
    for (const p of [london1, polling, paris]) {
      await p.locator('#status[data-state="connected"]').waitFor({ timeout: budget(15000) });
    }
    // Re-followed by itself: the new server counts both London pages.
    await watchers(london1, 'london').and(london1.locator('[data-count="2"]')).waitFor({ timeout: budget(5000) });
    const text = msg('After the restart');
    const res = await postAlert(server.url, { city: 'london', severity: 'extreme', message: text });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.delivered, 2);
    await alertItem(london1, text).waitFor({ timeout: budget(3000) });
    await alertItem(polling, text).waitFor({ timeout: budget(3000) });
    await sleep(300);
    assert.equal(await alertItem(paris, text).count(), 0);
    await london1.screenshot({ path: artifactPath(`weather-${target.reference ? 'reference' : 'sio'}-after-restart.png`), fullPage: true });
    await polling.context().close();
  });

  test('no script errors on any page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
