/**
 * Brokers that replicate, in one process and without a controller: each has its own data directory,
 * LogManager, ReplicaManager and Kafka listener (the parts of src/broker/broker.ts that data and
 * replication need), and the test plays the controller — it hands each broker the images it
 * chooses (`push`) and answers AlterPartition with `FakeController`, which persists by bumping the
 * partition epoch and pushing the next image to every broker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadBrokerConfig } from '../../../src/broker/config.ts';
import type { GroupCoordinator } from '../../../src/broker/groups/coordinator.ts';
import { brokerHandlers } from '../../../src/broker/handlers/index.ts';
import { serverMetrics } from '../../../src/broker/metrics.ts';
import { ReplicaManager } from '../../../src/broker/replica-manager.ts';
import { KafkaListener } from '../../../src/broker/server.ts';
import type { BrokerServices } from '../../../src/broker/services.ts';
import { systemClock } from '../../../src/common/clock.ts';
import { silentLogger } from '../../../src/common/logger.ts';
import type { AlterPartitionRequest, AlterPartitionResult, TopicAdmin } from '../../../src/controller/api.ts';
import {
  indexTopics,
  type MetadataImage,
  type PartitionState,
  type TopicState,
} from '../../../src/controller/image.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { nodeFs } from '../../../src/storage/fs.ts';
import { LogManager } from '../../../src/storage/log-manager.ts';
import type { PartitionLog } from '../../../src/storage/partition-log.ts';

export interface ClusterBroker {
  nodeId: number;
  port: number;
  dataDir: string;
  logs: LogManager;
  replicas: ReplicaManager;
  /** The image this broker was last given. */
  image: MetadataImage;
  stop(): Promise<void>;
}

const noAdmin = new Proxy({} as TopicAdmin, {
  get: () => () => Promise.reject(new Error('no topic administration in this test')),
});

/** Plays the controller: owns the topics, answers AlterPartition, pushes images. */
export class FakeController {
  version = 1;
  readonly topics = new Map<string, TopicState>();
  readonly brokers: ClusterBroker[] = [];
  readonly alterRequests: Array<AlterPartitionRequest> = [];
  /** Set to refuse every AlterPartition with this error. */
  refuseWith: number | null = null;

  image(): MetadataImage {
    return {
      version: this.version,
      controllerEpoch: 1,
      clusterId: 'replication-test',
      controllerId: 0,
      brokers: this.brokers.map((b) => ({ nodeId: b.nodeId, host: '127.0.0.1', port: b.port, rack: null })),
      registrations: this.brokers.map((b) => ({
        nodeId: b.nodeId,
        host: '127.0.0.1',
        port: b.port,
        rack: null,
        incarnationId: `incarnation-${b.nodeId}`,
        brokerEpoch: 1,
        fenced: false,
        shuttingDown: false,
      })),
      ...indexTopics(this.topics.values()),
    };
  }

  /** Sets a partition's state (a new version) without pushing it. */
  set(topic: string, state: Omit<PartitionState, 'partition'> & { partition?: number }): void {
    const t = this.topics.get(topic)!;
    const partitions = [...t.partitions];
    partitions[state.partition ?? 0] = { partition: state.partition ?? 0, ...state };
    this.topics.set(topic, { ...t, partitions });
    this.version++;
  }

  createTopic(
    name: string,
    state: Omit<PartitionState, 'partition'>,
    configs: Record<string, string> = {},
  ): void {
    this.topics.set(name, {
      name,
      topicId: randomTopicId(),
      internal: false,
      partitions: [{ partition: 0, ...state }],
      configs,
    });
    this.version++;
  }

  /** Applies the current image to the given brokers (all by default). */
  async push(to: ClusterBroker[] = this.brokers): Promise<void> {
    const image = this.image();
    for (const b of to) {
      b.image = image;
      await b.replicas.applyImage(image);
    }
  }

