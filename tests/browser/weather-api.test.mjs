// The storm-alert server's contract without a browser (issue 6 points 1, 3, 7): the HTTP API
// (POST /api/alerts validation and delivery, GET /api/cities), the Socket.IO events of
// examples/weather/PROTOCOL.md driven by npm socket.io-client, the simulated feed, the log
// lines, the command-line options and the examples/weather/alert script.
//
// Target: $SIO_BIN_DIR/weather (default) or the Node twin with SIO_TEST_TARGET=reference.

import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { SOURCE_DIR, freePort, stopAndCheck } from '../interop/lib/server.mjs';
import { budget, sleep, withTimeout } from '../interop/lib/timeouts.mjs';
import { postAlert, startWeather, weatherTarget } from './lib/weather.mjs';

const require = createRequire(path.join(SOURCE_DIR, 'package.json'));
const { io } = require('socket.io-client');
const execFileP = promisify(execFile);
const ALERT_SCRIPT = path.join(SOURCE_DIR, 'examples', 'weather', 'alert');

const target = weatherTarget();
const clients = new Set();

/** A connected client that records what it receives. */
async function connect(server, { follow, transports } = {}) {
  const socket = io(server.url, { transports: transports || ['websocket'], reconnection: false, forceNew: true });
  clients.add(socket);
  socket.got = { alert: [], report: [], watchers: [], hello: [] };
  for (const ev of Object.keys(socket.got)) socket.on(ev, (x) => socket.got[ev].push(x));
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), budget(5000), 'connect');
  if (follow) {
    const ack = await socket.timeout(budget(2000)).emitWithAck('follow', follow);
    assert.equal(ack.ok, true, JSON.stringify(ack));
    socket.followAck = ack;
  }
  return socket;
}

function close(socket) {
  socket.close();
  clients.delete(socket);
}

/** Resolves once pred(socket.got) holds (polling every 10 ms), else rejects after ms. */
async function until(what, pred, ms = budget(2000)) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

