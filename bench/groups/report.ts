/** The tables bench/groups.ts prints: figures per broker, then the ratio Tributary/Kafka. */
import { printTable } from '../harness.ts';
import type { RoundFigures } from './rebalance.ts';

export type Failed = { failed: string };

/** A target's measured rebalance rounds, and the broker's CPU seconds over them. */
export interface RebalanceSeries {
  rounds: RoundFigures[];
  cpuSeconds: number;
}

/** A target's commit slices of one variant, added up. */
export interface CommitTotals {
  commits: number;
  offsets: number;
  seconds: number;
  /** commits/s of each slice, for the spread. */
  sliceRates: number[];
  cpuSeconds: number;
  peakRssMiB: number;
  clientCpuSeconds: number;
}

export interface Results {
  rebalance: Map<string, RebalanceSeries | Failed>;
  /** By variant label, then by target. */
  commits: Map<string, Map<string, CommitTotals | Failed>>;
}

export interface ReportSetup {
  members: number;
  partitions: number;
  rounds: number;
  commitSeconds: number;
  sliceSeconds: number;
  quick: boolean;
  /** The steady members' fetch wait (they heartbeat after each fetch). */
  fetchWaitMs: number;
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return '-';
  if (b === 0) return a === 0 ? '1.00x' : '-'; // e.g. 1 ms against 0 ms: below the resolution
  return `${(a / b).toFixed(2)}x`;
}

const fixed = (digits: number) => (x: number) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

interface Column<R> {
  name: string;
  value: (r: R) => number;
  format: (x: number) => string;
}

/** One row per broker (or its failure), then a tributary/kafka ratio row where both have figures. */
function rowsFor<R extends object>(
  label: string,
  rowOf: (broker: string) => R | Failed | undefined,
  brokers: string[],
  columns: Array<Column<R>>,
  note: (r: R) => string = () => '',
): string[][] {
  const rows: string[][] = [];
  for (const broker of brokers) {
    const r = rowOf(broker);
    if (!r) continue;
    if ('failed' in r) rows.push([label, broker, ...columns.map(() => '-'), `failed: ${r.failed}`]);
    else rows.push([label, broker, ...columns.map((col) => col.format(col.value(r))), note(r)]);
  }
  const k = rowOf('kafka');
  const t = rowOf('tributary');
  if (k && t && !('failed' in k) && !('failed' in t)) {
    rows.push(['', 'tributary/kafka', ...columns.map((col) => ratio(col.value(t), col.value(k))), '']);
  }
  return rows;
}

function rebalanceColumns(pick: (f: RoundFigures) => number, pickSync: (f: RoundFigures) => number) {
  const at = (f: (x: RoundFigures) => number, p: number) => (s: RebalanceSeries) =>
    percentile(s.rounds.map(f), p);
  const columns: Array<Column<RebalanceSeries>> = [
    { name: 'p50 ms', value: at(pick, 50), format: fixed(0) },
    { name: 'p90 ms', value: at(pick, 90), format: fixed(0) },
    { name: 'join+sync p50', value: at(pickSync, 50), format: fixed(0) },
    { name: 'join+sync p90', value: at(pickSync, 90), format: fixed(0) },
    { name: 'CPU s', value: (s) => s.cpuSeconds, format: fixed(2) },
  ];
  return columns;
}

export function report(results: Results, brokers: string[], setup: ReportSetup): void {
  const { members, partitions, quick } = setup;
  const rebalanceOf = (b: string) => results.rebalance.get(b);
  const leave = rebalanceColumns(
    (f) => f.afterLeave,
    (f) => f.afterLeaveSync,
  );
  const join = rebalanceColumns(
    (f) => f.afterJoin,
    (f) => f.afterJoinSync,
  );
  printTable(
    `Rebalance of a ${members}-member kafkajs group on ${partitions} partitions, ${setup.rounds} rounds${quick ? ' (quick)' : ''}`,
    ['case', 'broker', ...leave.map((c) => c.name), 'note'],
    [
      ...rowsFor(`after leave (${members} → ${members - 1})`, rebalanceOf, brokers, leave),
      ...rowsFor(`after join (${members - 1} → ${members})`, rebalanceOf, brokers, join),
    ],
  );
  console.log(
    "p50/p90: from the LeaveGroup sent (after join: the new member's first JoinGroup) to the last member holding its new assignment (kafkajs GROUP_JOIN).",
  );
  console.log(
    `Members fetch with a ${setup.fetchWaitMs} ms wait and heartbeat after each fetch; leaves and joins fall at points spread evenly over that cycle,`,
  );
  console.log(
    "the same for both brokers: most of p50/p90 is the client noticing. join+sync: from the rebalance's last JoinGroup sent, the broker's part.",
  );
  console.log('CPU s: the broker over all measured rounds (both cases).');

  const commitColumns: Array<Column<CommitTotals>> = [
    { name: 'commits/s', value: (r) => r.commits / r.seconds, format: fixed(0) },
    { name: 'offsets/s', value: (r) => r.offsets / r.seconds, format: fixed(0) },
    { name: 'broker CPU s', value: (r) => r.cpuSeconds, format: fixed(1) },
    { name: 'peak RSS MiB', value: (r) => r.peakRssMiB, format: fixed(0) },
    { name: 'client CPU s', value: (r) => r.clientCpuSeconds, format: fixed(1) },
  ];
  const spread = (r: CommitTotals) =>
    `slices ${Math.round(Math.min(...r.sliceRates))}-${Math.round(Math.max(...r.sliceRates))}/s`;
  printTable(
    `Offset commits by one kafkajs member, ${setup.commitSeconds} s each in ${setup.sliceSeconds} s slices alternating between brokers${quick ? ' (quick)' : ''}`,
    ['case', 'broker', ...commitColumns.map((c) => c.name), 'note'],
    [...results.commits].flatMap(([label, byBroker]) =>
      rowsFor(label, (b) => byBroker.get(b), brokers, commitColumns, spread),
    ),
  );
  console.log(
    'commits/s: OffsetCommit requests acknowledged per second; offsets/s: partition offsets in them. Checked with OffsetFetch after each slice.',
  );
  console.log(
    'Broker CPU and peak RSS: its process tree during the case, from /proc; client CPU: this process (all kafkajs members).',
  );
}
