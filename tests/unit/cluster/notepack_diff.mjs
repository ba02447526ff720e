// Differential test of src/cluster's msgpack conversions against notepack.io itself (run by
// tests/unit/cluster/test_notepack_diff.c, which answers on stdin what this asks on stdout):
// - JSON texts of random values: notepack.encode(JSON.parse(text)) must equal sio's bytes;
// - notepack.encode of random values (Buffers, Dates, undefined included): sio's JSON must equal
//   JSON.stringify(notepack.decode(bytes));
// - mutated encodings: where notepack.decode throws sio must refuse, and agree where it doesn't.
// Left out, and counted: strings for which notepack leaves bytes of its unsafe allocation
// unwritten (lone surrogates near the 32-byte threshold), and map keys that are arrays, maps or
// extensions, which notepack stringifies and sio refuses. Exit 0: all agree, 77: no notepack.
import { createRequire } from 'node:module';
import readline from 'node:readline';

const require = createRequire(`${process.env.SIO_SOURCE_DIR || process.cwd()}/package.json`);
let np;
try {
  np = require('notepack.io');
} catch {
  process.exit(77);
}
const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
lines.on('line', (l) => waiting.shift()(l));
const ask = (s) => new Promise((resolve) => { waiting.push(resolve); process.stdout.write(s + '\n'); });

