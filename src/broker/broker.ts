/**
 * One broker: its logs, its metadata, its Kafka listener and its admin HTTP server, started and
 * stopped in the right order. The CLI (`tributary broker`, `tributary dev`) and the tests build it;
 * nothing here touches the process (signals, exit codes, the terminal).
 *
 * Start: metadata → log recovery → apply the image → Kafka listener → admin HTTP → ready.
 * Stop: not ready → stop accepting and answer what is in flight → close every log cleanly (flush,
 * indexes, checkpoints, clean-shutdown marker) → admin HTTP.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type Clock, systemClock } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import type { Fs } from '../storage/fs.ts';
import { nodeFs } from '../storage/fs.ts';
import { LogManager } from '../storage/log-manager.ts';
import { parsePartitionDirName } from '../storage/names.ts';
import { buildAdminApp } from './admin-http.ts';
import type { BrokerConfig, HostPort } from './config.ts';
import type { GroupCoordinator } from './groups/coordinator.ts';
import { brokerGroupCoordinator } from './groups/setup.ts';
import { brokerHandlers } from './handlers/index.ts';
import type { MetadataImage } from '../controller/image.ts';
import { LocalController, METADATA_FILE } from './metadata/local-controller.ts';
import { serverMetrics } from './metrics.ts';
import { registerLogGauges } from './metrics-collectors.ts';
import { ReplicaManager } from './replica-manager.ts';
import { KafkaListener } from './server.ts';
import type { BrokerServices } from './services.ts';
import { deletedTopics, forgetTopics } from './topic-metrics.ts';

export interface BrokerOptions {
  config: BrokerConfig;
  logger: Logger;
  clock?: Clock;
  fs?: Fs;
  /** Include Node's process metrics (CPU, memory, event loop); off in tests running many brokers. */
  processMetrics?: boolean;
}

export interface BrokerAddresses {
  /** host:port clients bootstrap from (the advertised address). */
  bootstrap: string;
  kafka: HostPort;
  admin: HostPort;
}

export class Broker {
  readonly config: BrokerConfig;
  readonly registry = new Registry();
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #fs: Fs;
  #logs: LogManager | null = null;
  #listener: KafkaListener | null = null;
  #admin: FastifyInstance | null = null;
  #services: BrokerServices | null = null;
  #groups: GroupCoordinator | null = null;
  #checks = { logsRecovered: false, listenerOpen: false, shuttingDown: false };
  #addresses: BrokerAddresses | null = null;
  readonly #shutdown = new AbortController();

