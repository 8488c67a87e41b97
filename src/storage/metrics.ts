import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';

/**
 * The storage engine's metrics, registered once per registry and shared by every partition log
 * (labels stay bounded: never a label per topic or partition).
 */
export interface StorageMetrics {
  appendedBytes: Counter;
  appendedBatches: Counter;
  flushSeconds: Histogram;
  /** Bytes cut off by recovery, by `kind`: torn (an unfinished write) or corrupt (a failed check). */
  recoveryTruncatedBytes: Counter<'kind'>;
  recoverySeconds: Histogram<'shutdown'>;
  segmentsDeleted: Counter<'reason'>;
  compactionRemovedRecords: Counter;
  offlinePartitions: Gauge;
}

const cache = new WeakMap<Registry, StorageMetrics>();

export function storageMetrics(registry: Registry): StorageMetrics {
  const existing = cache.get(registry);
  if (existing) return existing;
  const registers = [registry];
  const metrics: StorageMetrics = {
    appendedBytes: new Counter({
      name: 'tributary_storage_appended_bytes_total',
      help: 'Bytes of record batches appended to partition logs.',
      registers,
    }),
    appendedBatches: new Counter({
      name: 'tributary_storage_appended_batches_total',
      help: 'Record batches appended to partition logs.',
      registers,
    }),
    flushSeconds: new Histogram({
      name: 'tributary_storage_flush_duration_seconds',
      help: 'Time to fsync a partition log.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    recoveryTruncatedBytes: new Counter({
      name: 'tributary_storage_recovery_truncated_bytes_total',
      help: 'Bytes cut from partition logs by start-up recovery, by kind (torn write or corrupt data).',
      labelNames: ['kind'],
      registers,
    }),
    recoverySeconds: new Histogram({
      name: 'tributary_storage_recovery_duration_seconds',
      help: 'Time to load a partition log at start-up, by how the last shutdown went (clean or unclean).',
      labelNames: ['shutdown'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120],
      registers,
    }),
    segmentsDeleted: new Counter({
      name: 'tributary_storage_segments_deleted_total',
      help: 'Segments deleted, by reason (retention-time, retention-size, log-start-offset, truncation).',
      labelNames: ['reason'],
      registers,
    }),
    compactionRemovedRecords: new Counter({
      name: 'tributary_storage_compaction_removed_records_total',
      help: 'Records removed by log compaction (superseded values and expired tombstones).',
      registers,
    }),
    offlinePartitions: new Gauge({
      name: 'tributary_storage_offline_partitions',
      help: 'Partition logs taken offline by an I/O failure.',
      registers,
    }),
  };
  cache.set(registry, metrics);
  return metrics;
}
