#!/usr/bin/env node
// The soak (issue 7): scale, churn, leaks, slow consumers, resource exhaustion, bad input and
// slowloris against one Socket.IO server process, each scenario with its own server on a free
// 127.0.0.1 port, bounded in count and time, ending with a summary table.
//
//   node bench/soak.d/soak.mjs <build-dir> [--server sio|node] [--short] [--only a,b] [--json F]
//
// The server is <build-dir>/bin/bench (sio, the default; the fuzz replay and the leak check use
// the ASan build build-asan/bin/bench when it exists) or the Node twin bench/node/servers.js
// (`--server node`, to validate the tools and to compare). Clients are bench/soak.d/soak-client
// (C, epoll), several processes spread over 127.0.0.x source addresses, because one process may
// hold 20,000 descriptors at most. Figures that sio cannot meet yet are reported as FAIL.
//
// `runSoak()` is also what tests/interop/soak-short.test.mjs calls with the short preset.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { clientBinary, cpuOf, fdCount, freePort, memOf, parseKV, sleep, track, waitPort } from './lib.mjs';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const SOURCE = path.resolve(HERE, '..', '..');

/** Scenario sizes. `full` is `make soak`; `short` runs inside `make test` (~60 s). */
export const PRESETS = {
  full: {
    scale: { clients: 19000, procs: 4, connectSecs: 120, bcastSecs: 30 },
    churn: { cycles: 200000, procs: 2, concurrency: 64, warmup: 2000, maxSecs: 150, settleSecs: 50 },
    leak: { cycles: 3000, concurrency: 16, maxSecs: 60 },
    slow: { slow: 10, fast: 4, size: 65536, total: 100e6, rate: 20e6, repeats: 3, p99Floor: 5000, maxSecs: 90, fixedBound: 16 << 20 },
    exhaust: { nofile: 1024, extra: 200, emfileTries: 100 },
    fuzz: { secs: 40, workers: 24, legit: 20 },
    loris: { conns: 10000, interval: 3, legit: 50, legitSecs: 15, holdSecs: 1 },
  },
  short: {
    scale: { clients: 1000, procs: 2, connectSecs: 30, bcastSecs: 10, fixedAllowance: 512 << 10 },
    churn: { cycles: 5000, procs: 1, concurrency: 32, warmup: 300, maxSecs: 25, settleSecs: 8, rssSlack: 2 << 20 },
    leak: { cycles: 300, concurrency: 8, maxSecs: 20 },
    slow: { slow: 2, fast: 4, size: 65536, total: 30e6, rate: 15e6, repeats: 2, p99Floor: 5000, maxSecs: 20, fixedBound: 16 << 20 },
    exhaust: { nofile: 256, extra: 50, emfileTries: 30 },
    fuzz: { secs: 6, workers: 8, legit: 5 },
    loris: { conns: 500, interval: 2, legit: 10, legitSecs: 12, holdSecs: 1 },
  },
};
export const SCENARIOS = ['scale', 'churn', 'leak', 'slow', 'exhaust', 'fuzz', 'loris'];
const SEND_LIMIT = 1 << 20; /* the per-connection send buffer limit (DESIGN defaults) */
const MEM_PER_CLIENT = 1536; /* DESIGN target: 1.5 KiB of user space per connected client */

let srcNext = 2;
/** Eight fresh source addresses 127.0.0.x per client process. */
function src() {
  if (srcNext + 8 > 254) srcNext = 2;
  const r = { 'src-base': srcNext, 'src-count': 8 };
  srcNext += 8;
  return r;
}

