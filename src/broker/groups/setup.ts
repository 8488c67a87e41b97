/**
 * The group coordinator as a broker runs it: configured from the broker's properties, persisting
 * to the offsets topic through the replica manager, with its metrics in the broker's registry.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { BrokerConfig } from '../config.ts';
import type { MetadataImage } from '../metadata/image.ts';
import type { TopicAdmin } from '../metadata/local-controller.ts';
import type { ReplicaManager } from '../replica-manager.ts';
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

export interface BrokerCoordinatorOptions {
  config: BrokerConfig;
  clock: Clock;
  log: Logger;
  registry: Registry;
  metadata: () => MetadataImage;
  admin: TopicAdmin;
  replicas: ReplicaManager;
}

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
