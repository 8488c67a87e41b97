/**
 * The partitions this broker holds, kept in step with the metadata image: it opens a log for every
 * partition the image places here, reconfigures logs whose topic configs changed, and removes the
 * logs of deleted topics. The data-path handlers find a partition's log through it, with the Kafka
 * error to answer when they cannot (unknown partition, not the leader, storage offline).
 *
 * Replication hangs off it: each hosted partition has a ReplicaPartition (./replication/partition.ts)
 * that leads or follows as the image says. Leaders track their followers' fetches, move the high
 * watermark over the ISR and ask the controller for ISR changes; followers are fetched for by one
 * fetcher per leader broker (./replication/fetcher-pool.ts). The high watermark is checkpointed
 * beside each log so that a restart starts from it.
 *
 * Each partition directory records its topic id (`partition.metadata`, as Kafka writes it), so a log
 * left from a deleted topic is never served under a new topic of the same name.
 */
import type { Registry } from 'prom-client';
import { type Clock, systemClock, type TimerHandle } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { OfflineReplica } from '../controller/api.ts';
import type { Fs } from '../storage/fs.ts';
import { writeFileAtomic } from '../storage/fs.ts';
import type { LogManager } from '../storage/log-manager.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import {
  isNewer,
  type BrokerEndpoint,
  type MetadataImage,
  type PartitionState,
  type TopicState,
} from '../controller/image.ts';
import { DEFAULT_PRODUCER_ID_EXPIRATION_MS, ProducerStateManager } from './producer-state-manager.ts';
import { FetcherPool } from './replication/fetcher-pool.ts';
import { restoreHighWatermark, writeHighWatermark } from './replication/hw-checkpoint.ts';
import { replicationMetrics, type ReplicationMetrics } from './replication/metrics.ts';
import {
  type AlterPartition,
  type HighWatermarkWait,
  ReplicaPartition,
  type Transition,
} from './replication/partition.ts';
import { type EffectiveTopicConfig, resolveTopicConfig } from './topic-config.ts';

export const PARTITION_METADATA_FILE = 'partition.metadata';

export type PartitionLookup =
  | { ok: true; log: PartitionLog; topic: TopicState; state: PartitionState; config: EffectiveTopicConfig }
  | { ok: false; errorCode: number };

/**
 * What moved: a leader's log end (followers' long polls wake) or a high watermark (consumers' long
 * polls and acks=all produces wake). Absent means the high watermark.
 */
export type Moved = 'log-end' | 'high-watermark';

export type AppendListener = (topic: string, partition: number, moved?: Moved) => void;

/** BrokerConfig's replica.* settings (a BrokerConfig fits). */
export interface ReplicationSettings {
  replicaLagTimeMaxMs: number;
  replicaFetchWaitMaxMs: number;
  replicaFetchMaxBytes: number;
  replicaFetchBackoffMs: number;
}

const DEFAULT_REPLICATION: ReplicationSettings = {
  replicaLagTimeMaxMs: 30_000,
  replicaFetchWaitMaxMs: 500,
  replicaFetchMaxBytes: 1024 * 1024,
  replicaFetchBackoffMs: 1000,
};

export interface ReplicaManagerOptions {
  nodeId: number;
  logs: LogManager;
  fs: Fs;
  /** Broker-wide topic-config defaults, by broker property name (BrokerConfig.topicDefaults). */
  topicDefaults: Readonly<Record<string, string>>;
  logger: Logger;
  clock?: Clock;
  /**
   * How a leader asks the controller for an ISR change (ControllerLink.alterPartition). Without
   * one every request is refused, which suits a lone broker: its ISR never needs to change.
   */
  alterPartition?: AlterPartition;
  replication?: ReplicationSettings;
  /** producer.id.expiration.ms, for the idempotent producers' state shared with Produce. */
  producerIdExpirationMs?: number;
  /** Kafka's replica.high.watermark.checkpoint.interval.ms. */
  highWatermarkCheckpointIntervalMs?: number;
  registry?: Registry;
  /**
   * Told every partition whose log is offline here, each time that set changes
   * (ControllerLink.reportOfflineReplicas), so that the controller moves their leadership.
   */
  onOfflineReplicas?: (replicas: OfflineReplica[]) => void;
}

