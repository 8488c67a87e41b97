/**
 * One pass of a Fetch over its partitions, in request order, under Kafka's size rules (KIP-74):
 * each partition reads at most its partitionMaxBytes and what is left of the response's maxBytes;
 * until some partition has returned data, the first batch found is returned whole even when it is
 * larger than both (so a consumer can always make progress), and once the response's budget is
 * spent the remaining partitions return nothing. Records are the stored bytes as the log returned
 * them; the response encoder copies them once into the frame.
 */
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { FetchPartition, FetchTopic } from '../protocol/messages/fetch-request.ts';
import {
  type FetchableTopicResponse,
  type PartitionData,
  defaultPartitionData,
} from '../protocol/messages/fetch-response.ts';
import { batchSizeAt, readBatchHeader } from '../protocol/records/batch.ts';
import { offsetOutOfRange } from '../storage/errors.ts';
import type { EpochEntry } from '../storage/leader-epoch-cache.ts';
import type { Isolation } from '../storage/log-reader.ts';
import type { PartitionLog } from '../storage/partition-log.ts';
import { leaderLogAtEpoch, logErrorCode } from './fetch-leader.ts';
import type { TopicPartition } from './fetch-waiters.ts';
import type { BrokerServices } from './services.ts';

/** Never null: kafkajs takes a null records field for a message set it cannot parse. */
const NO_RECORDS: Buffer = Buffer.alloc(0);

/** What a Fetch asks for, independent of its version. */
export interface FetchPlan {
  /** -1 for consumers; a broker id for a follower replicating the partition. */
  replicaId: number;
  /** read_committed (isolation level 1): aborted-transaction lists are sent (empty, for now). */
  readCommitted: boolean;
  maxBytes: number;
  topics: readonly FetchTopic[];
}

/** A partition's part of one pass, with what the long poll needs to count data arriving later. */
export interface PartitionRead {
  tp: TopicPartition;
  data: PartitionData;
  /** The log read, when the partition answered without an error. */
  log: PartitionLog | null;
  isolation: Isolation;
  /** The log's high watermark when it was read. */
  highWatermark: number;
  /** The offset after the last batch returned (the fetch offset when none was). */
  nextOffset: number;
  partitionMaxBytes: number;
}

export interface FetchRead {
  topics: FetchableTopicResponse[];
  partitions: PartitionRead[];
  /** Record bytes in the response. */
  bytes: number;
  /** Some partition has an error or a diverging epoch: Kafka answers such a fetch at once. */
  mustAnswer: boolean;
}

export async function readFetch(
  s: Pick<BrokerServices, 'replicas' | 'metadata' | 'config'>,
  plan: FetchPlan,
  log: Logger,
): Promise<FetchRead> {
  const out: FetchRead = { topics: [], partitions: [], bytes: 0, mustAnswer: false };
  let limit = plan.maxBytes;
  let minOneBatch = true;
  for (const t of plan.topics) {
    const topic: FetchableTopicResponse = { topic: t.topic, topicId: t.topicId, partitions: [] };
    out.topics.push(topic);
    for (const p of t.partitions) {
      const read = await readPartition(s, plan, t.topic, p, { limit, minOneBatch }, log);
      const n = read.data.records?.length ?? 0;
      if (n > 0) minOneBatch = false;
      limit = Math.max(0, limit - n);
      out.bytes += n;
      if (read.data.errorCode !== ErrorCode.NONE || read.data.divergingEpoch.epoch >= 0)
        out.mustAnswer = true;
      topic.partitions.push(read.data);
      out.partitions.push(read);
    }
  }
  return out;
}

async function readPartition(
  s: Pick<BrokerServices, 'replicas' | 'metadata' | 'config'>,
  plan: FetchPlan,
  topic: string,
  p: FetchPartition,
  budget: { limit: number; minOneBatch: boolean },
  logger: Logger,
): Promise<PartitionRead> {
  const isolation: Isolation = plan.replicaId >= 0 ? 'log-end' : 'high-watermark';
  const read: PartitionRead = {
    tp: { topic, partition: p.partition },
    data: failed(p.partition, ErrorCode.NONE),
    log: null,
    isolation,
    highWatermark: -1,
    nextOffset: Number(p.fetchOffset),
    partitionMaxBytes: p.partitionMaxBytes,
  };
  const found = leaderLogAtEpoch(s, topic, p.partition, p.currentLeaderEpoch);
  if (!found.ok) {
    read.data.errorCode = found.errorCode;
    return read;
  }
  const notReplica = followerError(
    plan.replicaId,
    p.currentLeaderEpoch,
    found.state.replicas,
    s.config.nodeId,
  );
  if (notReplica !== null) {
    read.data.errorCode = notReplica;
    return read;
  }
  const log = found.log;
  const offset = read.nextOffset;
  try {
    if (!Number.isSafeInteger(offset)) throw offsetOutOfRange(offset, log.logStartOffset, log.logEndOffset);
    const diverging = divergence(log, found.state.leaderEpoch, p, offset);
    if (diverging) {
      read.data = { ...answered(p.partition, log, plan), divergingEpoch: diverging };
      return read;
    }
    if (plan.replicaId >= 0 && offset >= log.logStartOffset && offset <= log.logEndOffset) {
      // Before the read, so that the answer carries the high watermark this fetch moved.
      s.replicas.recordFollowerFetch(topic, p.partition, plan.replicaId, offset, log.logEndOffset);
    }
    const maxBytes = Math.min(p.partitionMaxBytes, budget.limit);
    let records: Buffer = NO_RECORDS;
    let at = { highWatermark: log.highWatermark, logStartOffset: log.logStartOffset };
    if (budget.minOneBatch || maxBytes > 0) {
      const result = await log.read(offset, { maxBytes: Math.max(0, maxBytes), isolation });
      at = result;
      // Past the first data of the response no batch may overshoot the budget (KIP-74); the log
      // returns its first batch whole, so an overshoot is that one batch, left for a later fetch.
      if (budget.minOneBatch || result.records.length <= maxBytes) records = result.records;
    } else if (offset < log.logStartOffset || offset > log.logEndOffset) {
      throw offsetOutOfRange(offset, log.logStartOffset, log.logEndOffset);
    }
    read.data = { ...answered(p.partition, at, plan), records };
    read.log = log;
    read.highWatermark = at.highWatermark;
    read.nextOffset = offsetAfter(records, offset);
  } catch (err) {
    const code = logErrorCode(err);
    if (code === null)
      logger.error({ err, topic, partition: p.partition }, 'Failed to read a partition for a fetch');
    read.data = failed(p.partition, code ?? ErrorCode.UNKNOWN_SERVER_ERROR);
    if (code === ErrorCode.OFFSET_OUT_OF_RANGE) {
      // Kafka leaves these at -1; filling them in saves a consumer nothing but costs nothing either,
      // and makes the answer self-explanatory in a capture.
      read.data.highWatermark = BigInt(log.highWatermark);
      read.data.logStartOffset = BigInt(log.logStartOffset);
    }
  }
  return read;
}

