/**
 * The group coordinator's metrics. Counters move as things happen; the gauges (groups by state,
 * members, consumer lag) are computed at scrape time from the coordinator's in-memory state, so
 * nothing is tracked per request. Lag is the partition's high watermark (the end of the log as
 * consumers see it) minus the group's committed offset, for partitions this broker leads; its
 * labels are bounded by groups × partitions, never by members or offsets.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { GROUP_STATES, type ClassicGroup } from './group.ts';

export interface GroupMetrics {
  rebalances: Counter;
  offsetCommits: Counter;
  loadSeconds: Histogram;
}

export interface GroupMetricsSource {
  /** The groups this broker coordinates now. */
  groups(): Iterable<ClassicGroup>;
  /** Offsets partitions by load status. */
  partitions(): Record<'loading' | 'active' | 'failed', number>;
  /** A partition's high watermark when this broker leads it, else null. */
  highWatermark(topic: string, partition: number): number | null;
}

export function groupMetrics(registry: Registry, source: GroupMetricsSource): GroupMetrics {
  const registers = [registry];
  new Gauge({
    name: 'tributary_group_coordinator_groups',
    help: 'Groups this broker coordinates, by state.',
    labelNames: ['state'],
    registers,
    collect() {
      const counts = new Map<string, number>(GROUP_STATES.map((s) => [s, 0]));
      for (const g of source.groups()) counts.set(g.state, (counts.get(g.state) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'tributary_group_coordinator_members',
    help: 'Members of the groups this broker coordinates.',
    registers,
    collect() {
      let n = 0;
      for (const g of source.groups()) n += g.size;
      this.set(n);
    },
  });
  new Gauge({
    name: 'tributary_group_coordinator_partitions',
    help: 'Offsets topic partitions this broker leads, by load status.',
    labelNames: ['status'],
    registers,
    collect() {
      for (const [status, n] of Object.entries(source.partitions())) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'tributary_group_consumer_lag_records',
    help: "Records between a group's committed offset and the partition's high watermark.",
    labelNames: ['group', 'topic', 'partition'],
    registers,
    collect() {
      this.reset();
      for (const g of source.groups()) {
        for (const { topic, partition, value } of g.offsets.entries()) {
          const end = source.highWatermark(topic, partition);
          if (end === null) continue;
          const lag = Math.max(end - Number(value.offset), 0);
          this.set({ group: g.groupId, topic, partition: String(partition) }, lag);
        }
      }
    },
  });
  return {
    rebalances: new Counter({
      name: 'tributary_group_coordinator_rebalances_total',
      help: 'Rebalances completed (new generations) in groups this broker coordinates.',
      registers,
    }),
    offsetCommits: new Counter({
      name: 'tributary_group_coordinator_offset_commits_total',
      help: 'Partition offsets committed.',
      registers,
    }),
    loadSeconds: new Histogram({
      name: 'tributary_group_coordinator_load_duration_seconds',
      help: 'Time to load an offsets partition when this broker becomes its leader.',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    }),
  };
}
