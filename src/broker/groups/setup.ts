/**
 * The group coordinator as a broker runs it: configured from the broker's properties, persisting
 * to the offsets topic through the replica manager, with its metrics in the broker's registry.
 */
import type { BrokerConfig } from '../config.ts';
import type { BrokerServices } from '../services.ts';
import { type CoordinatorConfig, GroupCoordinator } from './coordinator.ts';
import { groupMetrics } from './metrics.ts';
import { partitionOffsetsLog } from './offsets-store.ts';

export function coordinatorConfig(c: BrokerConfig): CoordinatorConfig {
  return {
    offsetsTopicPartitions: c.offsetsTopicPartitions,
    offsetsTopicReplicationFactor: c.offsetsTopicReplicationFactor,
    initialRebalanceDelayMs: c.groupInitialRebalanceDelayMs,
    minSessionTimeoutMs: c.groupMinSessionTimeoutMs,
    maxSessionTimeoutMs: c.groupMaxSessionTimeoutMs,
    maxSize: c.groupMaxSize,
    offsetsRetentionMs: c.offsetsRetentionMinutes * 60 * 1000,
    offsetsRetentionCheckIntervalMs: c.offsetsRetentionCheckIntervalMs,
    offsetMetadataMaxBytes: c.offsetMetadataMaxBytes,
  };
}

/** What the coordinator is built from: the broker's services, before the coordinator joins them. */
export type BrokerCoordinatorOptions = Omit<BrokerServices, 'groups' | 'shutdown'>;

export function brokerGroupCoordinator(o: BrokerCoordinatorOptions): GroupCoordinator {
  const highWatermark = (topic: string, partition: number): number | null => {
    const lookup = o.replicas.leaderLog(topic, partition);
    return lookup.ok ? lookup.log.highWatermark : null;
  };
  let coordinator: GroupCoordinator | null = null;
  const metrics = groupMetrics(o.registry, {
    groups: () => coordinator?.groups() ?? [],
    partitions: () => coordinator?.partitionCounts() ?? { loading: 0, active: 0, failed: 0 },
    highWatermark,
  });
  coordinator = new GroupCoordinator({
    nodeId: o.config.nodeId,
    config: coordinatorConfig(o.config),
    clock: o.clock,
    log: o.log,
    metadata: o.metadata,
    admin: o.admin,
    offsetsLog: (partition) =>
      partitionOffsetsLog({ replicas: o.replicas, partition, clock: o.clock, log: o.log }),
    metrics,
  });
  return coordinator;
}