function say(msg) {
  process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Starts the server under test; resolves with its tracked process (`ok` false if it never listened). */
async function startServer(cfg, opts = {}) {
  // A free port can be taken by someone else between our probe and the server's bind: retry.
  for (let attempt = 0; ; attempt++) {
    const rec = await startServerOnce(cfg, opts);
    if (rec.ok || attempt >= 2 || !rec.log.some((l) => /address already in use|EADDRINUSE/i.test(l))) return rec;
    await rec.kill('SIGKILL', 1000);
  }
}

async function startServerOnce(cfg, { asan = false, nofile = 0, valgrind = false } = {}) {
  const port = await freePort();
  let cmd, args;
  let kind = cfg.server;
  if (cfg.server === 'node') {
    cmd = process.execPath;
    args = [path.join(SOURCE, 'bench/node/servers.js'), 'socketio', '--port', String(port)];
  } else {
    cmd = asan && cfg.asanBin ? cfg.asanBin : cfg.bin;
    if (asan && cfg.asanBin) kind = 'sio-asan';
    args = ['--port', String(port)];
  }
  if (valgrind) {
    args = ['--quiet', '--leak-check=full', '--show-leak-kinds=definite,indirect', '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99', cmd, ...args];
    cmd = 'valgrind';
    kind += '+valgrind';
  }
  if (nofile) {
    args = [`--nofile=${nofile}:${nofile}`, '--', cmd, ...args];
    cmd = 'prlimit';
  }
  const env = { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' };
  const rec = track(cmd, args, { env, keepLog: 5000 });
  const logFile = path.join(cfg.logDir, `${cfg.current}-${++cfg.serverCount}.log`);
  rec.done.then((ex) => {
    try {
      fs.writeFileSync(logFile, [`# ${cmd} ${args.join(' ')}`, ...rec.log, `# exit ${JSON.stringify(ex)}`].join('\n') + '\n');
    } catch {}
  });
  rec.logFile = logFile;
  rec.port = port;
  rec.kind = kind;
  rec.ok = await waitPort(port, valgrind || asan ? 30000 : 15000, rec);
  return rec;
}

/** Starts one soak-client process. */
function client(cfg, mode, port, opts = {}) {
  const args = [mode, '--port', String(port)];
  for (const [k, v] of Object.entries(opts)) {
    if (v === true) args.push(`--${k}`);
    else if (v !== false && v !== undefined) args.push(`--${k}`, String(v));
  }
  return track(cfg.clientBin, args, { stdin: 'pipe' });
}

async function readyOf(rec, ms) {
  const l = await rec.waitLine(/^READY /, ms);
  return l ? parseKV(l) : { ready: 0, failed: 0, started: 0, err: 'no READY line (timeout)' };
}

async function finish(...recs) {
  await Promise.all(recs.filter(Boolean).map((r) => (r.send('quit'), r.kill('SIGTERM', 3000))));
}

class Rows {
  constructor() {
    this.list = [];
  }
  add(scenario, figure, value, limit, pass, note = '') {
    this.list.push({ scenario, figure, value: String(value), limit: String(limit), pass, note });
    say(`${scenario}: ${figure} = ${value} (limit ${limit}) ${pass === null ? 'INFO' : pass ? 'PASS' : 'FAIL'}${note ? ' - ' + note : ''}`);
  }
}

/** Memory limits are judged on normal builds only: ASan's shadow and quarantine are not sio's. */
const memJudged = (cfg, pass) => (cfg.sanitized ? null : pass);
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

/* ---- 1. scale ---- */
async function scale(cfg, rows) {
  const p = cfg.preset.scale;
  const srv = await startServer(cfg);
  if (!srv.ok) return rows.add('scale', 'server start', 'did not listen', 'listening', false, srv.log.slice(-3).join(' | '));
  const procs = [];
  try {
    await sleep(500);
    // Warm-up, as the bench's idle row does: the first handshakes allocate what is allocated
    // once per process (OpenSSL's RNG and digest state, the first heap arenas), which is not
    // per-client memory.
    const warm = client(cfg, 'hold', srv.port, { conns: 50, concurrency: 50, timeout: 10, duration: 30, ...src() });
    await readyOf(warm, 15000);
    await finish(warm);
    await sleep(1000);
    const rss0 = memOf(srv.pid).rss;
    const per = Math.ceil(p.clients / p.procs);
    for (let left = p.clients; left > 0; left -= per) {
      procs.push(client(cfg, 'hold', srv.port, { conns: Math.min(per, left), concurrency: 128, timeout: p.connectSecs, duration: p.connectSecs + p.bcastSecs + 60, ...src() }));
    }
    const readies = await Promise.all(procs.map((c) => readyOf(c, (p.connectSecs + 5) * 1000)));
    const ready = readies.reduce((a, r) => a + (r.ready || 0), 0);
    const t0 = Math.min(...readies.map((r) => r.t_first || Infinity));
    const t1 = Math.max(...readies.map((r) => r.t_ready || 0));
    const secs = (t1 - t0) / 1e9;
    const errs = readies.map((r) => r.err).filter(Boolean);
    rows.add('scale', 'clients connected', `${ready}/${p.clients}`, `${p.clients}`, ready === p.clients, errs[0] || '');
    rows.add('scale', 'connect rate', secs > 0 ? `${Math.round(ready / secs)}/s` : '-', 'report', null, `${secs.toFixed(2)} s for all`);
    await sleep(1000);
    const rss1 = memOf(srv.pid).rss;
    const per1 = ready ? (rss1 - rss0) / ready : 0;
    // Short runs allow a fixed amount (buffers and pools allocated once) spread over the few clients.
    const limit = MEM_PER_CLIENT + (p.fixedAllowance || 0) / p.clients;
    rows.add('scale', 'server memory per client', `${Math.round(per1)} B`, `<= ${Math.round(limit)} B`, memJudged(cfg, ready > 0 && per1 <= limit), `VmRSS ${mib(rss0)} -> ${mib(rss1)}${p.fixedAllowance ? `; limit = ${MEM_PER_CLIENT} B + ${mib(p.fixedAllowance)} / ${p.clients}` : ''}`);
    // one broadcast to everyone, timed from the emit to the last delivery (CLOCK_MONOTONIC across processes)
    procs[0].send('bcast');
    const emitted = parseKV((await procs[0].waitLine(/^EMITTED /, 5000)) || 'EMITTED emit_ns=0');
    let reps = await Promise.all(procs.map((c) => c.waitLine(/^BCAST /, p.bcastSecs * 1000)));
    for (let i = 0; i < procs.length; i++) if (!reps[i]) procs[i].send('report');
    reps = await Promise.all(procs.map((c, i) => reps[i] ?? c.waitLine(/^BCAST /, 3000)));
    const b = reps.map((l) => parseKV(l || 'BCAST got=0'));
    const got = b.reduce((a, r) => a + (r.got || 0), 0);
    const last = Math.max(...b.map((r) => r.last_ns || 0));
    const ms = emitted.emit_ns && last ? (last - emitted.emit_ns) / 1e6 : NaN;
    rows.add('scale', 'broadcast reached', `${got}/${ready}`, `${p.clients}`, got === p.clients && ready === p.clients);
    rows.add('scale', 'broadcast emit -> last delivery', isNaN(ms) ? '-' : `${ms.toFixed(1)} ms`, 'report', null);
    const lost = b.reduce((a, r) => a + (r.lost || 0), 0);
    if (lost) rows.add('scale', 'connections lost while held', lost, '0', false);
  } finally {
    await finish(...procs);
    await srv.kill('SIGTERM', 5000);
  }
}

/* ---- 2. churn ---- */
async function runChurn(cfg, port, cycles, procs, concurrency, maxSecs, onProgress) {
  const recs = [];
  const per = Math.ceil(cycles / procs);
  for (let left = cycles; left > 0; left -= per) {
    const rec = client(cfg, 'churn', port, { cycles: Math.min(per, left), conns: concurrency, duration: maxSecs, timeout: 10, ...src() });
    recs.push(rec);
  }
  let lastSay = Date.now();
  for (const r of recs)
    r.listeners.push((line) => {
      if (onProgress && line.startsWith('PROGRESS') && Date.now() - lastSay > 10000) {
        lastSay = Date.now();
        onProgress(recs.map((x) => parseKV(x.log.filter((l) => l.startsWith('PROGRESS')).pop() || 'P done=0').done).reduce((a, b) => a + b, 0));
      }
    });
  await Promise.all(recs.map((r) => r.done));
  const res = recs.map((r) => parseKV(r.log.find((l) => l.startsWith('CHURN ')) || 'CHURN done=0 failed=0 err="no result"'));
  const sum = (k) => res.reduce((a, r) => a + (Number(r[k]) || 0), 0);
  return { done: sum('done'), failed: sum('failed'), echoed: sum('echoed'), secs: Math.max(...res.map((r) => r.secs || 0)), res, err: res.map((r) => r.err).find(Boolean) || '' };
}

async function churn(cfg, rows) {
  const p = cfg.preset.churn;
  const srv = await startServer(cfg);
  if (!srv.ok) return rows.add('churn', 'server start', 'did not listen', 'listening', false);
  try {
    await runChurn(cfg, srv.port, p.warmup, 1, p.concurrency, 30);
    await sleep(1500);
    const fd0 = fdCount(srv.pid);
    const rss0 = memOf(srv.pid).rss;
    say(`churn: ${p.cycles} cycles (baseline after ${p.warmup} warm-up cycles: ${fd0} fds, ${mib(rss0)})`);
    const r = await runChurn(cfg, srv.port, p.cycles, p.procs, p.concurrency, p.maxSecs, (n) => say(`churn: ${n} cycles`));
    const mixNote = r.res.map((x) => `ws ${x.ws_clean}+${x.ws_abrupt} abrupt, polling ${x.poll_clean}+${x.poll_abrupt_post}+${x.poll_abrupt_held} abrupt`).join('; ');
    rows.add('churn', 'cycles completed', `${r.done}/${p.cycles}`, `${p.cycles}, <0.1% failed`, r.done >= p.cycles && r.failed <= p.cycles / 1000, `${r.failed} failed${r.err ? ' (' + r.err + ')' : ''}; ${mixNote}`);
    rows.add('churn', 'cycle rate', r.secs ? `${Math.round(r.done / r.secs)}/s` : '-', 'report', null);
    if (srv.exited) return rows.add('churn', 'server alive', 'exited', 'alive', false, JSON.stringify(srv.exited));
    // Abandoned polling sessions live until the heartbeat gives up (pingInterval + pingTimeout).
    const end = Date.now() + p.settleSecs * 1000;
    let fd1, rss1, waited = 0;
    const t0 = Date.now();
    for (;;) {
      fd1 = fdCount(srv.pid);
      rss1 = memOf(srv.pid).rss;
      if ((fd1 <= fd0 && rss1 <= rss0 * 1.1 + (p.rssSlack || 0)) || Date.now() > end) break;
      await sleep(1000);
    }
    waited = (Date.now() - t0) / 1000;
    rows.add('churn', 'open fds after vs start', `${fd1} vs ${fd0}`, '<= start', fd1 <= fd0, `after ${waited.toFixed(0)} s`);
    const slack = p.rssSlack || 0;
    rows.add('churn', 'RSS after vs start', `${mib(rss1)} vs ${mib(rss0)} (${(((rss1 - rss0) / rss0) * 100).toFixed(1)}%)`, slack ? `<= +10% + ${mib(slack)}` : '<= +10%', memJudged(cfg, rss1 <= rss0 * 1.1 + slack));
  } finally {
    await srv.kill('SIGTERM', 5000);
  }
}

/* ---- 2b. leaks: a shorter churn under ASan/LSan (or Valgrind), then a clean shutdown ---- */
async function leak(cfg, rows) {
  const p = cfg.preset.leak;
  if (cfg.server === 'node') return rows.add('leak', 'LSan/Valgrind after churn', 'n/a (node)', 'no leak', null);
  const useAsan = Boolean(cfg.asanBin);
  const useValgrind = !useAsan && fs.existsSync('/usr/bin/valgrind');
  if (!useAsan && !useValgrind) return rows.add('leak', 'LSan/Valgrind after churn', 'no ASan build, no valgrind', 'no leak', false);
  const srv = await startServer(cfg, { asan: useAsan, valgrind: useValgrind });
  if (!srv.ok) return rows.add('leak', 'server start', 'did not listen', 'listening', false);
  const r = await runChurn(cfg, srv.port, p.cycles, 1, p.concurrency, p.maxSecs);
  await sleep(500);
  const ex = await srv.kill('SIGTERM', 15000);
  const reports = srv.log.filter((l) => /LeakSanitizer|AddressSanitizer|runtime error|definitely lost|indirectly lost|Invalid (read|write)/.test(l));
  const cleanExit = ex.code === 0;
  rows.add('leak', `${srv.kind}: leak reports after ${r.done} churn cycles`, reports.length ? reports[0].slice(0, 80) : 'none', 'none, clean exit on SIGTERM', cleanExit && reports.length === 0 && r.done > 0, cleanExit ? '' : `exit ${JSON.stringify(ex)}: ${ex.signal ? 'killed by signal, so the leak checker could not run' : 'non-zero exit'}`);
}

/* ---- 3. slow consumers ---- */
async function slowRun(cfg, slowCount) {
  const p = cfg.preset.slow;
  const srv = await startServer(cfg);
  if (!srv.ok) return { error: 'server did not listen' };
  let fast, slow, bc;
  try {
    fast = client(cfg, 'echo', srv.port, { conns: p.fast, interval: 0.01, duration: p.maxSecs + 30, size: 32, ...src() });
    slow = slowCount ? client(cfg, 'hold', srv.port, { conns: slowCount, slow: true, rcvbuf: 4096, duration: p.maxSecs + 60, ...src() }) : null;
    const rf = await readyOf(fast, 10000);
    const rs = slow ? await readyOf(slow, 10000) : { ready: 0 };
    await sleep(500);
    const base = memOf(srv.pid).rss;
    let peak = base;
    const timer = setInterval(() => {
      peak = Math.max(peak, memOf(srv.pid).rss);
    }, 50);
    bc = client(cfg, 'bcaster', srv.port, { size: p.size, total: p.total, rate: p.rate, inflight: 4, duration: p.maxSecs, ...src() });
    await bc.done;
    clearInterval(timer);
    peak = Math.max(peak, memOf(srv.pid).rss);
    const bl = parseKV(bc.log.find((l) => l.startsWith('BCASTER')) || 'BCASTER bytes=0');
    fast.send('quit');
    const el = parseKV((await fast.waitLine(/^ECHO /, 10000)) || 'ECHO sent=0 recv=0');
    let drain = null;
    if (slow) {
      slow.send('drain');
      await sleep(2000);
      slow.send('drained');
      drain = parseKV((await slow.waitLine(/^DRAIN /, 5000)) || 'DRAIN closed=0 open=0');
    }
    const logged = srv.log.filter((l) => /slow|send buffer|buffered|backpressure|drain/i.test(l));
    return { base, peak, bl, el, drain, rf, rs, logged, alive: !srv.exited };
  } finally {
    await finish(fast, slow, bc);
    await srv.kill('SIGTERM', 5000);
  }
}

/* Volatile broadcasts to clients that stopped reading: needs a "vbcast" handler in the server
 * (socket.on("vbcast", (m) => io.volatile.emit("vbcast", m))); without one this is a FAIL. */
async function volatileRows(cfg, rows) {
  const p = cfg.preset.slow;
  const srv = await startServer(cfg);
  if (!srv.ok) return rows.add('slow', 'volatile: server start', 'did not listen', 'listening', false);
  let slow, bc;
  try {
    slow = client(cfg, 'hold', srv.port, { conns: p.slow, slow: true, rcvbuf: 4096, duration: p.maxSecs + 60, ...src() });
    await readyOf(slow, 10000);
    await sleep(300);
    const base = memOf(srv.pid).rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, memOf(srv.pid).rss)), 50);
    bc = client(cfg, 'bcaster', srv.port, { event: 'vbcast', size: p.size, total: p.total, rate: p.rate, inflight: 1e9, duration: p.maxSecs, ...src() });
    await bc.done;
    clearInterval(timer);
    const bl = parseKV(bc.log.find((l) => l.startsWith('BCASTER')) || 'BCASTER msgs=0');
    slow.send('drain');
    await sleep(2000);
    slow.send('drained');
    const d = parseKV((await slow.waitLine(/^DRAIN /, 5000)) || 'DRAIN vbcast=0 closed=0');
    if (!bl.own_volatile) {
      return rows.add('slow', 'volatile packets dropped', 'not measurable', 'dropped', false, `the server never delivered a "vbcast" (bench needs socket.on("vbcast", m => io.volatile.emit("vbcast", m)) in both twins)`);
    }
    const sent = bl.msgs * p.slow;
    const grew = peak - base;
    const bound = p.slow * SEND_LIMIT + p.fixedBound;
    rows.add('slow', 'volatile packets dropped for slow clients', `${sent - d.vbcast} of ${sent} dropped`, '> 0 dropped', d.vbcast < sent, `${d.closed} of ${p.slow} slow clients disconnected; the sender got ${bl.own_volatile}/${bl.msgs} of its own`);
    rows.add('slow', 'volatile: server memory growth', mib(grew), `<= ${mib(bound)}`, memJudged(cfg, grew <= bound));
  } finally {
    await finish(slow, bc);
    await srv.kill('SIGTERM', 5000);
  }
}

