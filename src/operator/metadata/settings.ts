/**
 * A cluster's controller settings from its Cluster: the topic defaults Kafka keeps in broker
 * config (`num.partitions`, `default.replication.factor`, `delete.topic.enable` in spec.config), the
 * preferred-leader rebalance (`auto.leader.rebalance.enable`, `leader.imbalance.check.interval.seconds`,
 * `leader.imbalance.per.broker.percentage`, Kafka's defaults where absent or invalid), and the
 * operator's broker session timeout.
 *
 * `default.replication.factor` defaults to min(3, replicas) rather than Kafka's 1: on a cluster of
 * several brokers, a topic a client auto-creates should survive the loss of one, as Strimzi's and
 * Redpanda's examples configure it.
 */
import type { ControllerSettings } from '../../controller/controller.ts';
import { REBALANCE_DEFAULTS } from '../../controller/leader-rebalance.ts';
import type { Cluster } from '../api/index.ts';

export function controllerSettings(cluster: Cluster, sessionTimeoutMs: number): ControllerSettings {
  const config = cluster.spec.config ?? {};
  return {
    sessionTimeoutMs,
    numPartitions: positiveInt(config['num.partitions']) ?? 1,
    defaultReplicationFactor:
      positiveInt(config['default.replication.factor']) ?? Math.min(3, Math.max(1, cluster.spec.replicas)),
    deleteTopicEnable: config['delete.topic.enable']?.trim().toLowerCase() !== 'false',
    autoLeaderRebalanceEnable: config['auto.leader.rebalance.enable']?.trim().toLowerCase() !== 'false',
    leaderImbalanceCheckIntervalMs:
      (wholeNumber(config['leader.imbalance.check.interval.seconds'], 1, 86_400) ??
        REBALANCE_DEFAULTS.leaderImbalanceCheckIntervalMs / 1000) * 1000,
    leaderImbalancePerBrokerPercentage:
      wholeNumber(config['leader.imbalance.per.broker.percentage'], 0, 100) ??
      REBALANCE_DEFAULTS.leaderImbalancePerBrokerPercentage,
  };
}

function positiveInt(text: string | undefined): number | undefined {
  return wholeNumber(text, 1, 32767);
}

function wholeNumber(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}