let seed = 12345; const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const pick = a => a[Math.floor(rnd() * a.length)];
function rstr() {
  const n = Math.floor(rnd() * (rnd() < 0.8 ? 8 : 40)); let s = '';
  for (let i = 0; i < n; i++) {
    const k = rnd();
    if (k < 0.5) s += String.fromCharCode(32 + Math.floor(rnd() * 95));
    else if (k < 0.6) s += String.fromCharCode(Math.floor(rnd() * 32));
    else if (k < 0.7) s += String.fromCharCode(0xd800 + Math.floor(rnd() * 0x800)); // surrogates, paired or not
    else if (k < 0.8) s += String.fromCharCode(0x80 + Math.floor(rnd() * 0x780));
    else if (k < 0.9) s += String.fromCodePoint(0x10000 + Math.floor(rnd() * 0xfffff));
    else s += pick(['"', '\\', '/', '\u2028', '\u00e9', '\uffff', '\ufffd']);
  }
  return s;
}
function rnum() {
  const k = rnd();
  if (k < 0.3) return Math.floor((rnd() - 0.5) * 300);
  if (k < 0.5) return Math.floor((rnd() - 0.5) * Math.pow(2, Math.floor(rnd() * 70)));
  if (k < 0.7) return (rnd() - 0.5) * Math.pow(10, Math.floor(rnd() * 40) - 20);
  if (k < 0.8) return pick([0, -0, 2 ** 53, 2 ** 53 + 2, 2 ** 63, -(2 ** 63), 2 ** 64, 1e21, -1e21, 1e300, 5e-324, 0.1, 4294967295, 4294967296, -2147483649]);
  return Math.floor(rnd() * 1e6) / 100;
}
function rkey() { return rnd() < 0.3 ? String(Math.floor(rnd() * 20)) : rnd() < 0.05 ? '__proto__' : rnd() < 0.05 ? '4294967295' : rstr(); }
function rval(d, extra) {
  const k = rnd();
  if (d > 4 || k < 0.35) {
    const j = rnd();
    if (j < 0.3) return rstr(); if (j < 0.6) return rnum();
    if (j < 0.7) return pick([true, false, null]);
    if (extra && j < 0.8) return Buffer.from(rstr());
    if (extra && j < 0.85) return new Date(Math.floor((rnd() - 0.3) * 1e13));
    if (extra && j < 0.9) return undefined;
    return rstr();
  }
  if (k < 0.65) { const a = []; const n = Math.floor(rnd() * 6); for (let i = 0; i < n; i++) a.push(rval(d + 1, extra)); return a; }
  const o = {}; const n = Math.floor(rnd() * (rnd() < 0.9 ? 6 : 20)); for (let i = 0; i < n; i++) o[rkey()] = rval(d + 1, extra); return o;
}
function qlen(str) { let n = 0; for (let i = 0; i < str.length; i++) { const c = str.charCodeAt(i); if (c < 0x80) n += 1; else if (c < 0x800) n += 2; else if (c < 0xd800 || c >= 0xe000) n += 3; else { i++; n += 4; } } return n; }
// strings for which notepack leaves bytes of its unsafe allocation unwritten (not reproducible)
function garbage(str, key) {
  const L = str.length > 32 ? Buffer.byteLength(str) : qlen(str);
  if (key) return str.length > 32 && qlen(str) < L;
  if (str.length > 32 || L <= 32) return false;
  const f = Buffer.from(str); if (f.length < L) return true;
  return f.length > L && (f[L] & 0xc0) === 0x80;
}
function anyGarbage(v) {
  if (typeof v === 'string') return garbage(v, false);
  if (Array.isArray(v)) return v.some(anyGarbage);
  if (v && typeof v === 'object') return Object.keys(v).some(k => garbage(k, true) || anyGarbage(v[k]));
  return false;
}
function nonScalarKey(b) { // a map key that is an array, map or extension
  let o = 0, found = false;
  const len = (w) => { const v = w === 1 ? b[o] : w === 2 ? b.readUInt16BE(o) : b.readUInt32BE(o); o += w; return v; };
  function rd() {
    const t = b[o++]; let n;
    if (t < 0x80 || t >= 0xe0) return 'i';
    if (t < 0x90) { n = t & 15; return map(n); }
    if (t < 0xa0) { n = t & 15; for (let i = 0; i < n; i++) rd(); return 'a'; }
    if (t < 0xc0) { o += t & 31; return 's'; }
    switch (t) {
      case 0xc0: case 0xc2: case 0xc3: return 'i';
      case 0xc4: case 0xc5: case 0xc6: o += len(1 << (t - 0xc4)); return 'b';
      case 0xc7: case 0xc8: case 0xc9: { const l = len(1 << (t - 0xc7)); const ty = b.readInt8(o); o += 1 + (t === 0xc7 && ty === -1 ? 12 : l); return ty === -1 && t === 0xc7 ? 'e' : 'e'; }
      case 0xca: o += 4; return 'i'; case 0xcb: o += 8; return 'i';
      case 0xcc: case 0xd0: o += 1; return 'i'; case 0xcd: case 0xd1: o += 2; return 'i'; case 0xce: case 0xd2: o += 4; return 'i'; case 0xcf: case 0xd3: o += 8; return 'i';
      case 0xd4: { const ty = b.readInt8(o); o += 2; return ty === 0 ? 'i' : 'e'; } case 0xd5: o += 3; return 'e'; case 0xd6: o += 5; return 'e'; case 0xd7: o += 9; return 'e'; case 0xd8: o += 17; return 'e';
      case 0xd9: case 0xda: case 0xdb: o += len(1 << (t - 0xd9)); return 's';
      case 0xdc: case 0xdd: n = len(t === 0xdc ? 2 : 4); for (let i = 0; i < n; i++) rd(); return 'a';
      case 0xde: case 0xdf: n = len(t === 0xde ? 2 : 4); return map(n);
    }
    throw new Error('bad');
  }
  function map(n) { for (let i = 0; i < n; i++) { const k = rd(); if (k === 'a' || k === 'm' || k === 'e') found = true; rd(); } return 'm'; }
  try { rd(); } catch { // a walk that runs off the end still saw the keys it passed
  }
  return found;
}
const N = Number(process.env.SIO_DIFF_N || 4000);
let encoded = 0, encBad = 0, decoded = 0, decBad = 0, mutated = 0, mutBad = 0, skipped = 0, keys = 0;
for (let i = 0; i < N; i++) {
  const text = JSON.stringify(rval(0, false));
  if (text === undefined) continue;
  if (anyGarbage(JSON.parse(text))) { skipped++; continue; }
  const want = np.encode(JSON.parse(text)).toString('hex');
  const got = await ask('E ' + text);
  encoded++;
  if (got !== want) { encBad++; if (encBad <= 3) console.error('encode', text, '\n node', want, '\n sio ', got); }
}
const samples = [];
for (let i = 0; i < N; i++) {
  let hex;
  try {
    hex = np.encode(rval(0, true)).toString('hex');
  } catch {
    continue; // an object whose __proto__ became a Date: notepack throws on it
  }
  samples.push(hex);
  let want = JSON.stringify(np.decode(Buffer.from(hex, 'hex')));
  if (want === undefined) want = 'null';
  const got = await ask('D ' + hex);
  decoded++;
  if (got !== want) { decBad++; if (decBad <= 3) console.error('decode', hex, '\n node', want, '\n sio ', got); }
}
for (let i = 0; i < 2 * N; i++) {
  const b = Buffer.from(pick(samples), 'hex');
  for (let j = Math.floor(rnd() * 3); j >= 0; j--) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
  let want;
  try { want = JSON.stringify(np.decode(b)); if (want === undefined) want = 'null'; } catch { want = 'ERR'; }
  const got = await ask('D ' + b.toString('hex'));
  const g = got.startsWith('ERR') ? 'ERR' : got;
  if (g !== want && g === 'ERR' && nonScalarKey(b)) { keys++; continue; }
  mutated++;
  if (g !== want) { mutBad++; if (mutBad <= 3) console.error('mutated', b.toString('hex'), '\n node', want, '\n sio ', got); }
}
console.error(`notepack diff: encode ${encoded} (${encBad} differ), decode ${decoded} (${decBad} differ), ` +
  `mutated ${mutated} (${mutBad} differ); left out: ${skipped} texts with unwritten bytes, ${keys} non-scalar keys`);
process.stdin.destroy();
process.exit(encBad || decBad || mutBad ? 1 : 0);
