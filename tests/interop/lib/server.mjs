// Start and stop the server under test as a child process.
//
// Each test file runs its own server on a free 127.0.0.1 port: `startServer` spawns it,
// waits until it prints its URL and accepts TCP connections, and `stop` ends it by PID
// (SIGTERM, then SIGKILL if it lingers). Children still alive when Node exits are killed,
// so a failing test never leaves a server behind. The server's stderr is kept so a crash
// or a sanitizer report can be shown by the test that notices it.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { budget, sleep } from './timeouts.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const INTEROP_DIR = path.resolve(here, '..');
export const SOURCE_DIR = process.env.SIO_SOURCE_DIR || path.resolve(INTEROP_DIR, '../..');
export const BIN_DIR = process.env.SIO_BIN_DIR || path.join(SOURCE_DIR, 'build', 'bin');

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

// The first port the kernel hands out as a connection's source port (ip_local_port_range).
function ephemeralLow() {
  try {
    const lo = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0]);
    return Number.isInteger(lo) && lo > 2048 ? lo : 32768;
  } catch {
    return 32768;
  }
}

function tryListen(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', () => resolve(0));
    srv.listen(port, '127.0.0.1', () => {
      const got = srv.address().port;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, picked at random below the
 * ephemeral range: a port from bind(0) comes from that range, where the many outgoing
 * connections of the tests running beside this one (clients, load generators, Redis links)
 * take their source ports, so it could be taken between our check and the server's bind
 * (EADDRINUSE). Below the range only another test's pick can collide, and the check makes
 * that rarer still. Falls back to bind(0) if no port there is free.
 */
export async function freePort() {
  const hi = ephemeralLow() - 1;
  const lo = Math.max(1024, hi - 12000);
  for (let i = 0; i < 64; i++) {
    const port = await tryListen(lo + Math.floor(Math.random() * (hi - lo + 1)));
    if (port) return port;
  }
  const port = await tryListen(0);
  if (!port) throw new Error('freePort: no free port on 127.0.0.1');
  return port;
}

/**
 * Which conformance server the tests talk to: the C binary (default) or, with
 * SIO_TEST_TARGET=reference, the Node reference server. `skip` is a message when the
 * C binary has not been built yet (node:test's `skip` option takes it as is).
 */
export function conformanceTarget() {
  if (process.env.SIO_TEST_TARGET === 'reference') {
    return {
      name: 'reference (Node engine.io/socket.io)',
      reference: true,
      command: process.execPath,
      args: (port) => [path.join(INTEROP_DIR, 'reference', 'conformance-server.mjs'), '--port', String(port)],
      skip: false,
    };
  }
  const bin = path.join(BIN_DIR, 'conformance');
  return {
    name: `sio (${bin})`,
    reference: false,
    command: bin,
    args: (port) => ['--port', String(port)],
    skip: existsSync(bin) ? false
      : `${bin} is not built yet (set SIO_BIN_DIR, or SIO_TEST_TARGET=reference to test the Node reference server)`,
  };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(true); });
    sock.once('error', () => resolve(false));
  });
}

const SANITIZER_RE = /(ERROR: (Address|Leak|Undefined|Memory|Thread)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer)/;

/**
 * Spawns `command args` and resolves once it has printed a URL on stdout and accepts TCP
 * connections on `port`. Rejects (with its output) if it exits first or takes too long.
 */
export async function startServer({ command, args, port, env = {}, startupMs = budget(10000) }) {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  const verbose = !!process.env.SIO_TEST_VERBOSE;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => { stdout = (stdout + d).slice(-65536); if (verbose) process.stderr.write(d); });
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-262144); if (verbose) process.stderr.write(d); });
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(child);
      resolve(exitInfo);
    });
  });
  child.once('error', (err) => { exitInfo = exitInfo || { code: null, signal: null, error: err }; });
  let stopping = false;

  const handle = {
    port,
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    child,
    exited,
    get exitInfo() { return exitInfo; },
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    /** True while the process runs. */
    alive() { return exitInfo === null; },
    /** A sanitizer report found in stderr, or null. */
    sanitizerReport() {
      const m = SANITIZER_RE.exec(stderr);
      return m ? stderr.slice(Math.max(0, m.index - 200), m.index + 4000) : null;
    },
    /** Describes an unexpected death (crash or early exit) or returns null. */
    crashReport() {
      if (exitInfo === null || stopping) return null;
      return `server (pid ${child.pid}) exited unexpectedly: code=${exitInfo.code} signal=${exitInfo.signal}\n` +
        `--- stderr (tail) ---\n${stderr.slice(-4000)}`;
    },
    /** Ends the process by PID: SIGTERM, then SIGKILL after a grace period. */
    async stop(graceMs = budget(6000)) {
      if (exitInfo !== null) return exitInfo;
      stopping = true;
      try { process.kill(child.pid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
      const info = await exited;
      clearTimeout(t);
      return info;
    },
  };

  const deadline = Date.now() + startupMs;
  for (;;) {
    if (exitInfo !== null) {
      throw new Error(`server exited during startup (code=${exitInfo.code} signal=${exitInfo.signal}` +
        `${exitInfo.error ? ' ' + exitInfo.error.message : ''})\nstdout: ${stdout}\nstderr: ${stderr.slice(-4000)}`);
    }
    if (/https?:\/\/\S+/.test(stdout) && await canConnect(port)) break;
    if (Date.now() > deadline) {
      await handle.stop(500);
      throw new Error(`server did not print its URL and listen on port ${port} within ${startupMs} ms\n` +
        `stdout: ${stdout}\nstderr: ${stderr.slice(-4000)}`);
    }
    await sleep(20);
  }
  return handle;
}

/**
 * Starts the conformance server of `target` on a free port. Another process may take the
 * port between our probe and the server's bind (the server then exits at once): try again
 * on a fresh port, up to three times.
 */
export async function startConformance(target = conformanceTarget()) {
  let lastError;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await startServer({ command: target.command, args: target.args(port), port });
    } catch (e) {
      lastError = e;
      if (!/exited during startup/.test(e.message)) throw e;
    }
  }
  throw lastError;
}

/**
 * Stops `server` and throws if it had crashed during the tests or printed a sanitizer
 * report: the tests may have passed, but the server must not misbehave behind them.
 */
export async function stopAndCheck(server) {
  if (!server) return;
  const crash = server.crashReport();
  const info = await server.stop();
  if (crash) throw new Error(crash);
  const report = server.sanitizerReport();
  if (report) throw new Error(`sanitizer report from the server:\n${report}`);
  // Asked to stop with SIGTERM: exiting 0 or dying of that signal is fine (SIGKILL means it
  // outlived the grace period); anything else is a failure in shutdown.
  const okSignal = info.signal === null || info.signal === 'SIGTERM' || info.signal === 'SIGKILL';
  if (!okSignal || (info.code !== null && info.code !== 0)) {
    throw new Error(`server (pid ${server.pid}) ended badly on SIGTERM: code=${info.code} signal=${info.signal}\n` +
      `--- stderr (tail) ---\n${server.stderr.slice(-4000)}`);
  }
}
