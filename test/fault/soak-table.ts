/**
 * The soak's verdict as a table, one column per cluster: the faults injected, the failover times,
 * the records written and read, and every anomaly kind the checker knows with its count — zeros
 * included, so a reader sees each kind was looked for. Text for a terminal, or Markdown for the
 * README and issue notes.
 */
import type { HistoryReport, Problem } from './history.ts';
import { FAULT_KINDS, failoverSummary, type SoakResult } from './soak.ts';

/** Every kind of problem the checker reports. */
export const ANOMALY_KINDS: readonly Problem['kind'][] = [
  'lost',
  'duplicate',
  'offset-mismatch',
  'order',
  'conflict',
  'unknown',
  'commit-regression',
];

const count = (r: HistoryReport, kind: string) => r.problems.filter((p) => p.kind === kind).length;

function rows(results: SoakResult[]): Array<[string, ...string[]]> {
  const col = (f: (r: SoakResult) => string | number) => results.map((r) => String(f(r)));
  return [
    ['minutes', ...col((r) => (r.durationMs / 60_000).toFixed(1))],
    ...FAULT_KINDS.map((k): [string, ...string[]] => [`faults: ${k}`, ...col((r) => r.faults[k])]),
    ['failover p50 / p99 / max, ms', ...col((r) => failoverSummary(r.failoverMs))],
    ['records sent', ...col((r) => r.stored.sent)],
    ['records acknowledged', ...col((r) => r.stored.acknowledged)],
    ['records failed (in doubt)', ...col((r) => r.stored.failed)],
    ['records in the log', ...col((r) => r.stored.read)],
    ['records the group read', ...col((r) => r.consumed.read)],
    ['offset commits', ...col((r) => r.consumed.commits)],
    ...ANOMALY_KINDS.map((k): [string, ...string[]] => [
      `anomalies: ${k}`,
      ...col((r) => count(r.stored, k) + count(r.consumed, k)),
    ]),
    ['stalls (no recovery in time)', ...col((r) => r.stalls.length)],
  ];
}

export function formatSoakTable(results: SoakResult[], format: 'text' | 'markdown' = 'text'): string {
  const header: [string, ...string[]] = ['', ...results.map((r) => r.name)];
  const all = [header, ...rows(results)];
  if (format === 'markdown') {
    const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
    return [
      line(header),
      line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
      ...rows(results).map(line),
    ].join('\n');
  }
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}
