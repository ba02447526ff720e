// A private Redis server for one test file.
//
// The cluster tests need a Redis that nothing else uses: `startRedis` runs Debian's
// redis-server on 127.0.0.1 on a free port, with no persistence (`--save ''
// --appendonly no`) so it writes no file, and resolves once it answers PING. `stop` ends it
// by PID (SIGTERM, then SIGKILL); `restart` stops it and starts it again on the same port,
// for the tests of an adapter that must reconnect and resubscribe. Servers still alive when
// Node exits are killed, so a failing test never leaves one behind. `version` comes from
// INFO, so a test can tell whether sharded pub/sub (Redis >= 7) is there and skip with a
// message saying so when it is not.
//
// Only the server's own protocol is spoken here (inline commands over TCP): the tests that
// need a real Redis client use npm `redis` themselves.

import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { freePort } from './server.mjs';
import { budget, sleep } from './timeouts.mjs';

export const REDIS_BIN = process.env.SIO_REDIS_SERVER || 'redis-server';

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/** Why no Redis can be started here (a message for node:test's `skip`), or false. */
export function redisMissing() {
  const r = spawnSync(REDIS_BIN, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    return `${REDIS_BIN} is not installed (scripts/deps installs Debian's redis-server)`;
  }
  return false;
}

/**
 * The installed redis-server's version as [major, minor, patch] (from --version, so a test
 * file can decide what to skip before it starts a server), or null when it is missing.
 */
export function installedVersion() {
  const r = spawnSync(REDIS_BIN, ['--version'], { encoding: 'utf8' });
  const m = /v=(\d+)\.(\d+)\.(\d+)/.exec(r.stdout || '');
  return m ? m.slice(1).map(Number) : null;
}

/** Why sharded pub/sub cannot be tested here (a skip message), or false. */
export function shardedMissing() {
  const v = installedVersion();
  if (!v) return redisMissing();
  return v[0] >= 7 ? false : `Redis ${v.join('.')} has no sharded pub/sub (SSUBSCRIBE needs Redis >= 7)`;
}

/**
 * Sends one inline command and resolves with the raw reply text once `done(text)` says it
 * is complete; rejects on a connection error or after `ms`.
 */
function command(port, line, done, ms = 1000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let text = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer to ${line}`)); }, ms);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(`${line}\r\n`));
    sock.on('data', (d) => {
      text += d;
      if (done(text)) { clearTimeout(timer); sock.destroy(); resolve(text); }
    });
    sock.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/** True when the server on `port` answers PING with PONG. */
export async function ping(port) {
  try {
    return (await command(port, 'PING', (t) => t.includes('\r\n'))).startsWith('+PONG');
  } catch {
    return false;
  }
}

/** The server's version from INFO server, as [major, minor, patch]. */
async function infoVersion(port) {
  const bulkDone = (t) => {
    const m = /^\$(\d+)\r\n/.exec(t);
    return m ? Buffer.byteLength(t) >= m[0].length + Number(m[1]) + 2 : t.startsWith('-');
  };
  const text = await command(port, 'INFO server', bulkDone);
  const m = /redis_version:(\d+)\.(\d+)\.(\d+)/.exec(text);
  if (!m) throw new Error(`no redis_version in INFO: ${text.slice(0, 200)}`);
  return m.slice(1).map(Number);
}

function spawnRedis(port) {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--daemonize', 'no', '--protected-mode', 'no', '--loglevel', 'warning', '--dir', '/tmp'];
  const child = spawn(REDIS_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (d) => { output = (output + d).slice(-16384); };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const state = { child, exitInfo: null, get output() { return output; } };
  state.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      state.exitInfo = { code, signal };
      live.delete(child);
      resolve(state.exitInfo);
    });
  });
  child.once('error', (err) => { state.exitInfo = state.exitInfo || { code: null, signal: null, error: err }; });
  return state;
}

async function waitReady(state, port, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (state.exitInfo) {
      throw new Error(`redis-server exited during startup (code=${state.exitInfo.code} ` +
        `signal=${state.exitInfo.signal})\n${state.output}`);
    }
    if (await ping(port)) return;
    if (Date.now() > deadline) {
      try { state.child.kill('SIGKILL'); } catch { /* gone */ }
      throw new Error(`redis-server did not answer PING on port ${port} within ${ms} ms\n${state.output}`);
    }
    await sleep(20);
  }
}

async function stopState(state, graceMs) {
  if (state.exitInfo) return state.exitInfo;
  try { process.kill(state.child.pid, 'SIGTERM'); } catch { /* gone */ }
  const t = setTimeout(() => { try { process.kill(state.child.pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
  const info = await state.exited;
  clearTimeout(t);
  return info;
}

/**
 * Starts a private redis-server on a free port (a fresh port if another process took the
 * probed one first). The handle: `port`, `url` (redis://127.0.0.1:PORT), `pid`, `version`,
 * `atLeast(major, minor)`, `stop()`, `restart({downMs})`, `alive()`.
 */
export async function startRedis({ startupMs = budget(10000) } = {}) {
  let state;
  let port;
  let lastError;
  for (let attempt = 0; attempt < 3 && !state; attempt++) {
    port = await freePort();
    const s = spawnRedis(port);
    try {
      await waitReady(s, port, startupMs);
      state = s;
    } catch (e) {
      lastError = e;
      if (!/exited during startup/.test(e.message)) throw e;
    }
  }
  if (!state) throw lastError;
  const version = await infoVersion(port);

  const handle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    version,
    get pid() { return state.child.pid; },
    get output() { return state.output; },
    alive() { return state.exitInfo === null; },
    /** True when the server's version is at least major.minor. */
    atLeast(major, minor = 0) {
      return version[0] > major || (version[0] === major && version[1] >= minor);
    },
    /** Ends the server by PID: SIGTERM, then SIGKILL after `graceMs`. */
    stop(graceMs = budget(3000)) { return stopState(state, graceMs); },
    /** Stops the server, waits `downMs`, and starts it again on the same port. */
    async restart({ downMs = 0 } = {}) {
      await stopState(state, budget(3000));
      if (downMs) await sleep(downMs);
      const s = spawnRedis(port);
      await waitReady(s, port, startupMs);
      state = s;
    },
  };
  return handle;
}
