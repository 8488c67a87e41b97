/**
 * A cluster's controller settings from its Cluster: the topic defaults Kafka keeps in broker
 * config (`num.partitions`, `default.replication.factor`, `delete.topic.enable` in spec.config), and
 * the operator's broker session timeout.
 *
 * `default.replication.factor` defaults to min(3, replicas) rather than Kafka's 1: on a cluster of
 * several brokers, a topic a client auto-creates should survive the loss of one, as Strimzi's and
 * Redpanda's examples configure it.
 */
import type { ControllerSettings } from '../../controller/controller.ts';
import type { Cluster } from '../api/index.ts';

export function controllerSettings(cluster: Cluster, sessionTimeoutMs: number): ControllerSettings {
  const config = cluster.spec.config ?? {};
  return {
    sessionTimeoutMs,
    numPartitions: positiveInt(config['num.partitions']) ?? 1,
    defaultReplicationFactor:
      positiveInt(config['default.replication.factor']) ?? Math.min(3, Math.max(1, cluster.spec.replicas)),
    deleteTopicEnable: config['delete.topic.enable']?.trim().toLowerCase() !== 'false',
  };
}

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 32767 ? n : undefined;
}