/** The answer for a partition that could not be read: offsets unknown, no records. */
function failed(partitionIndex: number, errorCode: number): PartitionData {
  return {
    ...defaultPartitionData(),
    partitionIndex,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    abortedTransactions: null,
    records: NO_RECORDS,
  };
}

/**
 * A readable partition's answer before its records. With no transactions yet the last stable
 * offset is the high watermark. Kafka sends the aborted-transaction list only to read_committed
 * fetches (null otherwise, which every client reads as empty).
 */
function answered(
  partitionIndex: number,
  at: { highWatermark: number; logStartOffset: number },
  plan: FetchPlan,
): PartitionData {
  return {
    ...defaultPartitionData(),
    partitionIndex,
    highWatermark: BigInt(at.highWatermark),
    lastStableOffset: BigInt(at.highWatermark),
    logStartOffset: BigInt(at.logStartOffset),
    abortedTransactions: plan.readCommitted ? [] : null,
    records: NO_RECORDS,
  };
}

/**
 * A follower may fetch only a partition it replicates. Kafka answers a stranger
 * UNKNOWN_LEADER_EPOCH when it sent an epoch (it may know of a reassignment this broker has not
 * seen yet) and NOT_LEADER_OR_FOLLOWER otherwise.
 */
function followerError(replicaId: number, epoch: number, replicas: number[], self: number): number | null {
  if (replicaId < 0 || (replicaId !== self && replicas.includes(replicaId))) return null;
  return epoch >= 0 ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.NOT_LEADER_OR_FOLLOWER;
}

/**
 * KIP-595's check of a fetcher's log against ours (Fetch v12+ carries the epoch of the last batch
 * the fetcher holds): when our log ends that epoch before the fetch offset, or never had it, the
 * answer is where the two logs part, and no records. An epoch we cannot place, or an offset below
 * our log start, is OFFSET_OUT_OF_RANGE.
 */
function divergence(
  log: PartitionLog,
  leaderEpoch: number,
  p: FetchPartition,
  offset: number,
): PartitionData['divergingEpoch'] | null {
  if (p.lastFetchedEpoch < 0) return null;
  const end = epochEnd(log.leaderEpochs, leaderEpoch, log.logEndOffset, p.lastFetchedEpoch);
  if (end.epoch < 0 || end.endOffset < 0 || offset < log.logStartOffset) {
    throw offsetOutOfRange(offset, log.logStartOffset, log.logEndOffset);
  }
  if (end.epoch < p.lastFetchedEpoch || end.endOffset < offset) {
    return { epoch: end.epoch, endOffset: BigInt(end.endOffset) };
  }
  return null;
}

/**
 * Where epoch `requested` ends in a leader's log, as Kafka's leader-epoch cache answers it: the
 * latest epoch ends at the log end; an older one at the start of the next epoch, reported as the
 * last epoch at or below it; one older than every entry at the first entry's start. A Kafka leader
 * records its own epoch when elected, before writing anything in it, so the current epoch is always
 * known; our log records epochs only with batches, so the current one is added here when missing.
 * (Some clients send the leader epoch they know as their last fetched epoch, @platformatic/kafka
 * among them, and must not be told that an empty partition diverges.)
 */
export function epochEnd(
  entries: readonly EpochEntry[],
  leaderEpoch: number,
  logEndOffset: number,
  requested: number,
): { epoch: number; endOffset: number } {
  const unknown = { epoch: -1, endOffset: -1 };
  const last = entries.at(-1);
  const all =
    !last || last.epoch < leaderEpoch
      ? [...entries, { epoch: leaderEpoch, startOffset: logEndOffset }]
      : entries;
  if (requested < 0) return unknown;
  if (requested === all.at(-1)!.epoch) return { epoch: requested, endOffset: logEndOffset };
  const higher = all.findIndex((e) => e.epoch > requested);
  if (higher < 0) return unknown;
  const floor = higher > 0 ? all[higher - 1] : null;
  return { epoch: floor ? floor.epoch : requested, endOffset: all[higher].startOffset };
}

/** The offset after the last batch in `records` (whole batches, as the log returns them). */
export function offsetAfter(records: Buffer, fallback: number): number {
  let last = -1;
  for (let at = 0; at < records.length;) {
    const size = batchSizeAt(records, at);
    if (size < 0) break;
    last = at;
    at += size;
  }
  if (last < 0) return fallback;
  const h = readBatchHeader(records, last);
  return h.baseOffset + h.lastOffsetDelta + 1;
}
