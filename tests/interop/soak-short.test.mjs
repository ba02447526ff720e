// The shortened soak (issue 7) inside `make test`: every `make soak` scenario scaled down
// (1,000 clients, 5,000 churn cycles, 2 slow consumers, 500 slowloris connections, a few
// seconds of fuzz-corpus replay), about a minute in all, against $SIO_BIN_DIR/bench.
//
// Under ASan (SIO_SANITIZE=1) the same binary serves the leak check and the corpus replay, and
// memory figures are reported but not judged (the sanitizer's quarantine and shadow memory are
// not sio's). Each scenario is one test; a row that fails names its figure, value and limit.
//
// Part of `make test` (ctest interop_soak-short), in both the normal and the ASan leg.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';

const source = process.env.SIO_SOURCE_DIR || path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const binDir = process.env.SIO_BIN_DIR || path.join(source, 'build', 'bin');
const sanitized = process.env.SIO_SANITIZE === '1' || process.env.SIO_SANITIZE === 'true';
const { runSoak, SCENARIOS, table } = await import(path.join(source, 'bench/soak.d/soak.mjs'));

const all = [];
after(() => {
  if (all.length) console.log(`\nsoak-short summary\n${table(all)}`);
});

for (const name of SCENARIOS) {
  test(`soak-short: ${name}`, { timeout: sanitized ? 240000 : 120000 }, async () => {
    const rows = await runSoak({
      buildDir: path.dirname(binDir),
      binDir,
      server: 'sio',
      preset: 'short',
      only: [name],
      sanitized,
      requireAsan: sanitized, /* the normal leg replays the corpora too, the ASan leg judges */
      asanBin: sanitized ? path.join(binDir, 'bench') : undefined,
    });
    all.push(...rows);
    const failed = rows.filter((r) => r.pass === false);
    assert.deepEqual(
      failed.map((r) => `${r.figure}: ${r.value} (limit ${r.limit})${r.note ? ' - ' + r.note : ''}`),
      [],
    );
  });
}
