/**
 * Replication's metrics: what an operator watches to know whether a rolling restart may proceed
 * (under-replicated partitions), whether followers keep up (their lag), and how often ISRs churn.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReplicaPartition } from './partition.ts';

export interface ReplicationMetrics {
  isrChanges: Counter<'kind'>;
}

export function replicationMetrics(
  registry: Registry,
  partitions: () => Iterable<ReplicaPartition>,
): ReplicationMetrics {
  new Gauge({
    name: 'tributary_replication_under_replicated_partitions',
    help: 'Partitions led here whose ISR is smaller than their replica set.',
    registers: [registry],
    collect() {
      let n = 0;
      for (const p of partitions()) {
        if (p.role === 'leader' && p.state.isr.length < p.state.replicas.length) n++;
      }
      this.set(n);
    },
  });
  new Gauge({
    name: 'tributary_replication_follower_lag_max_records',
    help: 'The most records any follower of a partition led here is behind its leader’s log end.',
    registers: [registry],
    collect() {
      let max = 0;
      for (const p of partitions()) {
        if (p.role !== 'leader') continue;
        for (const id of p.state.replicas) {
          const f = p.follower(id);
          if (f && f.logEndOffset >= 0) max = Math.max(max, p.log.logEndOffset - f.logEndOffset);
        }
      }
      this.set(max);
    },
  });
  return {
    isrChanges: new Counter({
      name: 'tributary_replication_isr_changes_total',
      help: 'ISR changes the controller accepted from this broker as leader, by kind (shrink, expand).',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}
