/** Tiny helpers shared by the benchmark scripts: a timing loop and a table printer. */

export interface Measurement {
  opsPerSec: number;
  iterations: number;
  seconds: number;
}

/** Runs `fn` repeatedly for about `seconds` (after a warm-up) and reports its rate. */
export function measure(fn: () => unknown, quick: boolean, seconds = quick ? 0.2 : 1.5): Measurement {
  const warmUntil = performance.now() + seconds * 200;
  while (performance.now() < warmUntil) fn();
  let iterations = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 16; i++) fn();
    iterations += 16;
    now = performance.now();
  }
  const elapsed = (now - start) / 1000;
  return { opsPerSec: iterations / elapsed, iterations, seconds: elapsed };
}

export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}
