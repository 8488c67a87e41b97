/** Builders for controller states in tests: brokers, topics and partitions by their ids. */
import type { BrokerRegistration, PartitionState, TopicState } from '../../../src/controller/image.ts';
import { type ClusterState, newClusterState } from '../../../src/controller/state.ts';

export function broker(nodeId: number, o: Partial<BrokerRegistration> = {}): BrokerRegistration {
  return {
    nodeId,
    host: 'localhost',
    port: 9092 + nodeId,
    rack: null,
    incarnationId: `inc-${nodeId}`,
    brokerEpoch: 10 + nodeId,
    fenced: false,
    shuttingDown: false,
    ...o,
  };
}

export function partition(
  index: number,
  replicas: number[],
  o: Partial<PartitionState> = {},
): PartitionState {
  return {
    partition: index,
    leader: replicas[0],
    leaderEpoch: 0,
    partitionEpoch: 0,
    replicas,
    isr: [...replicas],
    ...o,
  };
}

export function topic(
  name: string,
  partitions: PartitionState[],
  configs: Record<string, string> = {},
): TopicState {
  return { name, topicId: `id-${name}`.padEnd(22, 'A'), internal: false, partitions, configs };
}

export function clusterState(o: { brokers: BrokerRegistration[]; topics?: TopicState[] }): ClusterState {
  return {
    ...newClusterState('cluster-A'),
    version: 5,
    controllerEpoch: 1,
    nextBrokerEpoch: 100,
    brokers: o.brokers,
    topics: o.topics ?? [],
  };
}

export function partitionOf(state: ClusterState, name: string, index = 0): PartitionState {
  const p = state.topics.find((t) => t.name === name)?.partitions[index];
  if (!p) throw new Error(`no partition ${name}-${index}`);
  return p;
}
