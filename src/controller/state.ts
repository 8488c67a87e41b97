/**
 * The controller's persisted state (ClusterState) and what it derives: the image brokers serve, who
 * may lead, and the volatile per-broker sessions that only the running controller keeps.
 *
 * Everything a controller that takes over needs is in ClusterState, and every decision
 * (./brokers.ts, ./topics.ts, ./isr.ts, ./shutdown.ts) is a pure function from one ClusterState to
 * the next, each change bumping `version` by exactly one. Sessions are not persisted on purpose: a
 * new controller gives every unfenced broker a fresh session rather than trust old timestamps.
 */
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { AdminError } from './api.ts';
import {
  type BrokerEndpoint,
  type BrokerRegistration,
  indexTopics,
  type MetadataImage,
  type PartitionState,
  type TopicState,
} from './image.ts';

export interface ClusterState {
  format: 2;
  /** The image version: +1 at every change. */
  version: number;
  /** +1 at every takeover; the store refuses a write from an older one. */
  controllerEpoch: number;
  clusterId: string;
  /** A bigint as a decimal string (JSON has no 64-bit integers). */
  nextProducerId: string;
  nextBrokerEpoch: number;
  /** Sorted by nodeId. */
  brokers: BrokerRegistration[];
  topics: TopicState[];
}

/** What the controller knows of a broker between heartbeats; never persisted. */
export interface BrokerSession {
  lastHeartbeatMs: number;
  /** Its last heartbeat said its logs are recovered. */
  caughtUp: boolean;
}

/** A decision's outcome: the next state (the same object when nothing changed), its answer, and what to log. */
export interface Decision<T> {
  state: ClusterState;
  answer: T;
  /** What happened, for the controller's log at info ("Fenced broker 2 (session expired)"). */
  log: string[];
}

export function newClusterState(clusterId: string): ClusterState {
  return {
    format: 2,
    version: 0,
    controllerEpoch: 0,
    clusterId,
    nextProducerId: '0',
    nextBrokerEpoch: 1,
    brokers: [],
    topics: [],
  };
}

/** `next` as the successor of `prev`: one version later, or `prev` itself when nothing changed. */
export function successor(prev: ClusterState, next: ClusterState): ClusterState {
  return next === prev ? prev : { ...next, version: prev.version + 1 };
}

/** A new controller takes over: a new controller epoch (and version), before it decides anything. */
export function takeOver(state: ClusterState): ClusterState {
  return { ...state, controllerEpoch: state.controllerEpoch + 1, version: state.version + 1 };
}

/** May lead and join ISRs: registered, unfenced, not shutting down. */
export function isEligible(b: BrokerRegistration | undefined): boolean {
  return b !== undefined && !b.fenced && !b.shuttingDown;
}

export function brokerById(state: ClusterState): Map<number, BrokerRegistration> {
  return new Map(state.brokers.map((b) => [b.nodeId, b]));
}

export function toEndpoint(b: BrokerEndpoint): BrokerEndpoint {
  return { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack };
}

export function toImage(state: ClusterState): MetadataImage {
  const live = state.brokers.filter((b) => !b.fenced).sort((a, b) => a.nodeId - b.nodeId);
  return {
    version: state.version,
    controllerEpoch: state.controllerEpoch,
    clusterId: state.clusterId,
    // Clients send admin requests to the "controller"; any live broker forwards them, so the
    // lowest live id is as good as any and stays put while the cluster does.
    controllerId: live[0]?.nodeId ?? -1,
    brokers: live.map(toEndpoint),
    registrations: state.brokers,
    ...indexTopics(state.topics),
  };
}

/** A random id in Kafka's Uuid form: 16 bytes, base64url, never starting with '-'. */
export function randomUuid(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-') && id !== 'AAAAAAAAAAAAAAAAAAAAAA') return id;
  }
}

export function fail(errorCode: number, errorMessage: string): { ok: false } & AdminError {
  return { ok: false, errorCode, errorMessage };
}

/**
 * Partition `index` of topic `name` among `topics`, or the UNKNOWN_TOPIC_OR_PARTITION answer a
 * per-partition admin request (ElectLeaders, AlterPartitionReassignments) gives when there is none.
 */
export function findPartition(
  topics: ReadonlyMap<string, TopicState>,
  name: string,
  index: number,
): { topic: TopicState; partition: PartitionState } | { errorCode: number; errorMessage: string } {
  const topic = topics.get(name);
  const partition = topic?.partitions[index];
  if (topic && partition !== undefined && partition.partition === index) return { topic, partition };
  return {
    errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    errorMessage: topic ? `No such partition as ${name}-${index}.` : `No such topic as ${name}.`,
  };
}

/** `t` with partition `p` replaced. */
export function withPartition(t: TopicState, p: PartitionState): TopicState {
  return { ...t, partitions: t.partitions.map((q) => (q.partition === p.partition ? p : q)) };
}
