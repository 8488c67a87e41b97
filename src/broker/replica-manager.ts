/**
 * The partitions this broker holds, kept in step with the metadata image: it opens a log for every
 * partition the image places here, reconfigures logs whose topic configs changed, and removes the
 * logs of deleted topics. The data-path handlers find a partition's log through it, with the Kafka
 * error to answer when they cannot (unknown partition, not the leader, storage offline).
 *
 * Each partition directory records its topic id (`partition.metadata`, as Kafka writes it), so a log
 * left from a deleted topic is never served under a new topic of the same name.
 */
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { Fs } from '../storage/fs.ts';
import { writeFileAtomic } from '../storage/fs.ts';
import type { LogManager } from '../storage/log-manager.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import type { MetadataImage, PartitionState, TopicState } from '../controller/image.ts';
import { type EffectiveTopicConfig, resolveTopicConfig } from './topic-config.ts';

export const PARTITION_METADATA_FILE = 'partition.metadata';

export type PartitionLookup =
  | { ok: true; log: PartitionLog; topic: TopicState; state: PartitionState; config: EffectiveTopicConfig }
  | { ok: false; errorCode: number };

export type AppendListener = (topic: string, partition: number) => void;

export interface ReplicaManagerOptions {
  nodeId: number;
  logs: LogManager;
  fs: Fs;
  /** Broker-wide topic-config defaults, by broker property name (BrokerConfig.topicDefaults). */
  topicDefaults: Readonly<Record<string, string>>;
  logger: Logger;
}

export class ReplicaManager {
  readonly #o: ReplicaManagerOptions;
  #image: MetadataImage | null = null;
  readonly #configs = new Map<string, EffectiveTopicConfig>();
  readonly #listeners = new Set<AppendListener>();
  /** Topic id recorded in each log's directory, read once per log rather than on every image. */
  readonly #topicIds = new Map<string, string | null>();

  constructor(o: ReplicaManagerOptions) {
    this.#o = o;
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
   * re-created under a new id), opens logs for partitions placed here, applies changed configs.
   */
  async applyImage(image: MetadataImage): Promise<void> {
    if (this.#image && image.version <= this.#image.version) return;
    const previous = this.#image;
    this.#image = image;
    this.#configs.clear();
    const { logs, nodeId, logger } = this.#o;
    for (const log of logs.logs()) {
      const topic = image.topics.get(log.topic);
      const placed = topic?.partitions[log.partition]?.replicas.includes(nodeId) ?? false;
      const id = topic && (await this.#topicIdOf(log));
      if (!topic || !placed || (id !== null && id !== topic.topicId)) {
        logger.info(
          { topic: log.topic, partition: log.partition },
          'Removing log of a deleted or moved partition',
        );
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
        if (p.leader === nodeId) this.advanceHighWatermark(log, p);
      }
    }
    // A leader alone in its ISR has every record replicated the moment it is written.
    for (const log of logs.logs()) {
      const p = image.topics.get(log.topic)?.partitions[log.partition];
      if (p && p.leader === nodeId) this.advanceHighWatermark(log, p);
    }
  }

  /** The log of a partition this broker leads, or the error to answer with. */
  leaderLog(topicName: string, partition: number): PartitionLookup {
    const topic = this.#image?.topics.get(topicName);
    const state = topic?.partitions[partition];
    if (!topic || !state) return { ok: false, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
    if (state.leader !== this.#o.nodeId) return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    const log = this.#o.logs.get(topicName, partition);
    if (!log) return { ok: false, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER };
    if (log.offline) return { ok: false, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
    return { ok: true, log, topic, state, config: this.topicConfig(topicName) };
  }

  /**
   * Moves the high watermark after an append. For now every partition's ISR is its leader alone
   * (one broker), so everything written is committed; replication replaces this with the ISR's
   * minimum log end.
   */
  advanceHighWatermark(log: PartitionLog, state: PartitionState): void {
    if (state.isr.length === 1 && state.isr[0] === this.#o.nodeId) {
      const before = log.highWatermark;
      if (log.updateHighWatermark(log.logEndOffset) > before) this.#notify(log.topic, log.partition);
    }
  }

  /** Called with each partition whose high watermark moved (long-polling fetches wait on it). */
  onAppend(listener: AppendListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(topic: string, partition: number): void {
    for (const l of this.#listeners) l(topic, partition);
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