async function slowConsumers(cfg, rows) {
  const p = cfg.preset.slow;
  const total = `${Math.round(p.total / 1e6)} MB at up to ${Math.round(p.rate / 1e6)} MB/s`;
  // Runs alternate (without, with, without, with...) and the best p99 of each kind is compared,
  // so that one scheduling hiccup on a small machine does not decide the ratio.
  const as = [], bs = [];
  for (let i = 0; i < (p.repeats || 1); i++) {
    say(`slow: baseline run ${i + 1} (no slow clients), ${total} broadcast`);
    as.push(await slowRun(cfg, 0));
    say(`slow: run ${i + 1} with ${p.slow} slow clients, ${total} broadcast`);
    bs.push(await slowRun(cfg, p.slow));
  }
  const err = [...as, ...bs].find((r) => r.error);
  if (err) return rows.add('slow', 'server start', err.error, 'listening', false);
  const best = (runs) => runs.reduce((x, y) => ((y.el.p99_us || Infinity) < (x.el.p99_us || Infinity) ? y : x));
  const worstMem = (runs) => runs.reduce((x, y) => (y.peak - y.base > x.peak - x.base ? y : x));
  const worstDrain = (runs) => runs.reduce((x, y) => ((y.drain?.closed ?? 0) < (x.drain?.closed ?? 0) ? y : x));
  const a = best(as);
  const b = worstMem(bs);
  const bLat = best(bs);
  const bDrain = worstDrain(bs);
  const bound = p.slow * SEND_LIMIT + p.fixedBound;
  const grew = b.peak - b.base;
  rows.add('slow', `server memory growth, ${p.slow} slow clients`, mib(grew), `<= ${mib(bound)}`, memJudged(cfg, grew <= bound), `peak VmRSS ${mib(b.peak)}; broadcast ${mib(b.bl.bytes || 0)} in ${b.bl.secs}s; without slow clients it grew ${mib(a.peak - a.base)}`);
  rows.add('slow', 'broadcast completed', `${mib(b.bl.bytes || 0)} of ${mib(p.total)}`, 'all', (b.bl.bytes || 0) >= p.total && !b.bl.outstanding, b.bl.err || '');
  rows.add('slow', 'slow clients disconnected', `${bDrain.drain?.closed ?? 0}/${p.slow}`, `${p.slow}`, (bDrain.drain?.closed ?? 0) === p.slow);
  const logged = Math.min(...bs.map((r) => r.logged.length));
  rows.add('slow', 'disconnect reason logged', `${logged} line(s) per run`, `>= 1`, logged >= 1, bs[0].logged[0]?.slice(0, 90) || 'no server log line about a slow consumer');
  await volatileRows(cfg, rows);
  const pa = a.el.p99_us || 0;
  const pb = bLat.el.p99_us || 0;
  const lim = 2 * Math.max(pa, p.p99Floor || 1000);
  rows.add('slow', 'other clients p99 echo (with vs without slow)', `${(pb / 1000).toFixed(1)} ms vs ${(pa / 1000).toFixed(1)} ms`, `<= 2x (${(lim / 1000).toFixed(1)} ms)`, pb > 0 && pb <= lim, `best of ${bs.length}; all runs with: ${bs.map((r) => (r.el.p99_us / 1000).toFixed(1)).join(', ')} ms, without: ${as.map((r) => (r.el.p99_us / 1000).toFixed(1)).join(', ')} ms`);
  const sent = bs.reduce((x, r) => x + (r.el.sent || 0), 0);
  const recv = bs.reduce((x, r) => x + (r.el.recv || 0), 0);
  const lostConns = bs.reduce((x, r) => x + (r.el.lost_conns || 0), 0);
  rows.add('slow', 'other clients lost nothing', `${recv}/${sent}`, 'all', sent > 0 && recv === sent && !lostConns);
}

