/**
 * The history checker's reports side by side (issue 12's soak table): one column per run — Tributary,
 * Apache Kafka — with what was sent, acknowledged, failed (in doubt or definitely), read, consumed and
 * committed, the rows the caller adds (faults injected, failover times), and then every anomaly kind
 * with its count, zeros included, so a reader sees each kind was checked. As fixed-width text for a
 * terminal, or as Markdown for the README and issue notes.
 */
import { ANOMALY_KINDS, type HistoryReport } from './history-types.ts';

export { ANOMALY_KINDS };

export interface ReportColumn {
  /** The column's heading, e.g. "Tributary" or "Apache Kafka 3.9.1". */
  name: string;
  report: HistoryReport;
  /** Rows of the caller's own, by label: "leader kills" → 100, "failover p50/p99/max" → "310/820/1200 ms". */
  extra?: Record<string, string | number>;
}

/** The table as rows of cells: a header row, then one row per line; the first cell is the label. */
export function reportRows(columns: ReportColumn[]): string[][] {
  const count = (n: number) => n.toLocaleString('en-US');
  const row = (label: string, cell: (c: ReportColumn) => string) => [label, ...columns.map(cell)];
  const rows = [
    ['', ...columns.map((c) => c.name)],
    row('records sent', (c) => count(c.report.sent)),
    row('acknowledged', (c) => count(c.report.acknowledged)),
    row('in doubt (failed or unanswered)', (c) => count(c.report.inDoubt)),
    row('failed definitely', (c) => count(c.report.failedDefinitely)),
    row('read', (c) => count(c.report.read)),
    row('stored twice, not idempotent', (c) => count(c.report.redelivered)),
    row('consumed', (c) => count(c.report.consumed)),
    row('consumed again (rebalances)', (c) => count(c.report.reconsumed)),
    row('group assignments', (c) => count(c.report.assignments)),
    row('commits', (c) => count(c.report.commits)),
  ];
  const extras = [...new Set(columns.flatMap((c) => Object.keys(c.extra ?? {})))];
  for (const label of extras) {
    rows.push(row(label, (c) => (c.extra?.[label] === undefined ? '–' : String(c.extra[label]))));
  }
  for (const kind of ANOMALY_KINDS) {
    rows.push(
      row(`anomalies: ${kind}`, (c) => count(c.report.problems.filter((p) => p.kind === kind).length)),
    );
  }
  rows.push(row('anomalies in all', (c) => count(c.report.problems.length)));
  return rows;
}

/** Fixed-width text: labels to the left, figures to the right, a rule under the headings. */
export function reportTable(columns: ReportColumn[]): string {
  const rows = reportRows(columns);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  const pad = (cell: string, i: number) => (i === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[i]!));
  const line = (r: string[]) => r.map(pad).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const body = rows
    .slice(1)
    .flatMap((r) => (r[0] === `anomalies: ${ANOMALY_KINDS[0]}` ? [rule, line(r)] : [line(r)]));
  return [line(rows[0]!), rule, ...body].join('\n') + '\n';
}

/** A Markdown table of the same rows, figures right-aligned. */
export function reportMarkdown(columns: ReportColumn[]): string {
  const rows = reportRows(columns);
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  const line = (r: string[]) => `| ${r.map(escape).join(' | ')} |`;
  const align = `|---|${columns.map(() => '--:|').join('')}`;
  return [line(rows[0]!), align, ...rows.slice(1).map(line)].join('\n') + '\n';
}
