/**
 * A follower's fetcher for one leader broker (Kafka's ReplicaFetcherThread): every partition this
 * broker follows from that leader goes into one Fetch at a time, with our node id as replicaId, the
 * leader epoch we follow under, and the epoch of our last batch (KIP-595's divergence check). Each
 * partition first goes through truncation (./truncation.ts, OffsetsForLeaderEpoch) when it joins at
 * a new leader epoch, then fetches: the leader's batches are appended as they are
 * (appendAsFollower keeps its offsets and epochs, so the logs stay byte-identical), the idempotent
 * producers' state follows them, and the high watermark is the leader's, capped at our log end.
 *
 * The replica manager adds and removes partitions as images arrive; an answer is applied only to
 * the very entry that sent it (same object), so a partition that moved to another leader or became
 * leader meanwhile is left alone. Errors of one partition back it off alone for
 * replica.fetch.backoff.ms; a failed request backs off the whole fetcher.
 */
import type { Clock, TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import { type FetchRequest, defaultFetchPartition } from '../../protocol/messages/fetch-request.ts';
import type { FetchResponse, PartitionData } from '../../protocol/messages/fetch-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { OffsetForLeaderEpochRequest } from '../../protocol/messages/offset-for-leader-epoch-request.ts';
import type { OffsetForLeaderEpochResponse } from '../../protocol/messages/offset-for-leader-epoch-response.ts';
import type { ProducerStateManager } from '../producer-state-manager.ts';
import { appendRuns } from './append-runs.ts';
import { KafkaConnection } from '../../protocol/kafka-connection.ts';
import type { ReplicaPartition } from './partition.ts';
import { truncationStep } from './truncation.ts';

export interface FetcherSettings {
  /** replica.fetch.wait.max.ms */
  fetchWaitMaxMs: number;
  /** replica.fetch.max.bytes, per partition */
  fetchMaxBytes: number;
  /** replica.fetch.backoff.ms */
  fetchBackoffMs: number;
}

const FETCH_VERSION = 13;
const OFFSET_FOR_LEADER_EPOCH_VERSION = 4;
/** replica.fetch.response.max.bytes */
const RESPONSE_MAX_BYTES = 10 * 1024 * 1024;
/** How soon to ask again a leader that does not know our (newer) leader epoch yet. */
const NEWER_EPOCH_RETRY_MS = 50;
/** replica.socket.timeout.ms */
const SOCKET_TIMEOUT_MS = 30_000;

export interface ReplicaFetcherOptions {
  nodeId: number;
  leaderId: number;
  host: string;
  port: number;
  clock: Clock;
  logger: Logger;
  settings: FetcherSettings;
  producers: ProducerStateManager;
}

/** One partition as this fetcher follows it. */
interface Followed {
  key: string;
  topic: string;
  topicId: string;
  partition: number;
  replica: ReplicaPartition;
  leaderEpoch: number;
  phase: 'truncating' | 'fetching';
  retryAt: number;
}

export class ReplicaFetcher {
  readonly leaderId: number;
  readonly address: string;
  readonly #o: ReplicaFetcherOptions;
  readonly #log: Logger;
  readonly #conn: KafkaConnection;
  readonly #partitions = new Map<string, Followed>();
  #stopped = false;
  #wake: (() => void) | null = null;
  #running: Promise<void> | null = null;

  constructor(o: ReplicaFetcherOptions) {
    this.#o = o;
    this.leaderId = o.leaderId;
    this.address = `${o.host}:${o.port}`;
    this.#log = o.logger.child({ leader: o.leaderId });
    this.#conn = new KafkaConnection({
      host: o.host,
      port: o.port,
      clientId: `tributary-replica-fetcher-${o.nodeId}`,
      clock: o.clock,
      requestTimeoutMs: Math.max(SOCKET_TIMEOUT_MS, o.settings.fetchWaitMaxMs + 10_000),
    });
  }

  get size(): number {
    return this.#partitions.size;
  }

  has(key: string, leaderEpoch: number): boolean {
    return this.#partitions.get(key)?.leaderEpoch === leaderEpoch;
  }

  /** Follows a partition from this leader at `leaderEpoch`, starting with truncation. */
  follow(p: {
    key: string;
    topic: string;
    topicId: string;
    replica: ReplicaPartition;
    leaderEpoch: number;
  }): void {
    this.#partitions.set(p.key, {
      ...p,
      partition: p.replica.log.partition,
      phase: 'truncating',
      retryAt: 0,
    });
    this.#poke();
    this.#running ??= this.#run();
  }

  unfollow(key: string): void {
    this.#partitions.delete(key);
  }

  /** Stops fetching; resolves once the loop has ended (a request in flight is abandoned). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#partitions.clear();
    this.#conn.close();
    this.#poke();
    await this.#running;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const now = this.#o.clock.now();
      const all = [...this.#partitions.values()];
      const due = all.filter((p) => p.retryAt <= now);
      if (due.length === 0) {
        const next = Math.min(...all.map((p) => p.retryAt));
        await this.#sleep(Number.isFinite(next) ? next - now : null);
        continue;
      }
      const truncating = due.filter((p) => p.phase === 'truncating');
      try {
        if (truncating.length > 0) await this.#truncate(truncating);
        else await this.#fetch(due);
      } catch (err) {
        if (this.#stopped) break;
        this.#log.warn(
          { err, leaderAddress: this.address },
          'Replica fetch from the leader failed; backing off',
        );
        await this.#sleep(this.#o.settings.fetchBackoffMs);
      }
    }
  }

  async #truncate(list: Followed[]): Promise<void> {
    const asking = new Map<string, Followed>();
    for (const p of list) {
      const log = p.replica.log;
      if (log.latestEpoch() >= 0) {
        asking.set(p.key, p);
        continue;
      }
      // No epochs: nothing was ever written under a leader epoch here, so nothing can diverge
      // beyond what is not yet known to be committed.
      if (log.highWatermark < log.logEndOffset) await this.#cut(p, log.highWatermark);
      if (this.#partitions.get(p.key) === p) p.phase = 'fetching';
    }
    if (asking.size === 0) return;
    const byTopic = new Map<string, Followed[]>();
    for (const p of asking.values()) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    const request: OffsetForLeaderEpochRequest = {
      replicaId: this.#o.nodeId,
      topics: [...byTopic].map(([topic, ps]) => ({
        topic,
        partitions: ps.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: p.leaderEpoch,
          leaderEpoch: p.replica.log.latestEpoch(),
        })),
      })),
    };
    const response = await this.#conn.request<OffsetForLeaderEpochResponse>(
      ApiKey.OffsetForLeaderEpoch,
      OFFSET_FOR_LEADER_EPOCH_VERSION,
      request,
    );
    for (const t of response.topics) {
      for (const r of t.partitions) {
        const p = asking.get(partitionKeyOf(t.topic, r.partition));
        if (!p || this.#partitions.get(p.key) !== p) continue;
        if (r.errorCode !== ErrorCode.NONE) {
          this.#backOff(p, r.errorCode, 'OffsetsForLeaderEpoch');
          continue;
        }
        await this.#truncateTowards(p, { epoch: r.leaderEpoch, endOffset: Number(r.endOffset) });
      }
    }
  }

  /** Applies one truncation step for the leader's answer; fetching starts once it is done. */
  async #truncateTowards(p: Followed, leader: { epoch: number; endOffset: number }): Promise<void> {
    const log = p.replica.log;
    const step = truncationStep({
      leader,
      ownEndFor: (epoch) => log.endOffsetForEpoch(epoch),
      logEndOffset: log.logEndOffset,
      highWatermark: log.highWatermark,
    });
    if (step.truncateTo < log.logEndOffset) await this.#cut(p, step.truncateTo);
    if (this.#partitions.get(p.key) !== p) return;
    p.phase = step.done ? 'fetching' : 'truncating';
  }

  async #cut(p: Followed, offset: number): Promise<void> {
    const log = p.replica.log;
    this.#log.info(
      {
        topic: p.topic,
        partition: p.partition,
        from: log.logEndOffset,
        to: offset,
        leaderEpoch: p.leaderEpoch,
      },
      'Truncating a follower log to where it agrees with the leader',
    );
    await log.truncateTo(offset);
    await this.#o.producers.truncated(log);
  }

  async #fetch(list: Followed[]): Promise<void> {
    const sent = new Map<string, { p: Followed; fetchOffset: number }>();
    const byTopic = new Map<string, Followed[]>();
    for (const p of list) byTopic.set(p.topicId, [...(byTopic.get(p.topicId) ?? []), p]);
    const { settings } = this.#o;
    const request: FetchRequest = {
      clusterId: null,
      replicaId: this.#o.nodeId,
      replicaState: { replicaId: -1, replicaEpoch: -1n },
      maxWaitMs: settings.fetchWaitMaxMs,
      minBytes: 1,
      maxBytes: Math.max(RESPONSE_MAX_BYTES, settings.fetchMaxBytes),
      isolationLevel: 0,
      sessionId: 0,
      // No fetch session: every request is a full one (KIP-227's FINAL_EPOCH).
      sessionEpoch: -1,
      topics: [...byTopic].map(([topicId, ps]) => ({
        topic: ps[0].topic,
        topicId,
        partitions: ps.map((p) => {
          const log = p.replica.log;
          sent.set(`${topicId}:${p.partition}`, { p, fetchOffset: log.logEndOffset });
          return {
            ...defaultFetchPartition(),
            partition: p.partition,
            currentLeaderEpoch: p.leaderEpoch,
            fetchOffset: BigInt(log.logEndOffset),
            lastFetchedEpoch: log.latestEpoch(),
            logStartOffset: BigInt(log.logStartOffset),
            partitionMaxBytes: settings.fetchMaxBytes,
          };
        }),
      })),
      forgottenTopicsData: [],
      rackId: '',
    };
    const response = await this.#conn.request<FetchResponse>(ApiKey.Fetch, FETCH_VERSION, request);
    if (response.errorCode !== ErrorCode.NONE) {
      throw new Error(`the leader answered the fetch with error ${response.errorCode}`);
    }
    for (const t of response.responses) {
      for (const data of t.partitions) {
        const s = sent.get(`${t.topicId}:${data.partitionIndex}`);
        if (!s || this.#partitions.get(s.p.key) !== s.p || s.p.phase !== 'fetching') continue;
        await this.#apply(s.p, s.fetchOffset, data);
      }
    }
  }

  async #apply(p: Followed, fetchOffset: number, data: PartitionData): Promise<void> {
    const log = p.replica.log;
    if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      const leaderStart = Number(data.logStartOffset);
      if (leaderStart >= 0 && fetchOffset < leaderStart) {
        // Too far behind: what we lack is gone from the leader; start over at its log start.
        this.#log.info(
          { topic: p.topic, partition: p.partition, fetchOffset, leaderStart },
          'Follower log is behind the leader’s log start; starting it again there',
        );
        await log.truncateFullyAndStartAt(leaderStart);
        await this.#o.producers.truncated(log);
      } else {
        p.phase = 'truncating';
        this.#backOff(p, data.errorCode, 'Fetch');
      }
      return;
    }
    if (data.errorCode !== ErrorCode.NONE) {
      this.#backOff(p, data.errorCode, 'Fetch');
      return;
    }
    if (data.divergingEpoch.epoch >= 0) {
      await this.#truncateTowards(p, {
        epoch: data.divergingEpoch.epoch,
        endOffset: Number(data.divergingEpoch.endOffset),
      });
      return;
    }
    const runs = appendRuns(data.records ?? Buffer.alloc(0), log.config.segmentBytes);
    if (runs.length > 0) {
      await this.#o.producers.load(log);
      if (this.#partitions.get(p.key) !== p || log.logEndOffset !== fetchOffset) return;
      for (const run of runs) {
        await log.appendAsFollower(run);
        this.#o.producers.replicated(log, run);
      }
    }
    if (this.#partitions.get(p.key) !== p) return;
    p.replica.followLeaderHighWatermark(Number(data.highWatermark));
    // Records deleted at the leader (DeleteRecords, retention) go here too, so that this replica,
    // should it lead, never serves what clients were told is gone. Only below our high watermark:
    // above it our log may not be the leader's yet.
    const start = Math.min(Number(data.logStartOffset), log.highWatermark);
    if (start > log.logStartOffset) await log.deleteRecordsBefore(start);
  }

  #backOff(p: Followed, errorCode: number, api: string): void {
    const { fetchBackoffMs } = this.#o.settings;
    // The leader has not applied the image that made it leader yet: that takes milliseconds, and
    // every acks=all produce waits for this follower meanwhile, so retry sooner than for a fault.
    const wait =
      errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH
        ? Math.min(fetchBackoffMs, NEWER_EPOCH_RETRY_MS)
        : fetchBackoffMs;
    p.retryAt = this.#o.clock.now() + wait;
    this.#log.debug(
      { topic: p.topic, partition: p.partition, errorCode, api },
      'The leader refused a partition; backing off',
    );
  }

  /** Waits `ms` (null: until poked), or until a partition is added or the fetcher stops. */
  #sleep(ms: number | null): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: TimerHandle | null = null;
      this.#wake = () => {
        if (timer !== null) this.#o.clock.clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      if (ms !== null) timer = this.#o.clock.setTimeout(() => this.#wake?.(), Math.max(0, ms));
    });
  }

  #poke(): void {
    this.#wake?.();
  }
}

export function partitionKeyOf(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}