const refuseAlterPartition: AlterPartition = () =>
  Promise.resolve({
    ok: false,
    errorCode: ErrorCode.NOT_CONTROLLER,
    errorMessage: 'This broker has no controller to change an ISR',
  });

export class ReplicaManager {
  readonly #o: ReplicaManagerOptions;
  readonly #clock: Clock;
  readonly #settings: ReplicationSettings;
  #image: MetadataImage | null = null;
  readonly #configs = new Map<string, EffectiveTopicConfig>();
  readonly #listeners = new Set<AppendListener>();
  /** Topic id recorded in each log's directory, read once per log rather than on every image. */
  readonly #topicIds = new Map<string, string | null>();
  readonly #partitions = new Map<string, Hosted>();
  readonly #pool: FetcherPool;
  readonly #metrics: ReplicationMetrics | null;
  #isrTimer: TimerHandle | null = null;
  #checkpointTimer: TimerHandle | null = null;
  #closed = false;
  #ineligibleFor: { image: MetadataImage; ids: ReadonlySet<number> } | null = null;
  /** The offline replicas last reported, as JSON. */
  #reportedOffline = '[]';
  /** Idempotent producers' state, shared by Produce (leaders) and the fetchers (followers). */
  readonly producers: ProducerStateManager;

  constructor(o: ReplicaManagerOptions) {
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#settings = o.replication ?? DEFAULT_REPLICATION;
    this.producers = new ProducerStateManager({
      clock: this.#clock,
      logger: o.logger.child({ component: 'producer-state' }),
      expirationMs: o.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    });
    this.#pool = new FetcherPool({
      nodeId: o.nodeId,
      clock: this.#clock,
      logger: o.logger.child({ component: 'replica-fetcher' }),
      settings: {
        fetchWaitMaxMs: this.#settings.replicaFetchWaitMaxMs,
        fetchMaxBytes: this.#settings.replicaFetchMaxBytes,
        fetchBackoffMs: this.#settings.replicaFetchBackoffMs,
      },
      producers: this.producers,
    });
    this.#metrics = o.registry
      ? replicationMetrics(o.registry, () => [...this.#partitions.values()].map((h) => h.replica))
      : null;
  }

  get image(): MetadataImage {
    if (!this.#image) throw new Error('no metadata image applied yet');
    return this.#image;
  }

  /** The settings a topic runs with (its overrides over the broker's defaults). */
  topicConfig(topic: string): EffectiveTopicConfig {
    let c = this.#configs.get(topic);
    if (!c) {
      c = resolveTopicConfig(this.#image?.topics.get(topic)?.configs ?? {}, this.#o.topicDefaults);
      this.#configs.set(topic, c);
    }
    return c;
  }

  /**
   * Brings the local logs in line with `image`: removes logs of topics that are gone (or were
   * re-created under a new id), opens logs for partitions placed here, applies changed configs,
   * and makes each hosted partition lead or follow as the image says.
   */
  async applyImage(image: MetadataImage): Promise<void> {
    if (this.#closed || !isNewer(image, this.#image)) return;
    const previous = this.#image;
    this.#image = image;
    this.#configs.clear();
    const { logs, nodeId, logger } = this.#o;
    const startedMs = this.#clock.now();
    const took = { leader: 0, follower: 0 };
    for (const log of logs.logs()) {
      const topic = image.topics.get(log.topic);
      const placed = topic?.partitions[log.partition]?.replicas.includes(nodeId) ?? false;
      const id = topic && (await this.#topicIdOf(log));
      if (!topic || !placed || (id !== null && id !== topic.topicId)) {
        logger.info(
          { topic: log.topic, partition: log.partition },
          'Removing log of a deleted or moved partition',
        );
        this.#unhost(log.topic, log.partition);
        await logs.delete(log.topic, log.partition);
        this.#topicIds.delete(log.dir);
      }
    }
    for (const topic of image.topics.values()) {
      if (previous && previous.topics.get(topic.name)?.configs !== topic.configs)
        logs.reconfigure(topic.name);
      for (const p of topic.partitions) {
        if (!p.replicas.includes(nodeId) || logs.get(topic.name, p.partition)) continue;
        const log = await logs.getOrCreate(topic.name, p.partition);
        await this.#recordTopicId(log, topic.topicId);
      }
    }
    for (const topic of image.topics.values()) {
      for (const p of topic.partitions) {
        if (!p.replicas.includes(nodeId)) continue;
        const log = logs.get(topic.name, p.partition);
        if (!log || log.offline) continue;
        const t = await this.#applyPartition(image, topic, p, log);
        if (t === 'became-leader') took.leader++;
        else if (t === 'became-follower') took.follower++;
      }
    }
    this.#startTimers();
    this.#reportOffline();
    // A leadership change is what clients wait on after a failover: how long it took to apply is
    // worth a line then (bench/failover-scale.ts reads it), and only then.
    if (previous && took.leader + took.follower > 0) {
      logger.info(
        {
          version: image.version,
          becameLeader: took.leader,
          becameFollower: took.follower,
          applyMs: this.#clock.now() - startedMs,
        },
        `Applied metadata image ${image.version}: leader of ${took.leader} and follower of ${took.follower} more partitions`,
      );
    }
  }

  /**
   * A partition's log went offline (a disk fault): this broker stops acting for it — as leader it
   * stops (waiting acks=all produces are answered), as follower it stops fetching — and tells the
   * controller, which moves the leadership to an in-sync replica and takes this one out of the ISR.
   * The log stays offline until the broker restarts.
   */
  logOffline(topic: string, partition: number): void {
    if (this.#closed) return;
    this.#o.logger.warn(
      { topic, partition },
      `The log of ${topic}-${partition} is offline: stopped replicating it and reporting it to the controller`,
    );
    this.#unhost(topic, partition);
    this.#reportOffline();
  }

  /** The log of a partition this broker leads, or the error to answer with. */
  leaderLog(topicName: string, partition: number): PartitionLookup {
    const topic = this.#image?.topics.get(topicName);
    const imaged = topic?.partitions[partition];
    if (!topic || !imaged) return { ok: false, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    if (imaged.leader !== this.#o.nodeId) return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    const hosted = this.#partitions.get(keyOf(topicName, partition));
    const log = this.#o.logs.get(topicName, partition);
    // Still the leader in the image, its log offline (no replica took over yet, or none can).
    if (log?.offline) return { ok: false, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
    if (!log || !hosted || hosted.replica.log !== log || hosted.replica.role !== 'leader')
      return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    // The replica's state: the ISR may be newer than the image (an AlterPartition answer).
    return { ok: true, log, topic, state: hosted.replica.state, config: this.topicConfig(topicName) };
  }

  /** Every log in this broker's log dir, hosted or not, offline ones included (DescribeLogDirs). */
  localLogs(): readonly PartitionLog[] {
    return this.#o.logs.logs();
  }

  /** The replication state of a partition hosted here. */
  replica(topic: string, partition: number): ReplicaPartition | undefined {
    return this.#partitions.get(keyOf(topic, partition))?.replica;
  }

  /**
   * Called after every leader append (Produce, the group coordinator): followers' long polls wake,
   * and the high watermark moves at once when the ISR is this broker alone.
   */
  advanceHighWatermark(log: PartitionLog, _state?: PartitionState): void {
    this.#notify(log.topic, log.partition, 'log-end');
    const hosted = this.#partitions.get(keyOf(log.topic, log.partition));
    if (hosted?.replica.log === log) hosted.replica.afterLeaderAppend();
  }

  /**
   * A follower's fetch at `fetchOffset` reached the leader (Fetch with replicaId ≥ 0), served when
   * the log ended at `leaderLogEnd`: it may advance the high watermark and change the ISR.
   */
  recordFollowerFetch(
    topic: string,
    partition: number,
    replicaId: number,
    fetchOffset: number,
    leaderLogEnd: number,
  ): void {
    this.#partitions
      .get(keyOf(topic, partition))
      ?.replica.recordFollowerFetch(replicaId, fetchOffset, leaderLogEnd);
  }

  /**
   * acks=all: resolves 'ok' once the partition's high watermark reaches `offset`, 'timeout' after
   * `timeoutMs` (or when `signal` aborts), 'not-leader' when this broker does not lead it or stops
   * leading it meanwhile.
   */
  waitForHighWatermark(
    topic: string,
    partition: number,
    offset: number,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<HighWatermarkWait> {
    const hosted = this.#partitions.get(keyOf(topic, partition));
    if (!hosted) return Promise.resolve('not-leader');
    return hosted.replica.waitForHighWatermark(offset, timeoutMs, signal);
  }

  /** Called with each partition whose high watermark (or, as leader, log end) moved. */
  onAppend(listener: AppendListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Stops fetching and the periodic work, answers waiting produces, and checkpoints every high
   * watermark. Call before the logs close; images applied afterwards are ignored.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#isrTimer !== null) this.#clock.clearTimeout(this.#isrTimer);
    if (this.#checkpointTimer !== null) this.#clock.clearTimeout(this.#checkpointTimer);
    await this.#pool.close();
    for (const h of this.#partitions.values()) h.replica.close();
    await this.#checkpointHighWatermarks();
  }

  async #applyPartition(
    image: MetadataImage,
    topic: TopicState,
    p: PartitionState,
    log: PartitionLog,
  ): Promise<Transition> {
    const key = keyOf(topic.name, p.partition);
    let hosted = this.#partitions.get(key);
    if (hosted && (hosted.replica.log !== log || hosted.replica.topicId !== topic.topicId)) {
      this.#unhost(topic.name, p.partition);
      hosted = undefined;
    }
    if (!hosted) hosted = await this.#host(topic, log, p);
    const replica = hosted.replica;
    const transition = replica.applyState(p);
    if (replica.role !== 'follower') {
      this.#pool.unfollow(key);
      return transition;
    }
    const leader = endpointOf(image, replica.state.leader);
    if (!leader) {
      this.#pool.unfollow(key);
      return transition;
    }
    this.#pool.follow({
      key,
      topic: topic.name,
      topicId: topic.topicId,
      replica,
      leaderEpoch: replica.state.leaderEpoch,
      leader,
    });
    return transition;
  }

  /** Starts hosting a partition, in `state` from the outset (nobody sees it without one). */
  async #host(topic: TopicState, log: PartitionLog, state: PartitionState): Promise<Hosted> {
    await restoreHighWatermark(log);
    const key = keyOf(topic.name, log.partition);
    const replica = new ReplicaPartition({
      nodeId: this.#o.nodeId,
      topicId: topic.topicId,
      log,
      clock: this.#clock,
      logger: this.#o.logger.child({ topic: topic.name, partition: log.partition }),
      lagTimeMaxMs: this.#settings.replicaLagTimeMaxMs,
      alterPartition: this.#o.alterPartition ?? refuseAlterPartition,
      ineligible: () => this.#ineligible(),
      onHighWatermark: () => this.#notify(log.topic, log.partition, 'high-watermark'),
      onIsrChanged: (kind) => this.#metrics?.isrChanges.inc({ kind }),
    });
    const hosted: Hosted = {
      replica,
      checkpointed: log.highWatermark,
      removeCloseHook: log.onClose(() => writeHighWatermark(log, log.highWatermark)),
    };
    replica.applyState(state);
    this.#partitions.set(key, hosted);
    return hosted;
  }

  #unhost(topic: string, partition: number): void {
    const key = keyOf(topic, partition);
    const hosted = this.#partitions.get(key);
    this.#pool.unfollow(key);
    if (!hosted) return;
    this.#partitions.delete(key);
    hosted.removeCloseHook();
    hosted.replica.close();
  }

  /**
   * Replicas the controller would not take into an ISR: fenced, shutting down, or unregistered.
   * Computed once per image: ISR checks run on every follower fetch.
   */
  #ineligible(): ReadonlySet<number> {
    const image = this.#image;
    if (!image) return new Set();
    if (this.#ineligibleFor?.image === image) return this.#ineligibleFor.ids;
    const ok = new Set(image.registrations.filter((r) => !r.fenced && !r.shuttingDown).map((r) => r.nodeId));
    const ids = new Set<number>();
    for (const r of image.registrations) if (!ok.has(r.nodeId)) ids.add(r.nodeId);
    for (const topic of image.topics.values()) {
      for (const p of topic.partitions) for (const id of p.replicas) if (!ok.has(id)) ids.add(id);
    }
    this.#ineligibleFor = { image, ids };
    return ids;
  }

  /** ISR checks and checkpoints, from the first partition with followers (a lone replica needs neither). */
  #startTimers(): void {
    if (this.#closed) return;
    if (![...this.#partitions.values()].some((h) => h.replica.state.replicas.length > 1)) return;
    if (this.#isrTimer === null) {
      const every = Math.max(1, Math.floor(this.#settings.replicaLagTimeMaxMs / 2));
      const tick = (): void => {
        for (const h of this.#partitions.values()) h.replica.maybeChangeIsr();
        this.#isrTimer = this.#closed ? null : this.#clock.setTimeout(tick, every);
      };
      this.#isrTimer = this.#clock.setTimeout(tick, every);
    }
    if (this.#checkpointTimer === null) {
      const every = this.#o.highWatermarkCheckpointIntervalMs ?? 5000;
      const tick = (): void => {
        void this.#checkpointHighWatermarks().finally(() => {
          this.#checkpointTimer = this.#closed ? null : this.#clock.setTimeout(tick, every);
        });
      };
      this.#checkpointTimer = this.#clock.setTimeout(tick, every);
    }
  }

  async #checkpointHighWatermarks(): Promise<void> {
    for (const h of [...this.#partitions.values()]) {
      const log = h.replica.log;
      const hw = log.highWatermark;
      if (hw === h.checkpointed || log.offline) continue;
      try {
        await writeHighWatermark(log, hw);
        h.checkpointed = hw;
      } catch (err) {
        this.#o.logger.warn(
          { err, topic: log.topic, partition: log.partition },
          'Failed to checkpoint a high watermark',
        );
      }
    }
  }

  /** Reports the offline replicas when they changed (once an image gives their topic ids). */
  #reportOffline(): void {
    const image = this.#image;
    if (!image || !this.#o.onOfflineReplicas) return;
    const offline: OfflineReplica[] = [];
    for (const log of this.#o.logs.logs()) {
      const topicId = image.topics.get(log.topic)?.topicId;
      if (log.offline && topicId !== undefined) offline.push({ topicId, partition: log.partition });
    }
    offline.sort((a, b) => a.topicId.localeCompare(b.topicId) || a.partition - b.partition);
    const json = JSON.stringify(offline);
    if (json === this.#reportedOffline) return;
    this.#reportedOffline = json;
    this.#o.onOfflineReplicas(offline);
  }

  #notify(topic: string, partition: number, moved: Moved): void {
    for (const l of this.#listeners) l(topic, partition, moved);
  }

  async #topicIdOf(log: PartitionLog): Promise<string | null> {
    if (this.#topicIds.has(log.dir)) return this.#topicIds.get(log.dir)!;
    const path = `${log.dir}/${PARTITION_METADATA_FILE}`;
    let id: string | null = null;
    if (await this.#o.fs.stat(path)) {
      const m = /topic_id:\s*(\S+)/.exec((await this.#o.fs.readFile(path)).toString('utf8'));
      id = m ? m[1] : null;
    }
    this.#topicIds.set(log.dir, id);
    return id;
  }

  async #recordTopicId(log: PartitionLog, topicId: string): Promise<void> {
    await writeFileAtomic(
      this.#o.fs,
      `${log.dir}/${PARTITION_METADATA_FILE}`,
      `version: 0\ntopic_id: ${topicId}\n`,
    );
    this.#topicIds.set(log.dir, topicId);
  }
}

interface Hosted {
  replica: ReplicaPartition;
  /** The high watermark last written to its checkpoint file. */
  checkpointed: number;
  removeCloseHook: () => void;
}

function keyOf(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** A registered, unfenced broker's address. */
function endpointOf(image: MetadataImage, nodeId: number): BrokerEndpoint | null {
  const r = image.registrations.find((b) => b.nodeId === nodeId && !b.fenced);
  if (r) return { nodeId: r.nodeId, host: r.host, port: r.port, rack: r.rack };
  return image.brokers.find((b) => b.nodeId === nodeId) ?? null;
}
