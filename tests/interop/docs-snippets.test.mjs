// The C programs in README.md and docs/*.md compile and link against the public headers and
// the built library, so that what the documentation teaches stays true to the API.
//
// A fenced ```c block that defines `int main(` is a runnable program: it is compiled with
// the project's warning flags as errors and linked to libsio.so from the build tree (found
// beside $SIO_BIN_DIR). Blocks without main are fragments and are not compiled. The
// programs are not run (most listen on port 3000).

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { BIN_DIR, SOURCE_DIR } from './lib/server.mjs';

const BUILD_DIR = path.resolve(BIN_DIR, '..');
const LIB = path.join(BUILD_DIR, 'libsio.so');
const CC = process.env.CC || 'cc';

/** Every runnable snippet: {file, line, code}. */
function snippets() {
  const files = ['README.md', ...readdirSync(path.join(SOURCE_DIR, 'docs'))
    .filter((f) => f.endsWith('.md')).sort().map((f) => path.join('docs', f))];
  const out = [];
  for (const file of files) {
    const lines = readFileSync(path.join(SOURCE_DIR, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*```c\s*$/.test(lines[i])) continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
      const code = lines.slice(start, end).join('\n') + '\n';
      if (/\bint\s+main\s*\(/.test(code)) out.push({ file, line: start + 1, code });
      i = end;
    }
  }
  return out;
}

function pkgFlags(args) {
  const r = spawnSync('pkg-config', [...args, 'libuv', 'jansson'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split(/\s+/).filter(Boolean) : null;
}

const cflags = pkgFlags(['--cflags']);
const libs = pkgFlags(['--libs']);
const skip = !existsSync(LIB) ? `${LIB} is not built yet (build the sio target, or set SIO_BIN_DIR)`
  : cflags === null ? 'pkg-config cannot find libuv and jansson (scripts/deps installs them)'
  : false;

describe('C snippets in the documentation', { skip }, () => {
  const dir = skip ? null : mkdtempSync(path.join(os.tmpdir(), 'sio-docs-'));
  after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const all = snippets();

  // A guide without a runnable program is reported as a TODO (it does not fail the run).
  for (const f of ['README.md', 'docs/http.md', 'docs/websocket.md', 'docs/socketio.md']) {
    if (!existsSync(path.join(SOURCE_DIR, f))) continue; // a guide not written yet
    const has = all.some((s) => s.file === f);
    test(`${f} has a runnable program`, { todo: has ? false : 'only fragments so far' }, () => {
      assert.ok(has, `${f} has no \`\`\`c block with main()`);
    });
  }

  for (const s of all) {
    test(`${s.file}:${s.line} compiles and links`, () => {
      const base = path.join(dir, `${s.file.replace(/[^\w]/g, '_')}_${s.line}`);
      writeFileSync(`${base}.c`, s.code);
      const args = ['-std=c17', '-D_GNU_SOURCE', '-Wall', '-Wextra', '-Wno-unused-parameter',
        '-Werror', '-I', path.join(SOURCE_DIR, 'include'), ...cflags, `${base}.c`, '-o', base,
        '-L', BUILD_DIR, '-lsio', ...libs, `-Wl,-rpath,${BUILD_DIR}`];
      const r = spawnSync(CC, args, { encoding: 'utf8' });
      const numbered = s.code.split('\n').map((l, i) => `${String(i + 1).padStart(3)} ${l}`).join('\n');
      assert.equal(r.status, 0, `${CC} failed for ${s.file}:${s.line}\n${r.stderr}\n--- snippet ---\n${numbered}`);
      execFileSync('test', ['-x', base]);
    });
  }
});