  alterPartition(nodeId: number) {
    return async (
      req: Omit<AlterPartitionRequest, 'nodeId' | 'brokerEpoch'>,
    ): Promise<AlterPartitionResult> => {
      this.alterRequests.push({ ...req, nodeId, brokerEpoch: 1 });
      if (this.refuseWith !== null) return { ok: false, errorCode: this.refuseWith, errorMessage: 'refused' };
      const topic = [...this.topics.values()].find((t) => t.topicId === req.topicId);
      const p = topic?.partitions[req.partition];
      if (!topic || !p)
        return { ok: false, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: '' };
      if (p.leaderEpoch !== req.leaderEpoch || p.leader !== nodeId)
        return { ok: false, errorCode: ErrorCode.FENCED_LEADER_EPOCH, errorMessage: '' };
      if (p.partitionEpoch !== req.partitionEpoch)
        return { ok: false, errorCode: ErrorCode.INVALID_UPDATE_VERSION, errorMessage: '' };
      const state = { ...p, isr: req.newIsr, partitionEpoch: p.partitionEpoch + 1 };
      this.set(topic.name, state);
      // The controller persists, then pushes the image; the leader learns from the answer first.
      setImmediate(() => void this.push());
      return { ok: true, state };
    };
  }
}

export function randomTopicId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
}

export async function startClusterBroker(
  controller: FakeController,
  nodeId: number,
  o: { properties?: Record<string, string>; dataDir?: string } = {},
): Promise<ClusterBroker> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), `trib-repl-${nodeId}-`));
  const { config } = loadBrokerConfig({
    flags: new Map(
      Object.entries({
        'node.id': String(nodeId),
        listeners: '127.0.0.1:0',
        'admin.listener': '127.0.0.1:0',
        'log.dirs': dataDir,
        'replica.fetch.wait.max.ms': '200',
        'replica.fetch.backoff.ms': '50',
        ...o.properties,
      }),
    ),
  });
  const registry = new Registry();
  const replicasRef: { current: ReplicaManager | null } = { current: null };
  const logs = new LogManager({
    dataDir,
    fs: nodeFs,
    clock: systemClock,
    logger: silentLogger,
    configFor: (topic) => replicasRef.current?.topicConfig(topic).log ?? {},
  });
  await logs.loadAll();
  const replicas = new ReplicaManager({
    nodeId,
    logs,
    fs: nodeFs,
    topicDefaults: config.topicDefaults,
    logger: silentLogger,
    clock: systemClock,
    alterPartition: controller.alterPartition(nodeId),
    replication: config,
    producerIdExpirationMs: config.producerIdExpirationMs,
    registry,
  });
  replicasRef.current = replicas;
  const shutdown = new AbortController();
  const broker: ClusterBroker = {
    nodeId,
    port: 0,
    dataDir,
    logs,
    replicas,
    image: controller.image(),
    async stop() {
      shutdown.abort();
      await listener.close(1000);
      await replicas.close();
      await logs.close();
    },
  };
  const services: BrokerServices = {
    config,
    clock: systemClock,
    log: silentLogger,
    registry,
    metadata: () => broker.image,
    admin: noAdmin,
    replicas,
    shutdown: shutdown.signal,
    groups: {} as GroupCoordinator,
  };
  const listener = new KafkaListener({
    host: '127.0.0.1',
    port: 0,
    maxRequestBytes: config.maxRequestBytes,
    maxInFlightBytes: config.maxInFlightBytes,
    idleTimeoutMs: config.idleTimeoutMs,
    handlers: brokerHandlers(services),
    log: silentLogger,
    metrics: serverMetrics(registry),
  });
  broker.port = (await listener.listen()).port;
  controller.brokers.push(broker);
  return broker;
}

export function removeDataDir(b: ClusterBroker): void {
  rmSync(b.dataDir, { recursive: true, force: true });
}

export function logOf(b: ClusterBroker, topic: string): PartitionLog {
  const log = b.logs.get(topic, 0);
  if (!log) throw new Error(`broker ${b.nodeId} has no log for ${topic}`);
  return log;
}

/** Everything in the log, as stored. */
export async function storedBytes(log: PartitionLog): Promise<Buffer> {
  const { records } = await log.read(log.logStartOffset, { maxBytes: 64 << 20, isolation: 'log-end' });
  return records;
}

/** Polls `check` on the real clock (the brokers replicate over real sockets) until it holds. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
