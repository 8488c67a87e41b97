/**
 * `npm run check`: regenerates everything generated and fails when git sees a difference, so a
 * schema or generator change can never land without its output (nor hand edits to the output).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateCrds } from './gen-crds.ts';
import { generate } from './gen-protocol.ts';

const GENERATED = ['src/protocol/messages', 'src/protocol/error-codes.ts', 'crds/*.yaml'];

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
generate(repoRoot);
generateCrds(repoRoot);

const status = execFileSync('git', ['status', '--porcelain', '--', ...GENERATED], {
  cwd: repoRoot,
  encoding: 'utf8',
});
if (status.trim() !== '') {
  console.error('Generated files differ from what is committed:\n' + status);
  console.error(
    execFileSync('git', ['diff', '--stat', '--', ...GENERATED], { cwd: repoRoot, encoding: 'utf8' }),
  );
  console.error('Run `npm run generate` and commit the result (never edit generated files by hand).');
  process.exit(1);
}
console.log(`Generated files are up to date (${GENERATED.join(', ')}).`);