describe(`weather server contract against ${target.name}`, { skip: target.skip }, () => {
  let server;

  before(async () => {
    server = await startWeather(target, await freePort(), ['--no-sim', '--summary-interval', '300']);
  });

  after(async () => {
    for (const s of clients) s.close();
    clients.clear();
    await stopAndCheck(server);
  });

  test('serves the page and the official client bundle', async () => {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);
    const html = await page.text();
    assert.match(html, /<script src="\/socket.io\/socket.io.js"><\/script>/);
    for (const file of ['app.js', 'style.css']) {
      const r = await fetch(`${server.url}/${file}`);
      assert.equal(r.status, 200, file);
      await r.arrayBuffer();
    }
    const client = await fetch(`${server.url}/socket.io/socket.io.js`);
    assert.equal(client.status, 200);
    assert.match(await client.text(), /Socket\.IO v4\.8/);
  });

  test('hello lists the cities and severities; GET /api/cities too', async () => {
    const s = await connect(server);
    await until('hello', () => s.got.hello.length === 1);
    const hello = s.got.hello[0];
    assert.deepEqual(hello.severities, ['minor', 'moderate', 'severe', 'extreme']);
    assert.equal(hello.sim, false);
    assert.ok(hello.cities.some((c) => c.id === 'london' && c.name === 'London'));
    assert.ok(hello.cities.some((c) => c.id === 'new-york' && c.name === 'New York'));
    const r = await fetch(`${server.url}/api/cities`);
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.deepEqual(body.cities, hello.cities);
    assert.equal(typeof body.watchers.london, 'number');
    close(s);
  });

  test('follow replaces the list, normalizes names, reports unknown ones and counts watchers', async () => {
    const a = await connect(server, { follow: ['LONDON', 'london', 'New York', 'atlantis'] });
    assert.deepEqual(a.followAck.cities, ['london', 'new-york']);
    assert.deepEqual(a.followAck.unknown, ['atlantis']);
    assert.deepEqual(a.followAck.watchers, { london: 1, 'new-york': 1 });
    const b = await connect(server, { follow: ['london'] });
    assert.deepEqual(b.followAck.watchers, { london: 2 });
    await until('watchers {london: 2} on the first client', () => a.got.watchers.some((w) => w.london === 2));
    // Replacing the list leaves the rooms not named.
    const ack = await a.timeout(budget(2000)).emitWithAck('follow', ['paris']);
    assert.deepEqual(ack.cities, ['paris']);
    await until('watchers {london: 1} on the second client', () => b.got.watchers.some((w) => w.london === 1));
    const bad = await a.timeout(budget(2000)).emitWithAck('follow', 'london');
    assert.equal(bad.ok, false);
    assert.equal(typeof bad.error, 'string');
    const bad2 = await a.timeout(budget(2000)).emitWithAck('follow', [1, 2]);
    assert.equal(bad2.ok, false);
    // A disconnect counts as leaving.
    close(a);
    const c = await connect(server, { follow: ['paris'] });
    assert.deepEqual(c.followAck.watchers, { paris: 1 });
    close(b);
    close(c);
  });

  test('POST /api/alerts pushes to that city only, with every field, and says how many got it', async () => {
    const l1 = await connect(server, { follow: ['london'] });
    const l2 = await connect(server, { follow: ['london', 'oslo'], transports: ['polling'] });
    const p = await connect(server, { follow: ['paris'] });
    const before = Date.now();
    const res = await postAlert(server.url, { city: 'London', severity: 'SEVERE', message: '  Gale force winds  ' });
    assert.equal(res.status, 202, res.text);
    assert.match(res.headers.get('content-type'), /application\/json/);
    assert.equal(res.body.delivered, 2);
    assert.ok(Number.isInteger(res.body.id) && res.body.id > 0);
    await until('the alert on both London clients', () => l1.got.alert.length === 1 && l2.got.alert.length === 1, budget(1000));
    for (const s of [l1, l2]) {
      const a = s.got.alert[0];
      assert.deepEqual(Object.keys(a).sort(), ['city', 'id', 'message', 'severity', 'source', 'time']);
      assert.equal(a.id, res.body.id);
      assert.equal(a.city, 'london');
      assert.equal(a.severity, 'severe');
      assert.equal(a.message, 'Gale force winds');
      assert.equal(a.source, 'api');
      assert.match(a.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Math.abs(Date.parse(a.time) - before) < 5000, a.time);
    }
    const second = await postAlert(server.url, { city: 'oslo', severity: 'minor', message: 'Snow ✓ "quoted" \\ ok' });
    assert.equal(second.status, 202);
    assert.equal(second.body.delivered, 1);
    assert.ok(second.body.id > res.body.id);
    await until('the Oslo alert', () => l2.got.alert.length === 2);
    assert.equal(l2.got.alert[1].message, 'Snow ✓ "quoted" \\ ok');
    const nobody = await postAlert(server.url, { city: 'tokyo', severity: 'extreme', message: 'Typhoon' });
    assert.equal(nobody.status, 202);
    assert.equal(nobody.body.delivered, 0);
    await sleep(200);
    assert.equal(p.got.alert.length, 0, 'the Paris client got another city\'s alert');
    assert.equal(l1.got.alert.length, 1);
    for (const s of [l1, l2, p]) close(s);
  });

  test('bad alerts get 400 with the reason in JSON', async () => {
    const cases = [
      ['not json', '{city'],
      ['array', '[1,2]'],
      ['missing city', { severity: 'minor', message: 'x' }],
      ['city not a string', { city: 5, severity: 'minor', message: 'x' }],
      ['unknown city', { city: 'atlantis', severity: 'minor', message: 'x' }],
      ['missing severity', { city: 'london', message: 'x' }],
      ['unknown severity', { city: 'london', severity: 'apocalyptic', message: 'x' }],
      ['severity not a string', { city: 'london', severity: 3, message: 'x' }],
      ['missing message', { city: 'london', severity: 'minor' }],
      ['message not a string', { city: 'london', severity: 'minor', message: ['x'] }],
      ['empty message', { city: 'london', severity: 'minor', message: '   ' }],
      ['message too long', { city: 'london', severity: 'minor', message: 'é'.repeat(281) }],
    ];
    for (const [what, body] of cases) {
      const res = await postAlert(server.url, body);
      assert.equal(res.status, 400, `${what}: ${res.status} ${res.text}`);
      assert.equal(typeof res.body?.error, 'string', `${what}: ${res.text}`);
      assert.ok(res.body.error.length > 0, what);
    }
    const unknown = await postAlert(server.url, { city: 'atlantis', severity: 'minor', message: 'x' });
    assert.match(unknown.body.error, /city/);
    const sev = await postAlert(server.url, { city: 'london', severity: 'bad', message: 'x' });
    assert.match(sev.body.error, /severity/);
    const longest = await postAlert(server.url, { city: 'london', severity: 'minor', message: 'é'.repeat(280) });
    assert.equal(longest.status, 202, longest.text);
    const huge = await postAlert(server.url, { city: 'london', severity: 'minor', message: 'x'.repeat(20000) });
    assert.equal(huge.status, 413, huge.text);
  });

  test('a report reaches the other followers of the city, not the sender, and needs following', async () => {
    const a = await connect(server, { follow: ['berlin'] });
    const b = await connect(server, { follow: ['berlin', 'rome'] });
    const c = await connect(server, { follow: ['rome'] });
    const ack = await a.timeout(budget(2000)).emitWithAck('report', { city: 'Berlin', message: 'Trees down' });
    assert.equal(ack.ok, true, JSON.stringify(ack));
    assert.equal(ack.delivered, 1);
    await until('the report on b', () => b.got.report.length === 1);
    const r = b.got.report[0];
    assert.equal(r.id, ack.id);
    assert.equal(r.city, 'berlin');
    assert.equal(r.message, 'Trees down');
    assert.equal(r.from, a.id.slice(0, 4));
    assert.match(r.time, /Z$/);
    const notFollowing = await a.timeout(budget(2000)).emitWithAck('report', { city: 'rome', message: 'x' });
    assert.equal(notFollowing.ok, false);
    const empty = await a.timeout(budget(2000)).emitWithAck('report', { city: 'berlin', message: '' });
    assert.equal(empty.ok, false);
    const junk = await a.timeout(budget(2000)).emitWithAck('report', 'berlin');
    assert.equal(junk.ok, false);
    await sleep(200);
    assert.equal(a.got.report.length, 0, 'the sender got its own report');
    assert.equal(c.got.report.length, 0, 'a Rome follower got a Berlin report');
    for (const s of [a, b, c]) close(s);
  });

  test('examples/weather/alert posts an alert and reports refusals', async () => {
    const s = await connect(server, { follow: ['madrid'] });
    const port = String(server.port);
    const ok = await execFileP(ALERT_SCRIPT, ['--port', port, 'Madrid', 'extreme', 'Heat', 'wave']);
    assert.match(ok.stdout, /"delivered":1/);
    await until('the CLI alert', () => s.got.alert.length === 1);
    assert.equal(s.got.alert[0].message, 'Heat wave');
    assert.equal(s.got.alert[0].severity, 'extreme');
    const refused = spawnSync(ALERT_SCRIPT, ['--port', port, 'atlantis', 'minor', 'x'], { encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /400/);
    const usage = spawnSync(ALERT_SCRIPT, ['london'], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    close(s);
  });

  test('logs connections, disconnections with a reason, alerts and a periodic summary', async () => {
    const s = await connect(server, { follow: ['london'] });
    const id = s.id;
    close(s);
    await until('the disconnect log line', () => server.stderr.includes('disconnect') && server.stderr.includes(id));
    await sleep(budget(700)); // at least one summary period
    const log = server.stderr;
    assert.match(log, /connect id=\S+ ip=\S+ transport=(websocket|polling)/);
    assert.match(log, /disconnect id=\S+ reason="[^"]+"/);
    assert.match(log, /alert id=\d+ city=london severity=severe source=api delivered=2/);
    assert.match(log, /summary clients=\d+ rooms=\d+ msgs\/s=[\d.]+/);
  });
});

describe(`weather server options against ${target.name}`, { skip: target.skip }, () => {
  test('--help prints the options and exits 0; a bad option exits 2', () => {
    const help = spawnSync(target.command, target.args(0, ['--help']), { encoding: 'utf8', timeout: budget(5000) });
    assert.equal(help.status, 0, help.stderr);
    for (const o of ['--port', '--host', '--no-sim', '--quiet', '--help']) assert.ok(help.stdout.includes(o), o);
    const bad = spawnSync(target.command, target.args(0, ['--bogus']), { encoding: 'utf8', timeout: budget(5000) });
    assert.equal(bad.status, 2);
  });

  test('the simulated feed is on by default and marks its alerts "sim"', async () => {
    const server = await startWeather(target, await freePort(), ['--sim-interval', '50']);
    try {
      const s = await connect(server, { follow: ['london', 'paris', 'berlin', 'madrid', 'rome', 'oslo', 'new-york', 'tokyo'] });
      await until('a simulated alert', () => s.got.alert.length >= 2, budget(3000));
      assert.equal(s.got.hello[0].sim, true);
      for (const a of s.got.alert) {
        assert.equal(a.source, 'sim');
        assert.ok(['minor', 'moderate', 'severe', 'extreme'].includes(a.severity));
        assert.ok(a.message.length > 0);
      }
      close(s);
    } finally {
      await stopAndCheck(server);
    }
  });

  test('--quiet writes no log lines', async () => {
    const server = await startWeather(target, await freePort(), ['--no-sim', '--quiet', '--summary-interval', '100']);
    try {
      const s = await connect(server, { follow: ['london'] });
      assert.equal((await postAlert(server.url, { city: 'london', severity: 'minor', message: 'x' })).status, 202);
      await until('the alert', () => s.got.alert.length === 1);
      close(s);
      await sleep(budget(300));
      assert.equal(server.stderr, '');
    } finally {
      await stopAndCheck(server);
    }
  });
});