  constructor(o: BrokerOptions) {
    this.config = o.config;
    this.#log = o.logger;
    this.#clock = o.clock ?? systemClock;
    this.#fs = o.fs ?? nodeFs;
    if (o.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'tributary_' });
  }

  get addresses(): BrokerAddresses {
    if (!this.#addresses) throw new Error('broker not started');
    return this.#addresses;
  }

  get services(): BrokerServices {
    if (!this.#services) throw new Error('broker not started');
    return this.#services;
  }

  get ready(): boolean {
    return this.#checks.logsRecovered && this.#checks.listenerOpen && !this.#checks.shuttingDown;
  }

  async start(): Promise<BrokerAddresses> {
    const c = this.config;
    const log = this.#log;
    await this.#refuseOrphanedLogs();
    const replicasRef: { current: ReplicaManager | null } = { current: null };
    const logs = new LogManager({
      dataDir: c.dataDir,
      fs: this.#fs,
      clock: this.#clock,
      logger: log.child({ component: 'storage' }),
      registry: this.registry,
      loadConcurrency: c.recoveryThreads,
      retentionCheckIntervalMs: c.retentionCheckIntervalMs,
      compactionIntervalMs: c.compactionIntervalMs,
      configFor: (topic) => replicasRef.current?.topicConfig(topic).log ?? {},
    });
    this.#logs = logs;
    const replicas = new ReplicaManager({
      nodeId: c.nodeId,
      logs,
      fs: this.#fs,
      topicDefaults: c.topicDefaults,
      logger: log.child({ component: 'replicas' }),
    });
    replicasRef.current = replicas;
    let applied: MetadataImage | undefined;
    const controller = await LocalController.open({
      dataDir: c.dataDir,
      fs: this.#fs,
      self: { nodeId: c.nodeId, host: c.advertised.host, port: c.advertised.port, rack: c.rack },
      defaults: {
        numPartitions: c.numPartitions,
        replicationFactor: c.defaultReplicationFactor,
        deleteTopicEnable: c.deleteTopicEnable,
      },
      onImage: async (image) => {
        await replicas.applyImage(image);
        await forgetTopics(this.registry, deletedTopics(applied, image));
        applied = image;
      },
    });

    await logs.loadAll();
    await controller.publish();
    logs.startBackgroundTasks();
    this.#checks.logsRecovered = true;

    const base = {
      config: c,
      clock: this.#clock,
      log,
      registry: this.registry,
      metadata: () => controller.image(),
      admin: controller,
      replicas,
      shutdown: this.#shutdown.signal,
    };
    // Groups load from the offsets topic in the background; until a partition is loaded its
    // groups answer COORDINATOR_LOAD_IN_PROGRESS.
    this.#groups = brokerGroupCoordinator(base);
    this.#groups.start();
    this.#services = { ...base, groups: this.#groups };
    registerLogGauges(this.registry, logs);
    const handlers = brokerHandlers(this.#services);
    this.#listener = new KafkaListener({
      host: c.listener.host,
      port: c.listener.port,
      maxRequestBytes: c.maxRequestBytes,
      maxInFlightBytes: c.maxInFlightBytes,
      idleTimeoutMs: c.idleTimeoutMs,
      handlers,
      log,
      metrics: serverMetrics(this.registry),
    });
    const bound: AddressInfo = await this.#listener.listen();
    const advertised = { ...c.advertised, port: c.advertised.port === 0 ? bound.port : c.advertised.port };
    controller.setSelf({ nodeId: c.nodeId, host: advertised.host, port: advertised.port, rack: c.rack });
    this.#checks.listenerOpen = true;

    this.#admin = buildAdminApp({
      registry: this.registry,
      readiness: () => ({ ready: this.ready, checks: { ...this.#checks } }),
    });
    await this.#admin.listen({ host: c.adminListener.host, port: c.adminListener.port });
    const adminAddr = this.#admin.server.address() as AddressInfo;
    this.#addresses = {
      bootstrap: `${advertised.host}:${advertised.port}`,
      kafka: { host: bound.address, port: bound.port },
      admin: { host: adminAddr.address, port: adminAddr.port },
    };
    log.info(
      {
        nodeId: c.nodeId,
        clusterId: controller.image().clusterId,
        bootstrap: this.#addresses.bootstrap,
        admin: `${adminAddr.address}:${adminAddr.port}`,
        dataDir: c.dataDir,
      },
      'Broker ready',
    );
    return this.#addresses;
  }

  /** Clean shutdown; safe to call twice, and after a failed start. */
  async stop(): Promise<void> {
    if (this.#checks.shuttingDown) return;
    this.#checks.shuttingDown = true;
    this.#log.info('Shutting down: finishing requests in flight');
    this.#shutdown.abort();
    // JoinGroup and SyncGroup answers can wait minutes: they are answered NOT_COORDINATOR now,
    // so that the listener does not wait for them and clients look for the next coordinator.
    this.#groups?.close();
    await this.#listener?.close(this.config.shutdownTimeoutMs);
    await this.#logs?.close();
    await this.#admin?.close();
    this.#log.info('Broker stopped cleanly');
  }

  /**
   * Partition directories without a metadata file mean the metadata was lost or moved: serving (or
   * deleting) those logs on a guess is worse than refusing to start.
   */
  async #refuseOrphanedLogs(): Promise<void> {
    const dir = this.config.dataDir;
    if (!(await this.#fs.stat(dir)) || (await this.#fs.stat(`${dir}/${METADATA_FILE}`))) return;
    const partitions = (await this.#fs.readdir(dir)).filter((n) => parsePartitionDirName(n) !== null);
    if (partitions.length > 0) {
      throw new Error(
        `${dir} holds ${partitions.length} partition logs but no ${METADATA_FILE}; restore the file, or move the ` +
          'logs away to start an empty broker there',
      );
    }
  }
}
