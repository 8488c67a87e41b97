/**
 * A ControllerService double for the HTTP tests: it records every call, answers what the test
 * scripted, and publishes images when the test says so. No decisions of its own.
 */
import type {
  AdminResult,
  AlterPartitionRequest,
  AlterPartitionResult,
  AlterReassignmentsResult,
  ConfigChange,
  ControllerService,
  CreateTopicRequest,
  ElectionTarget,
  ElectionType,
  ElectLeadersResult,
  HeartbeatRequest,
  HeartbeatResponse,
  ListReassignmentsResult,
  ReassignmentTarget,
  RegisterRequest,
  RegisterResponse,
} from '../../../src/controller/api.ts';
import { indexTopics, type MetadataImage, type TopicState } from '../../../src/controller/image.ts';

export type Call = { method: string; args: unknown[] };

export function topic(name: string, partitions = 1): TopicState {
  return {
    name,
    topicId: `id-${name}`.padEnd(22, 'A'),
    internal: false,
    configs: {},
    partitions: Array.from({ length: partitions }, (_, p) => ({
      partition: p,
      leader: 0,
      leaderEpoch: 0,
      partitionEpoch: 0,
      replicas: [0],
      isr: [0],
    })),
  };
}

export function image(
  version: number,
  topics: TopicState[] = [],
  o: { brokerEpoch?: number } = {},
): MetadataImage {
  return {
    version,
    controllerEpoch: 1,
    clusterId: 'cluster-1',
    controllerId: 0,
    brokers: [{ nodeId: 0, host: '127.0.0.1', port: 9092, rack: null }],
    registrations: [
      {
        nodeId: 0,
        host: '127.0.0.1',
        port: 9092,
        rack: null,
        incarnationId: 'inc-0',
        brokerEpoch: o.brokerEpoch ?? 7,
        fenced: false,
        shuttingDown: false,
      },
    ],
    ...indexTopics(topics),
  };
}

type Waiter = { method: string; resolve: (c: Call) => void };

export class FakeControllerService implements ControllerService {
  readonly calls: Call[] = [];
  current: MetadataImage = image(1);
  registerResult: AdminResult<RegisterResponse> = {
    ok: true,
    brokerEpoch: 7,
    clusterId: 'cluster-1',
    controllerEpoch: 1,
  };
  heartbeatResult: AdminResult<HeartbeatResponse> = { ok: true, fenced: false, shutdownReady: false };
  topicResult: AdminResult<{ topic: TopicState }> = { ok: true, topic: topic('t') };
  electResult: ElectLeadersResult = {
    ok: true,
    results: [
      { topic: 't', partitions: [{ partition: 0, errorCode: 0, errorMessage: null, leaderEpoch: 3 }] },
    ],
  };
  reassignResult: AlterReassignmentsResult = {
    ok: true,
    results: [
      { topic: 't', partitions: [{ partition: 0, errorCode: 0, errorMessage: null, partitionEpoch: 4 }] },
    ],
  };
  listResult: ListReassignmentsResult = {
    ok: true,
    topics: [
      {
        topic: 't',
        partitions: [{ partition: 0, replicas: [1, 2, 0], addingReplicas: [2], removingReplicas: [0] }],
      },
    ],
  };
  alterResult: AlterPartitionResult = { ok: true, state: topic('t').partitions[0] };
  nextProducerId = 1000n;
  readonly #listeners = new Set<(image: MetadataImage) => void>();
  readonly #waiters: Waiter[] = [];

  /** Resolves with the next call of `method` (or the first already recorded after `from`). */
  called(method: string, from = 0): Promise<Call> {
    const seen = this.calls.slice(from).find((c) => c.method === method);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ method, resolve }));
  }

  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  get listeners(): number {
    return this.#listeners.size;
  }

  publish(next: MetadataImage): void {
    this.current = next;
    for (const l of this.#listeners) l(next);
  }

  #record(method: string, ...args: unknown[]): void {
    const call = { method, args };
    this.calls.push(call);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.#waiters[i].method === method) {
        this.#waiters[i].resolve(call);
        this.#waiters.splice(i, 1);
      }
    }
  }

  async register(req: RegisterRequest) {
    this.#record('register', req);
    return this.registerResult;
  }
  async heartbeat(req: HeartbeatRequest) {
    this.#record('heartbeat', req);
    return this.heartbeatResult;
  }
  async alterPartition(req: AlterPartitionRequest) {
    this.#record('alterPartition', req);
    return this.alterResult;
  }
  async brokerLost(nodeId: number, brokerEpoch: number, reason: string) {
    this.#record('brokerLost', nodeId, brokerEpoch, reason);
  }
  image(): MetadataImage {
    return this.current;
  }
  onImage(listener: (image: MetadataImage) => void): () => void {
    this.#record('subscribe');
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      this.#record('unsubscribe');
    };
  }
  async createTopic(req: CreateTopicRequest, validateOnly: boolean) {
    this.#record('createTopic', req, validateOnly);
    return this.topicResult;
  }
  async deleteTopic(ref: { name: string } | { topicId: string }) {
    this.#record('deleteTopic', ref);
    return this.topicResult;
  }
  async createPartitions(name: string, count: number, assignments: number[][] | null, validateOnly: boolean) {
    this.#record('createPartitions', name, count, assignments, validateOnly);
    return this.topicResult;
  }
  async alterTopicConfigs(name: string, change: ConfigChange, validateOnly: boolean) {
    this.#record('alterTopicConfigs', name, change, validateOnly);
    return this.topicResult;
  }
  async electLeaders(type: ElectionType, targets: ElectionTarget[] | null) {
    this.#record('electLeaders', type, targets);
    return this.electResult;
  }
  async alterPartitionReassignments(targets: ReassignmentTarget[]) {
    this.#record('alterPartitionReassignments', targets);
    return this.reassignResult;
  }
  async listPartitionReassignments(targets: ElectionTarget[] | null) {
    this.#record('listPartitionReassignments', targets);
    return this.listResult;
  }
  async allocateProducerIds(count: number): Promise<bigint> {
    this.#record('allocateProducerIds', count);
    const first = this.nextProducerId;
    this.nextProducerId += BigInt(count);
    return first;
  }
}