/* ---- 4. resource exhaustion ---- */
function httpProbe(port, ms = 3000) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let data = '';
    const t = setTimeout(() => (s.destroy(), resolve('timeout')), ms);
    s.on('connect', () => s.write(`GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => {
      data += d.toString('latin1');
      const m = data.match(/^HTTP\/1\.[01] (\d{3})/);
      if (m) {
        clearTimeout(t);
        s.destroy();
        resolve(m[1]);
      }
    });
    s.on('error', (e) => (clearTimeout(t), resolve(e.code || 'error')));
    s.on('close', () => (clearTimeout(t), resolve(data ? 'garbage' : 'closed')));
  });
}

async function exhaust(cfg, rows) {
  const p = cfg.preset.exhaust;
  const L = p.nofile;
  const srv = await startServer(cfg, { nofile: L });
  if (!srv.ok) return rows.add('exhaust', 'server start', 'did not listen', 'listening', false);
  const recs = [];
  try {
    await sleep(300);
    const limitLine = srv.log.find((l) => new RegExp(`\\b${L}\\b`).test(l) || /open-file limit|RLIMIT_NOFILE|fd limit|file descriptors/i.test(l));
    rows.add('exhaust', 'fd limit / cap logged at start', limitLine ? 'yes' : 'no', 'yes', Boolean(limitLine), limitLine ? limitLine.slice(0, 100) : `no start-up log line names the limit ${L} or the cap`);
    // past the cap: more websocket clients than descriptors
    const A = client(cfg, 'hold', srv.port, { conns: L + p.extra, concurrency: 64, timeout: 10, duration: 120, ...src() });
    recs.push(A);
    const ra = await readyOf(A, 20000);
    const probes = await Promise.all(Array.from({ length: 10 }, () => httpProbe(srv.port)));
    const refused = (ra.f503 || 0) + (ra.f1013 || 0);
    const other = (ra.failed || 0) - refused;
    const p503 = probes.filter((x) => x === '503').length;
    rows.add('exhaust', `ws clients past the cap (${L} fds): 503/1013`, `${ra.ready} in, ${refused} refused, ${other} other`, 'all excess 503/1013', ra.ready > 0 && other === 0 && refused > 0, `ws: 503 ${ra.f503}, 1013 ${ra.f1013}, reset ${ra.freset}, eof ${ra.feof}, timeout ${ra.ftimeout}; ${ra.err || ''}`);
    rows.add('exhaust', 'HTTP past the cap: 503', `${p503}/10`, '10/10', p503 === 10, `answers: ${[...new Set(probes)].join(',')}`);
    A.send('bcast');
    const ba = parseKV((await A.waitLine(/^BCAST /, 10000)) || 'BCAST got=0');
    rows.add('exhaust', 'held clients still served at the cap', `${ba.got}/${ra.ready}`, 'all', ra.ready > 0 && ba.got === ra.ready - (ba.lost || 0) && !ba.lost);
    A.send('quit');
    await A.done;
    await sleep(1500);
    // EMFILE: lower the server's soft limit to what it holds, then knock
    const A2 = client(cfg, 'hold', srv.port, { conns: 20, timeout: 10, duration: 120, ...src() });
    recs.push(A2);
    const ra2 = await readyOf(A2, 10000);
    // RLIMIT_NOFILE bounds descriptor numbers: the lowest free number is the limit that leaves none
    const open = new Set(fs.readdirSync(`/proc/${srv.pid}/fd`).map(Number));
    let fds = 0;
    while (open.has(fds)) fds++;
    const logBefore = srv.log.length;
    const pl = spawnSync('prlimit', ['--pid', String(srv.pid), `--nofile=${fds}:${L}`], { encoding: 'utf8' });
    if (pl.status !== 0) return rows.add('exhaust', 'EMFILE episode', 'prlimit failed', 'ran', false, pl.stderr.trim());
    const cpu0 = cpuOf(srv.pid);
    const w0 = Date.now();
    const B = client(cfg, 'hold', srv.port, { conns: p.emfileTries, concurrency: p.emfileTries, timeout: 4, duration: 10, ...src() });
    recs.push(B);
    await sleep(3000);
    const cpuPct = ((cpuOf(srv.pid) - cpu0) / ((Date.now() - w0) / 1000)) * 100;
    A2.send('bcast');
    const ba2 = parseKV((await A2.waitLine(/^BCAST /, 5000)) || 'BCAST got=0');
    await B.done;
    const rb = parseKV(B.log.find((l) => l.startsWith('READY ')) || 'READY ready=0 failed=0');
    spawnSync('prlimit', ['--pid', String(srv.pid), `--nofile=${L}:${L}`]);
    await sleep(500);
    const C = client(cfg, 'hold', srv.port, { conns: 10, timeout: 10, duration: 30, ...src() });
    recs.push(C);
    const rc = await readyOf(C, 12000);
    const episode = srv.log.slice(logBefore).filter((l) => /EMFILE|ENFILE|too many open files|file descriptors/i.test(l));
    rows.add('exhaust', 'EMFILE: new clients refused', `${rb.failed}/${p.emfileTries}`, `${p.emfileTries}`, rb.ready === 0, `soft limit lowered to ${fds}, the lowest free descriptor; ${rb.ready} got in; ${rb.err || ''}`);
    rows.add('exhaust', 'EMFILE: server CPU while refused', `${cpuPct.toFixed(0)}%`, '< 20% (no spin)', cpuPct < 20 && !srv.exited);
    rows.add('exhaust', 'EMFILE: held clients still served', `${ba2.got}/${ra2.ready}`, 'all', ra2.ready > 0 && ba2.got === ra2.ready);
    rows.add('exhaust', 'EMFILE: episode logged once', `${episode.length} line(s)`, '1', episode.length === 1, episode[0]?.slice(0, 90) || '');
    rows.add('exhaust', 'after EMFILE: new clients connect', `${rc.ready}/10`, '10', rc.ready === 10 && !srv.exited, srv.exited ? `server exited ${JSON.stringify(srv.exited)}` : '');
  } finally {
    await finish(...recs);
    await srv.kill('SIGTERM', 5000);
  }
}

/* ---- 5. bad input at scale: fuzz corpora replayed over TCP ---- */
function loadCorpora() {
  const kinds = { parser: 'http', payload: 'eio', packet: 'sio', json: 'json' };
  const out = [];
  const skipped = [];
  const fuzzDir = path.join(SOURCE, 'fuzz');
  for (const layer of fs.existsSync(fuzzDir) ? fs.readdirSync(fuzzDir) : []) {
    const ld = path.join(fuzzDir, layer);
    if (!fs.statSync(ld).isDirectory()) continue;
    for (const d of fs.readdirSync(ld)) {
      if (!d.startsWith('corpus_')) continue;
      const name = d.slice(7);
      const kind = layer === 'ws' ? (name === 'inflate' ? 'ws-inflate' : 'ws-frame') : kinds[name];
      if (!kind) {
        skipped.push(`${layer}/${d}`);
        continue;
      }
      for (const f of fs.readdirSync(path.join(ld, d))) {
        const fp = path.join(ld, d, f);
        if (fs.statSync(fp).isFile()) out.push({ kind, data: fs.readFileSync(fp), name: `${layer}/${d}/${f}` });
      }
    }
  }
  return { inputs: out, skipped };
}

function mutate(buf) {
  let b = Buffer.from(buf);
  const ops = 1 + Math.floor(Math.random() * 4);
  for (let i = 0; i < ops; i++) {
    const r = Math.random();
    const at = Math.floor(Math.random() * (b.length + 1));
    if (r < 0.3 && b.length) b[Math.min(at, b.length - 1)] ^= 1 << Math.floor(Math.random() * 8);
    else if (r < 0.5) b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(Math.random() * 256)]), b.subarray(at)]);
    else if (r < 0.65) b = b.subarray(0, at);
    else if (r < 0.8) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.floor(Math.random() * b.length))]);
    else if (r < 0.9) b = Buffer.concat([b, b.subarray(0, Math.min(b.length, 4096))]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from(['"', '\\', '[', ']', '{', '}', '\x1e', '\xff', '0', '\u00e9'][Math.floor(Math.random() * 10)], 'utf8'), b.subarray(at)]);
  }
  return b;
}

function wsFrame(opcode, payload, { fin = true, mask = true } = {}) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | n]) : n < 65536 ? Buffer.from([(fin ? 0x80 : 0) | opcode, (mask ? 0x80 : 0) | 126, n >> 8, n & 255]) : (() => {
    const h = Buffer.alloc(10);
    h[0] = (fin ? 0x80 : 0) | opcode;
    h[1] = (mask ? 0x80 : 0) | 127;
    h.writeBigUInt64BE(BigInt(n), 2);
    return h;
  })();
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([Math.random() * 256, Math.random() * 256, Math.random() * 256, Math.random() * 256].map(Math.floor));
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([head, key, body]);
}

/** One raw TCP session: connect, `script(io)` writes and waits, then the socket is destroyed. */
function session(port, script, ms = 1500) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    let data = Buffer.alloc(0);
    let closed = false;
    const waiters = [];
    const io = {
      write: (b) => !closed && s.write(b),
      until: (needle, t = 500) =>
        new Promise((res) => {
          if (data.includes(needle)) return res(true);
          if (closed) return res(false);
          const w = { needle, res, t: setTimeout(() => (waiters.splice(waiters.indexOf(w), 1), res(false)), t) };
          waiters.push(w);
        }),
      get closed() {
        return closed;
      },
      text: () => data.toString('latin1'),
    };
    const done = (why) => {
      clearTimeout(timer);
      s.destroy();
      resolve({ why, answered: data.length > 0, closedByServer: closed });
    };
    const timer = setTimeout(() => done('timeout'), ms);
    s.on('data', (d) => {
      if (data.length < 65536) data = Buffer.concat([data, d]);
      for (const w of waiters.slice()) if (data.includes(w.needle)) (clearTimeout(w.t), waiters.splice(waiters.indexOf(w), 1), w.res(true));
    });
    s.on('close', () => {
      closed = true;
      for (const w of waiters.splice(0)) (clearTimeout(w.t), w.res(false));
    });
    s.on('error', () => {});
    s.on('connect', async () => {
      try {
        await script(io);
      } catch {}
      done('done');
    });
  });
}

const UPGRADE = (port) => `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ZnV6ei1yZXBsYXktMDAwMQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

async function wsOpen(io, port, sioConnect, deflate = false) {
  const up = UPGRADE(port);
  io.write(deflate ? up.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n') : up);
  if (!(await io.until('0{', 1000))) return false;
  if (sioConnect) {
    io.write(wsFrame(1, Buffer.from('40')));
    if (!(await io.until('40{', 1000))) return false;
  }
  return true;
}

async function replayOne(port, input, stats) {
  const data = Math.random() < 0.7 ? mutate(input.data) : input.data;
  const k = input.kind;
  stats.kinds[k] = (stats.kinds[k] || 0) + 1;
  let r;
  if (k === 'http') {
    r = await session(port, async (io) => {
      // in pieces, as a slow or odd client would send it
      for (let i = 0; i < data.length; ) {
        const n = 1 + Math.floor(Math.random() * Math.max(1, data.length));
        io.write(data.subarray(i, i + n));
        i += n;
      }
      await io.until('\r\n\r\n', 400);
    });
  } else if (k === 'eio' && Math.random() < 0.5) {
    r = await session(port, async (io) => {
      io.write(`GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      if (!(await io.until('"sid":"', 1000))) return;
      await io.until('}', 200);
      const sid = (io.text().match(/"sid":"([^"]+)"/) || [])[1];
      io.write(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: ${data.length}\r\n\r\n`);
      io.write(data);
      await io.until('\r\n\r\n', 500);
    });
  } else {
    r = await session(port, async (io) => {
      const sioConnect = k === 'sio' || k === 'json';
      // ws-frame corpus: byte 0 flags (bit 0: deflate), byte 1 split seed, then the stream;
      // ws-inflate corpus: byte 0 flags (bit 0: text), then a compressed payload (RSV1 frame)
      const deflate = (k === 'ws-frame' && data.length > 0 && data[0] & 1) || k === 'ws-inflate';
      if (!(await wsOpen(io, port, sioConnect, deflate))) return;
      if (k === 'eio') io.write(wsFrame(Math.random() < 0.8 ? 1 : 2, data));
      else if (k === 'json') io.write(wsFrame(1, Buffer.concat([Buffer.from('42["echo",'), data, Buffer.from(']')])));
      else if (k === 'sio') {
        const parts = [];
        let at = 0;
        for (let i = 0; i <= data.length; i++) if (i === data.length || data[i] === 0xff) (parts.push(data.subarray(at, i)), (at = i + 1));
        io.write(wsFrame(1, Buffer.concat([Buffer.from('4'), parts[0]])));
        for (const a of parts.slice(1)) io.write(wsFrame(2, a));
      } else if (k === 'ws-frame') {
        io.write(data.subarray(Math.min(2, data.length))); /* raw frame bytes */
      } else if (k === 'ws-inflate') {
        const f = wsFrame(data[0] & 1 ? 1 : 2, data.subarray(1));
        f[0] |= 0x40; /* RSV1: compressed */
        io.write(f);
      } else {
        io.write(data); /* raw frame bytes */
      }
      // and a broken frame now and then: bad opcode, unmasked, reserved bits, fragments
      const x = Math.random();
      if (x < 0.1) io.write(wsFrame(1, data, { mask: false }));
      else if (x < 0.2) io.write(Buffer.from([0x80 | (3 + Math.floor(Math.random() * 5)), 0x80, 1, 2, 3, 4]));
      else if (x < 0.3) io.write(Buffer.concat([wsFrame(1, data.subarray(0, data.length >> 1), { fin: false }), wsFrame(9, Buffer.alloc(200))]));
      else if (x < 0.35) io.write(Buffer.from([0xc1, 0x85, 0, 0, 0, 0, 0x34, 0x32, 0x5b, 0x5d, 0x00]));
      await io.until('\x88', 300); /* a close frame, if the server sends one */
    });
  }
  stats.sessions++;
  if (r.closedByServer) stats.closedByServer++;
  if (r.answered) stats.answered++;
}

/** Also plain random websocket frames, so that the frame reader sees more than the corpora. */
function wsFrameInputs() {
  const out = [];
  const texts = ['42["echo","x"]', '3', '2probe', '5', '6', '40/admin,', '451-["b",{"_placeholder":true,"num":0}]', '42[', '4', '1'];
  for (const t of texts) {
    out.push({ kind: 'ws', data: wsFrame(1, Buffer.from(t)) });
    out.push({ kind: 'ws', data: wsFrame(2, Buffer.from(t)) });
    out.push({ kind: 'ws', data: Buffer.concat([wsFrame(1, Buffer.from(t.slice(0, 2)), { fin: false }), wsFrame(0, Buffer.from(t.slice(2)))]) });
  }
  out.push({ kind: 'ws', data: wsFrame(8, Buffer.from([0x03, 0xe8, 0x61])) });
  out.push({ kind: 'ws', data: wsFrame(1, Buffer.from([0x34, 0x32, 0xc3, 0x28])) });
  return out;
}

async function fuzz(cfg, rows) {
  const p = cfg.preset.fuzz;
  const { inputs, skipped } = loadCorpora();
  inputs.push(...wsFrameInputs());
  const srv = await startServer(cfg, { asan: true });
  const underAsan = srv.kind === 'sio-asan' || cfg.sanitized;
  if (!srv.ok) return rows.add('fuzz', 'server start', 'did not listen', 'listening', false);
  let legit;
  const stats = { sessions: 0, answered: 0, closedByServer: 0, kinds: {} };
  try {
    legit = client(cfg, 'echo', srv.port, { conns: p.legit, interval: 0.02, duration: p.secs + 1, size: 32, ...src() });
    await readyOf(legit, 15000);
    const end = Date.now() + p.secs * 1000;
    await Promise.all(
      Array.from({ length: p.workers }, async () => {
        while (Date.now() < end && !srv.exited) await replayOne(srv.port, inputs[Math.floor(Math.random() * inputs.length)], stats);
      }),
    );
    const el = parseKV((await legit.waitLine(/^ECHO /, 10000)) || 'ECHO sent=0 recv=0');
    await sleep(300);
    const alive = !srv.exited;
    const ex = await srv.kill('SIGTERM', 15000);
    const bad = srv.log.filter((l) => /AddressSanitizer|LeakSanitizer|runtime error|Segmentation|Aborted/.test(l));
    const kinds = Object.entries(stats.kinds).map(([k, v]) => `${k} ${v}`).join(', ');
    rows.add('fuzz', `inputs replayed over TCP (${srv.kind})`, stats.sessions, 'report', null, `${inputs.length} distinct (${kinds}), 70% mutated; ${stats.closedByServer} closed by the server${skipped.length ? '; not network-facing: ' + skipped.join(',') : ''}`);
    rows.add('fuzz', 'server crashes / sanitizer reports', alive ? bad.length : `exited ${JSON.stringify(ex)}`, '0', alive && bad.length === 0, bad[0]?.slice(0, 90) || '');
    if (cfg.server === 'node') rows.add('fuzz', 'server under ASan', 'n/a (node)', 'yes', null);
    else if (!underAsan && !cfg.requireAsan) rows.add('fuzz', 'server under ASan', 'no (the ASan leg of make test covers it)', 'yes', null);
    else rows.add('fuzz', 'server under ASan', underAsan ? 'yes' : 'no', 'yes', underAsan, underAsan ? '' : 'no build-asan/bin/bench (run make test-asan, or set SOAK_ASAN_BIN)');
    rows.add('fuzz', 'legitimate clients: messages seen', `${el.recv}/${el.sent}`, 'all', el.sent > 0 && el.recv === el.sent && !el.lost_conns, el.err || '');
  } finally {
    await finish(legit);
    await srv.kill('SIGKILL', 1000);
  }
}

/* ---- 6. slowloris ---- */
/** From an echo client's PROGRESS lines: the second with the fewest echoes and the largest delay. */
function worstSecond(rec) {
  const ps = rec.log.filter((l) => l.startsWith('PROGRESS')).map(parseKV);
  if (!ps.length) return '-';
  const w = ps.reduce((a, b) => ((b.max_us || 0) > (a.max_us || 0) ? b : a));
  const fewest = Math.min(...ps.map((x) => x.echoes || 0));
  return `${((w.max_us || 0) / 1000).toFixed(0)} ms max delay, down to ${fewest} echoes in one second (of ~${Math.max(...ps.map((x) => x.echoes || 0))})`;
}

async function loris(cfg, rows) {
  const p = cfg.preset.loris;
  const srv = await startServer(cfg);
  if (!srv.ok) return rows.add('loris', 'server start', 'did not listen', 'listening', false);
  let L, legit;
  try {
    const procs = Math.ceil(p.conns / 5000);
    L = [];
    for (let i = 0; i < procs; i++) L.push(client(cfg, 'loris', srv.port, { conns: Math.ceil(p.conns / procs), interval: p.interval, concurrency: 500, duration: p.holdSecs + p.legitSecs + 30, timeout: 10, ...src() }));
    const openNow = () => L.reduce((a, r) => a + (parseKV(r.log.filter((l) => l.startsWith('PROGRESS')).pop() || 'P open=0').open || 0), 0);
    const end = Date.now() + 30000;
    while (openNow() < p.conns * 0.95 && Date.now() < end) await sleep(500);
    // The legitimate clients run through the first wave of header timeouts (10 s after the
    // slowloris connections opened, all at once), the hardest moment for them.
    await sleep(p.holdSecs * 1000);
    const openAtLegit = openNow();
    legit = client(cfg, 'echo', srv.port, { conns: p.legit, interval: 0.05, duration: p.legitSecs, concurrency: p.legit, timeout: 10, size: 32, ...src() });
    const rl = await readyOf(legit, 15000);
    const el = parseKV((await legit.waitLine(/^ECHO /, (p.legitSecs + 15) * 1000)) || 'ECHO sent=0 recv=0');
    const connectMs = rl.t_ready && rl.t_first ? (rl.t_ready - rl.t_first) / 1e6 : NaN;
    for (const r of L) r.send('quit');
    const lr = (await Promise.all(L.map((r) => r.waitLine(/^LORIS /, 5000)))).map((l) => parseKV(l || 'LORIS open=0'));
    const closedBy = lr.reduce((a, r) => a + (r.closed_by_server || 0), 0);
    rows.add('loris', 'slowloris connections open', `${openAtLegit}/${p.conns}`, 'report', null, `${closedBy} closed by the server (header timeout) and reopened`);
    rows.add('loris', 'legit clients connected', `${rl.ready}/${p.legit} in ${isNaN(connectMs) ? '-' : connectMs.toFixed(0) + ' ms'}`, `all, < 5000 ms`, rl.ready === p.legit && connectMs < 5000, rl.err || '');
    rows.add('loris', 'legit clients echo p99', `${((el.p99_us || 0) / 1000).toFixed(1)} ms, ${el.recv}/${el.sent}`, 'all, p99 < 200 ms', el.sent > 0 && el.recv === el.sent && (el.p99_us || 0) < 200000 && !el.lost_conns, `max ${((el.max_us || 0) / 1000).toFixed(0)} ms; the worst second: ${worstSecond(legit)}`);
  } finally {
    await finish(legit, ...(L || []));
    await srv.kill('SIGTERM', 5000);
  }
}

const RUNNERS = { scale, churn, leak, slow: slowConsumers, exhaust, fuzz, loris };

/**
 * Runs the scenarios; resolves with the rows.
 * @param opts {buildDir, server: 'sio'|'node', preset: 'full'|'short', only: [names], bin, asanBin, sanitized}
 */
export async function runSoak(opts) {
  const buildDir = path.resolve(opts.buildDir || path.join(SOURCE, 'build'));
  const binDir = opts.binDir || path.join(buildDir, 'bin');
  const cfg = {
    server: opts.server || 'sio',
    preset: typeof opts.preset === 'object' ? opts.preset : PRESETS[opts.preset || 'full'],
    bin: opts.bin || path.join(binDir, 'bench'),
    asanBin: opts.asanBin !== undefined ? opts.asanBin : [process.env.SOAK_ASAN_BIN, path.join(SOURCE, 'build-asan/bin/bench')].find((f) => f && fs.existsSync(f)) || null,
    sanitized: Boolean(opts.sanitized),
    requireAsan: opts.requireAsan ?? true,
  };
  if (cfg.sanitized && !opts.asanBin) cfg.asanBin = cfg.bin; /* the main binary is the ASan one */
  cfg.clientBin = clientBinary(binDir);
  cfg.logDir = opts.logDir || path.join(buildDir, 'soak', 'logs');
  cfg.serverCount = 0;
  fs.mkdirSync(cfg.logDir, { recursive: true });
  const rows = new Rows();
  if (cfg.server === 'sio' && !fs.existsSync(cfg.bin)) {
    rows.add('all', 'server binary', `${cfg.bin} missing`, 'built', false);
    return rows.list;
  }
  for (const name of opts.only?.length ? opts.only : SCENARIOS) {
    const t0 = Date.now();
    say(`${name}: start (${cfg.server})`);
    cfg.current = name;
    try {
      await RUNNERS[name](cfg, rows);
    } catch (e) {
      rows.add(name, 'scenario ran', `error: ${e.message}`, 'ran', false);
    }
    say(`${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  return rows.list;
}

export function table(list) {
  const head = ['scenario', 'figure', 'value', 'limit', 'result'];
  const body = list.map((r) => [r.scenario, r.figure, r.value, r.limit, r.pass === null ? 'info' : r.pass ? 'PASS' : 'FAIL']);
  const w = head.map((h, i) => Math.min(60, Math.max(h.length, ...body.map((b) => b[i].length))));
  const line = (cells) => cells.map((c, i) => (c.length > w[i] ? c.slice(0, w[i] - 1) + '~' : c.padEnd(w[i]))).join(' | ');
  const out = [line(head), w.map((n) => '-'.repeat(n)).join('-+-'), ...body.map(line)];
  const notes = list.filter((r) => r.note && r.pass === false).map((r) => `  ${r.scenario} / ${r.figure}: ${r.note}`);
  if (notes.length) out.push('', 'notes on failures:', ...notes);
  return out.join('\n');
}

async function main() {
  const argv = process.argv.slice(2);
  const opt = (n, d) => {
    const i = argv.indexOf(n);
    return i >= 0 ? argv[i + 1] : d;
  };
  const buildDir = argv[0] && !argv[0].startsWith('--') ? argv[0] : 'build';
  const server = opt('--server', process.env.SOAK_SERVER || 'sio');
  const preset = argv.includes('--short') ? 'short' : 'full';
  const only = opt('--only', process.env.SOAK_ONLY || '').split(',').filter(Boolean);
  const t0 = Date.now();
  const list = await runSoak({ buildDir, server, preset, only });
  const text = table(list);
  console.log(`\nsoak summary (${server}, ${preset}, ${((Date.now() - t0) / 1000).toFixed(0)} s)\n${text}`);
  const jsonOut = opt('--json', path.join(path.resolve(buildDir), 'soak', `results-${server}.json`));
  fs.mkdirSync(path.dirname(jsonOut), { recursive: true });
  fs.writeFileSync(jsonOut, JSON.stringify({ server, preset, rows: list }, null, 2));
  process.exit(list.some((r) => r.pass === false) ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) main();
