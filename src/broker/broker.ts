/**
 * One broker: its logs, its metadata, its Kafka listener and its admin HTTP server, started and
 * stopped in the right order. The CLI (`tributary broker`, `tributary dev`) and the tests build it;
 * nothing here touches the process (signals, exit codes, the terminal).
 *
 * Start: metadata → log recovery → apply the image → Kafka listener → admin HTTP → ready. The
 * listener binds before the first image (to advertise its port) but closes connections until then.
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
import type { BrokerConfig } from './config.ts';
import type { HostPort } from './host-port.ts';
import type { GroupCoordinator } from './groups/coordinator.ts';
import { brokerGroupCoordinator } from './groups/setup.ts';
import { brokerHandlers } from './handlers/index.ts';
import type { MetadataImage } from '../controller/image.ts';
import { randomUUID } from 'node:crypto';
import type { ControllerLink } from '../controller/api.ts';
import { Controller } from '../controller/controller.ts';
import { EmbeddedLink } from '../controller/embedded-link.ts';
import { HttpLink } from '../controller/http-link.ts';
import { LocalFileStore } from '../controller/store.ts';
import { readControllerToken } from '../controller/token.ts';
import { appliedAdmin } from './metadata/applied-admin.ts';
import {
  METADATA_FILE,
  readClusterId,
  writeMetaProperties,
  META_PROPERTIES_FILE,
} from './metadata/meta-properties.ts';
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
  #replicas: ReplicaManager | null = null;
  #listener: KafkaListener | null = null;
  #admin: FastifyInstance | null = null;
  #services: BrokerServices | null = null;
  #groups: GroupCoordinator | null = null;
  #link: ControllerLink | null = null;
  /** The controller this broker runs itself when it has no controller.address (a lone broker). */
  #embedded: Controller | null = null;
  #checks = { logsRecovered: false, listenerOpen: false, registered: false, shuttingDown: false };
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
    const k = this.#checks;
    return k.logsRecovered && k.listenerOpen && k.registered && !k.shuttingDown;
  }

  async start(): Promise<BrokerAddresses> {
    const c = this.config;
    const log = this.#log;
    await this.#refuseOrphanedLogs();
    const clusterId = await readClusterId(this.#fs, c.dataDir, c.nodeId);
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
      onOffline: (topic, partition) => replicasRef.current?.logOffline(topic, partition),
    });
    this.#logs = logs;
    const replicas = new ReplicaManager({
      nodeId: c.nodeId,
      logs,
      fs: this.#fs,
      topicDefaults: c.topicDefaults,
      logger: log.child({ component: 'replicas' }),
      clock: this.#clock,
      registry: this.registry,
      producerIdExpirationMs: c.producerIdExpirationMs,
      alterPartition: (req) => this.#link!.alterPartition(req),
      onOfflineReplicas: (offline) => this.#link?.reportOfflineReplicas(offline),
      replication: {
        replicaLagTimeMaxMs: c.replicaLagTimeMaxMs,
        replicaFetchWaitMaxMs: c.replicaFetchWaitMaxMs,
        replicaFetchMaxBytes: c.replicaFetchMaxBytes,
        replicaFetchBackoffMs: c.replicaFetchBackoffMs,
      },
    });
    replicasRef.current = replicas;
    this.#replicas = replicas;
    let applied: MetadataImage | undefined;
    const imageListeners = new Set<() => void>();
    const link = await this.#openLink();
    this.#link = link;

    await logs.loadAll();
    logs.startBackgroundTasks();
    this.#checks.logsRecovered = true;
    const admin = appliedAdmin({
      admin: link.admin,
      clock: this.#clock,
      defaults: { numPartitions: c.numPartitions, replicationFactor: c.defaultReplicationFactor },
      image: () => applied ?? EMPTY_IMAGE,
      onApplied: (l) => {
        imageListeners.add(l);
        return () => imageListeners.delete(l);
      },
    });

    const base = {
      config: c,
      clock: this.#clock,
      log,
      registry: this.registry,
      metadata: () => applied ?? EMPTY_IMAGE,
      admin,
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
      // Until the first image is applied there is nothing true to tell a client.
      accepting: () => applied !== undefined,
    });
    const bound: AddressInfo = await this.#listener.listen();
    const advertised = { ...c.advertised, port: c.advertised.port === 0 ? bound.port : c.advertised.port };
    this.#checks.listenerOpen = true;

    this.#admin = buildAdminApp({
      registry: this.registry,
      readiness: () => ({ ready: this.ready, checks: { ...this.#checks } }),
    });
    await this.#admin.listen({ host: c.adminListener.host, port: c.adminListener.port });
    const adminAddr = this.#admin.server.address() as AddressInfo;
    const self = { nodeId: c.nodeId, host: advertised.host, port: advertised.port, rack: c.rack };
    await link.start({
      self,
      incarnationId: randomUUID(),
      clusterId,
      onImage: async (image) => {
        await replicas.applyImage(image);
        await forgetTopics(this.registry, deletedTopics(applied, image));
        if (!applied) await writeMetaProperties(this.#fs, c.dataDir, c.nodeId, image.clusterId);
        applied = image;
        this.#groups?.follow();
        for (const l of imageListeners) l();
      },
    });
    // Logs were recovered before registering: the controller may unfence this broker now. Ready
    // means unfenced (listed to clients), as a Kafka broker starts serving once it is RUNNING.
    const unfenced = new Promise<void>((resolve) => {
      const check = (): void => {
        if (!applied?.brokers.some((b) => b.nodeId === c.nodeId)) return;
        imageListeners.delete(check);
        resolve();
      };
      imageListeners.add(check);
      check();
    });
    link.markCaughtUp();
    await unfenced;
    this.#checks.registered = true;
    this.#addresses = {
      bootstrap: `${advertised.host}:${advertised.port}`,
      kafka: { host: bound.address, port: bound.port },
      admin: { host: adminAddr.address, port: adminAddr.port },
    };
    log.info(
      {
        nodeId: c.nodeId,
        clusterId: applied?.clusterId,
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
    // Controlled shutdown: leaderships move to the other in-sync replicas before clients lose us.
    await this.#link?.controlledShutdown(this.config.shutdownTimeoutMs).catch((err: unknown) => {
      this.#log.warn({ err }, 'Controlled shutdown did not complete; stopping anyway');
    });
    this.#shutdown.abort();
    // JoinGroup and SyncGroup answers can wait minutes: they are answered NOT_COORDINATOR now,
    // so that the listener does not wait for them and clients look for the next coordinator.
    this.#groups?.close();
    await this.#listener?.close(this.config.shutdownTimeoutMs);
    await this.#replicas?.close();
    await this.#link?.close();
    await this.#embedded?.close();
    await this.#logs?.close();
    await this.#admin?.close();
    this.#log.info('Broker stopped cleanly');
  }

  /**
   * The controller link: over HTTP to whichever of `controller.address` is the controller, or to a
   * controller run here, with its state in the data directory, when this broker runs alone.
   */
  async #openLink(): Promise<ControllerLink> {
    const c = this.config;
    const log = this.#log.child({ component: 'controller-link' });
    if (c.controllerAddress) {
      const token = readControllerToken(c);
      if (token === null) {
        throw new Error(
          'controller.address is set but no controller token is: set controller.token.file (or the ' +
            'TRIBUTARY_CONTROLLER_TOKEN environment variable) to the token the controller was given',
        );
      }
      return new HttpLink({
        addresses: c.controllerAddress,
        token,
        clock: this.#clock,
        logger: log,
        heartbeatIntervalMs: c.brokerHeartbeatIntervalMs,
      });
    }
    this.#embedded = await Controller.open({
      store: new LocalFileStore({ dir: c.dataDir, fs: this.#fs }),
      clock: this.#clock,
      logger: this.#log.child({ component: 'controller' }),
      settings: {
        sessionTimeoutMs: Math.max(3000, c.brokerHeartbeatIntervalMs * 12),
        numPartitions: c.numPartitions,
        defaultReplicationFactor: c.defaultReplicationFactor,
        deleteTopicEnable: c.deleteTopicEnable,
        autoLeaderRebalanceEnable: c.autoLeaderRebalanceEnable,
        leaderImbalanceCheckIntervalMs: c.leaderImbalanceCheckIntervalSeconds * 1000,
        leaderImbalancePerBrokerPercentage: c.leaderImbalancePerBrokerPercentage,
      },
    });
    return new EmbeddedLink({
      controller: this.#embedded,
      clock: this.#clock,
      logger: log,
      heartbeatIntervalMs: c.brokerHeartbeatIntervalMs,
    });
  }

  /**
   * Partition logs whose metadata is missing mean it was lost or moved: serving (or deleting) them
   * on a guess is worse than refusing to start. A lone broker's metadata is `metadata.json`; a
   * cluster member's is `meta.properties` (its node and cluster ids), and a lone broker's data
   * directory cannot silently join a cluster.
   */
  async #refuseOrphanedLogs(): Promise<void> {
    const dir = this.config.dataDir;
    if (!(await this.#fs.stat(dir))) return;
    const clustered = this.config.controllerAddress !== null;
    const lone = await this.#fs.stat(`${dir}/${METADATA_FILE}`);
    if (clustered && lone) {
      throw new Error(
        `${dir} holds the data of a broker that ran alone (${METADATA_FILE}); it cannot join a cluster ` +
          'controlled elsewhere. Start it without controller.address to keep using it, or point log.dirs at another directory',
      );
    }
    const marker = clustered ? META_PROPERTIES_FILE : METADATA_FILE;
    if (await this.#fs.stat(`${dir}/${marker}`)) return;
    const partitions = (await this.#fs.readdir(dir)).filter((n) => parsePartitionDirName(n) !== null);
    if (partitions.length > 0) {
      throw new Error(
        `${dir} holds ${partitions.length} partition logs but no ${marker}; restore the file, or move the ` +
          'logs away to start an empty broker there',
      );
    }
  }
}

const EMPTY_IMAGE: MetadataImage = {
  version: 0,
  controllerEpoch: 0,
  clusterId: '',
  controllerId: -1,
  brokers: [],
  registrations: [],
  topics: new Map(),
  topicsById: new Map(),
};
