/**
 * The soak's verdict as a table, one column per cluster (test/fault/table.ts lays it out): the faults
 * injected and the failover times, then what the clients wrote, what the log holds when read back and
 * what the consumer group read and committed, and every anomaly kind the checker knows with its count
 * — of the log and of the group together — zeros included, so a reader sees each kind was looked for.
 */
import type { HistoryReport } from './history.ts';
import { FAULT_KINDS, failoverSummary, type SoakResult } from './soak.ts';
import { ANOMALY_KINDS, reportMarkdown, reportTable, type ReportColumn } from './table.ts';

export { ANOMALY_KINDS };

/** One report per run: the producers' side and the log from `stored`, the group's from `consumed`. */
export function soakReport(r: SoakResult): HistoryReport {
  return {
    ...r.stored,
    consumed: r.consumed.consumed,
    reconsumed: r.consumed.reconsumed,
    assignments: r.consumed.assignments,
    commits: r.consumed.commits,
    problems: [...r.stored.problems, ...r.consumed.problems],
  };
}

function column(r: SoakResult): ReportColumn {
  const extra: Record<string, string | number> = { minutes: (r.durationMs / 60_000).toFixed(1) };
  for (const k of FAULT_KINDS) extra[`faults: ${k}`] = r.faults[k];
  extra['failover p50 / p99 / max, ms'] = failoverSummary(r.failoverMs);
  extra['stalls (no recovery in time)'] = r.stalls.length;
  return { name: r.name, report: soakReport(r), extra };
}

export function formatSoakTable(results: SoakResult[], format: 'text' | 'markdown' = 'text'): string {
  const columns = results.map(column);
  return format === 'markdown' ? reportMarkdown(columns) : reportTable(columns);
}
