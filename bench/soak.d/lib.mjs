// Shared plumbing for the soak (bench/soak.d/soak.mjs) and its shortened test: starting and
// killing servers and client processes by PID, free ports, /proc figures, the C client binary.
//
// Everything started here is recorded in `children` and killed on exit, on SIGINT/SIGTERM and
// on an uncaught error, so that a failed run never leaves a server or 19,000 sockets behind.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = new Set();
let cleanupInstalled = false;

function killAll() {
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {}
  }
  children.clear();
}

function installCleanup() {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** A free TCP port on 127.0.0.1 (bound once by us, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Spawns a tracked child; output lines go to `onLine` and into `log` (bounded). */
export function track(cmd, args, { env, onLine, stdin = 'ignore', keepLog = 2000 } = {}) {
  installCleanup();
  const p = spawn(cmd, args, { env: env ?? process.env, stdio: [stdin, 'pipe', 'pipe'] });
  children.add(p);
  p.stdin?.on('error', () => {});
  const rec = { proc: p, pid: p.pid, log: [], exited: null, listeners: [] };
  rec.done = new Promise((resolve) => {
    p.on('exit', (code, signal) => {
      children.delete(p);
      rec.exited = { code, signal };
      resolve(rec.exited);
    });
    p.on('error', (err) => {
      children.delete(p);
      rec.exited = { code: -1, signal: null, error: err.message };
      resolve(rec.exited);
    });
  });
  for (const stream of [p.stdout, p.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (d) => {
      rest += d;
      let i;
      while ((i = rest.indexOf('\n')) >= 0) {
        const line = rest.slice(0, i);
        rest = rest.slice(i + 1);
        if (rec.log.length < keepLog) rec.log.push(line);
        else if (rec.log.length === keepLog) rec.log.push('... (log truncated)');
        onLine?.(line);
        for (const l of rec.listeners.slice()) l(line);
      }
    });
  }
  rec.kill = async (sig = 'SIGKILL', waitMs = 5000) => {
    if (rec.exited) return rec.exited;
    try {
      process.kill(p.pid, sig);
    } catch {}
    const t = setTimeout(() => {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {}
    }, waitMs);
    const r = await rec.done;
    clearTimeout(t);
    return r;
  };
  /** Resolves with the first line (already logged or future) matching re, or null on timeout. */
  rec.waitLine = (re, ms) =>
    new Promise((resolve) => {
      const old = rec.log.find((l) => re.test(l));
      if (old) return resolve(old);
      const t = setTimeout(() => {
        rec.listeners = rec.listeners.filter((x) => x !== fn);
        resolve(null);
      }, ms);
      const fn = (line) => {
        if (!re.test(line)) return;
        clearTimeout(t);
        rec.listeners = rec.listeners.filter((x) => x !== fn);
        resolve(line);
      };
      rec.listeners.push(fn);
      rec.done.then(() => {
        setTimeout(() => {
          if (rec.listeners.includes(fn)) {
            clearTimeout(t);
            rec.listeners = rec.listeners.filter((x) => x !== fn);
            resolve(rec.log.find((l) => re.test(l)) ?? null);
          }
        }, 50);
      });
    });
  rec.send = (line) => {
    if (rec.exited || !p.stdin || p.stdin.destroyed) return;
    try {
      p.stdin.write(line + '\n');
    } catch {}
  };
  return rec;
}

/** Parses "WORD k=v k=v err=\"...\"" into {word, k: number|string}. */
export function parseKV(line) {
  const out = { word: line.split(' ')[0] };
  const re = /(\w+)=("([^"]*)"|\S+)/g;
  let m;
  while ((m = re.exec(line))) out[m[1]] = m[3] !== undefined ? m[3] : isNaN(Number(m[2])) ? m[2] : Number(m[2]);
  return out;
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitPort(port, ms, rec) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (rec?.exited) return false;
    const ok = await new Promise((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

/** /proc/PID/status figures in bytes: rss, hwm. */
export function memOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [0, 0])[1]) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

export function fdCount(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** User + system CPU seconds of a process. */
export function cpuOf(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; /* utime, stime in clock ticks (USER_HZ 100) */
  } catch {
    return 0;
  }
}

/**
 * The C client: <bin>/soak-client when CMake built it, else compiled here (plain cc, no
 * sanitizer, -O2) into a cache folder, rebuilt when the source is newer.
 */
export function clientBinary(binDir) {
  const src = path.join(path.dirname(new URL(import.meta.url).pathname), 'soak-client.c');
  const built = binDir && path.join(binDir, 'soak-client');
  const srcTime = fs.statSync(src).mtimeMs;
  if (built && fs.existsSync(built) && fs.statSync(built).mtimeMs >= srcTime) return built;
  const dir = path.join(binDir ? path.dirname(binDir) : os.tmpdir(), 'soak');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, 'soak-client');
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= srcTime) return out;
  const tmp = `${out}.${process.pid}`;
  const r = spawnSync('cc', ['-O2', '-g', '-std=gnu17', '-Wall', '-Wextra', '-o', tmp, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build soak-client: ${r.stderr}`);
  fs.renameSync(tmp, out);
  return out;
}
