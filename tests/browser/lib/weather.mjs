// Shared by the weather demo tests: which server to test, how to start it, and Chromium.
//
// The server under test is the C demo, $SIO_BIN_DIR/weather, by default; with
// SIO_TEST_TARGET=reference it is the Node twin (reference/weather-server.mjs, npm express +
// socket.io), which is how the page and these tests were validated before the C server
// existed. Servers are started and stopped by PID through ../../interop/lib/server.mjs.

import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN_DIR, SOURCE_DIR, startServer } from '../../interop/lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BROWSER_DIR = path.resolve(here, '..');
export const ARTIFACTS_DIR = path.join(SOURCE_DIR, 'tests', 'artifacts');
export const CHROMIUM = process.env.SIO_CHROMIUM || '/usr/bin/chromium';
const require = createRequire(path.join(SOURCE_DIR, 'package.json'));

/** {name, reference, command, args(port, extra), skip} for the weather server under test. */
export function weatherTarget() {
  if (process.env.SIO_TEST_TARGET === 'reference') {
    return {
      name: 'reference (Node express + socket.io)',
      reference: true,
      command: process.execPath,
      args: (port, extra = []) => [path.join(BROWSER_DIR, 'reference', 'weather-server.mjs'),
        '--port', String(port), '--host', '127.0.0.1', ...extra],
      skip: false,
    };
  }
  const bin = path.join(BIN_DIR, 'weather');
  return {
    name: `sio (${bin})`,
    reference: false,
    command: bin,
    args: (port, extra = []) => ['--port', String(port), '--host', '127.0.0.1', ...extra],
    skip: existsSync(bin) ? false
      : `${bin} is not built yet (set SIO_BIN_DIR, or SIO_TEST_TARGET=reference to test the Node twin)`,
  };
}

/** Starts the weather server of `target` on `port` (extra: more command-line options). */
export function startWeather(target, port, extra = ['--no-sim']) {
  return startServer({ command: target.command, args: target.args(port, extra), port });
}

/** Launches headless Debian Chromium with a fresh (temporary) profile; skip text if absent.
 * extraArgs: more command-line switches (the https test's --ignore-certificate-errors-spki-list). */
export async function launchChromium(extraArgs = []) {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', ...extraArgs],
  });
}

export function chromiumSkip() {
  return existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install chromium, or scripts/deps)`;
}

export function artifactPath(name) {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  return path.join(ARTIFACTS_DIR, name);
}

/** POSTs an alert; resolves {status, body}. */
export async function postAlert(base, alert) {
  const res = await fetch(`${base}/api/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof alert === 'string' ? alert : JSON.stringify(alert),
  });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON: left null, text kept */ }
  return { status: res.status, body, text, headers: res.headers };
}
