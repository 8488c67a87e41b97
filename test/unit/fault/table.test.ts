/**
 * The report table (table.ts): two runs side by side with the caller's rows, every anomaly kind
 * listed with its count — zeros included — as text for a terminal and as Markdown.
 */
import { describe, expect, it } from '@jest/globals';
import { History } from '../../fault/history.ts';
import {
  ANOMALY_KINDS,
  reportMarkdown,
  reportRows,
  reportTable,
  type ReportColumn,
} from '../../fault/table.ts';

function runs(): ReportColumn[] {
  const clean = new History();
  const lossy = new History();
  for (let i = 0; i < 1200; i++) {
    for (const h of [clean, lossy]) {
      h.send({ id: `r${i}`, producer: 'p', seq: i });
      h.ack(`r${i}`, 0, i);
    }
    clean.read(`r${i}`, 0, i);
    if (i !== 7) lossy.read(`r${i}`, 0, i);
  }
  lossy.commit('g', 0, 5);
  lossy.commit('g', 0, 4);
  return [
    {
      name: 'Tributary',
      report: clean.check(),
      extra: { 'leader kills': 100, 'failover p50/p99/max': '310/820/1200 ms' },
    },
    { name: 'Apache Kafka', report: lossy.check(), extra: { 'leader kills': 100 } },
  ];
}

describe('fault > report table', () => {
  it("lists the counts, the caller's rows and every anomaly kind with its count, in aligned columns", () => {
    expect(reportTable(runs()).split('\n')).toEqual([
      '                                       Tributary  Apache Kafka',
      '-------------------------------  ---------------  ------------',
      'records sent                               1,200         1,200',
      'acknowledged                               1,200         1,200',
      'in doubt (failed or unanswered)                0             0',
      'failed definitely                              0             0',
      'read                                       1,200         1,199',
      'stored twice, not idempotent                   0             0',
      'consumed                                       0             0',
      'consumed again (rebalances)                    0             0',
      'group assignments                              0             0',
      'commits                                        0             2',
      'leader kills                                 100           100',
      'failover p50/p99/max             310/820/1200 ms             –',
      '-------------------------------  ---------------  ------------',
      'anomalies: lost                                0             1',
      'anomalies: offset-mismatch                     0             0',
      'anomalies: duplicate                           0             0',
      'anomalies: conflict                            0             0',
      'anomalies: unknown                             0             0',
      'anomalies: unacknowledged-read                 0             0',
      'anomalies: order                               0             0',
      'anomalies: key-order                           0             0',
      'anomalies: commit-regression                   0             1',
      'anomalies: consumer-backwards                  0             0',
      'anomalies: split-ownership                     0             0',
      'anomalies in all                               0             2',
      '',
    ]);
  });

  it('lists every anomaly kind even when no run had any', () => {
    const rows = reportRows([{ name: 'clean', report: new History().check() }]);
    const anomalies = rows.filter((r) => r[0]!.startsWith('anomalies: '));
    expect(anomalies).toEqual(ANOMALY_KINDS.map((kind) => [`anomalies: ${kind}`, '0']));
    expect(ANOMALY_KINDS).toHaveLength(11);
  });

  it('renders the same rows as a Markdown table, figures right-aligned and pipes escaped', () => {
    const columns = runs();
    columns[1]!.extra = { 'faults (kill|stop)': '60|40' };
    const lines = reportMarkdown(columns).split('\n');
    expect(lines.slice(0, 3)).toEqual([
      '|  | Tributary | Apache Kafka |',
      '|---|--:|--:|',
      '| records sent | 1,200 | 1,200 |',
    ]);
    expect(lines).toContain('| faults (kill\\|stop) | – | 60\\|40 |');
    expect(lines).toContain('| anomalies: lost | 0 | 1 |');
    expect(lines).toHaveLength(reportRows(columns).length + 2);
  });
});
