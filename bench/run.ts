/**
 * `npm run bench [-- --quick] [-- name ...]`: runs every benchmark script in bench/ (or the named
 * ones), each in its own process so that one's heap and JIT state do not colour the next.
 * Benchmarks print figures and ratios; they assert nothing and are not part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const here = import.meta.dirname;
const HELPERS = new Set(['run.ts', 'harness.ts']);
/** Run only when named: the fault soak takes most of an hour (`npm run soak`). */
const ON_REQUEST = new Set(['soak.ts']);
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const names = process.argv.slice(2).filter((a) => !a.startsWith('--'));

const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !HELPERS.has(f))
  .filter((f) => (names.length === 0 ? !ON_REQUEST.has(f) : names.includes(f.replace(/\.ts$/, ''))))
  .sort();

if (scripts.length === 0) {
  console.error(`No benchmark matches ${names.join(', ')}. Available: ${readdirSync(here).join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const script of scripts) {
  console.log(`\n=== bench/${script} ${flags.join(' ')}`);
  const result = spawnSync(process.execPath, [path.join(here, script), ...flags], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    console.error(`bench/${script} exited with ${result.status ?? result.signal}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
