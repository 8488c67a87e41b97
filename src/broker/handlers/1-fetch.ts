/**
 * Fetch (key 1), versions 4–13: consumers and follower replicas read record batches.
 *
 * v4 adds the isolation level and the last stable offset and aborted transactions per partition;
 * v5 the log start offset; v7 fetch sessions (KIP-227); v9 the client's current leader epoch
 * (KIP-320); v11 the rack id and preferredReadReplica (KIP-392); v12 is flexible and adds
 * lastFetchedEpoch with the diverging-epoch answer (KIP-595); v13 names topics by id (KIP-516), an
 * unknown id answered UNKNOWN_TOPIC_ID per partition.
 *
 * A request with replicaId ≥ 0 is a follower replicating (../replication/fetcher.ts): it reads to the
 * log end rather than the high watermark, its fetch offset tells the leader what it has (which
 * moves the high watermark), and its long poll wakes on any append.
 *
 * Long polling: when a pass finds fewer than minBytes and nothing went wrong, the fetch waits
 * (../fetch-waiters.ts) for committed data on its partitions, for maxWaitMs, or for the connection
 * to close, then reads again. Fetch sessions: every answer says sessionId 0, "no session", which
 * KIP-227 allows a broker to say; the Java client and librdkafka then send full fetch requests,
 * and kafkajs never asks for a session. An incremental request (epoch > 0) names a session we
 * cannot have, so it gets FETCH_SESSION_ID_NOT_FOUND and the client starts over with a full one.
 */
import { Counter } from 'prom-client';
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { FetchRequest } from '../../protocol/messages/fetch-request.ts';
import {
  type FetchableTopicResponse,
  FetchResponse,
  defaultPartitionData,
} from '../../protocol/messages/fetch-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import {
  type FetchPlan,
  type FetchRead,
  type PartitionRead,
  offsetAfter,
  readFetch,
} from '../fetch-reader.ts';
import {
  type ByteCount,
  FetchWaiters,
  type FetchWait,
  partitionKey,
  waitForBytes,
} from '../fetch-waiters.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

/** KIP-227's session epochs that mean a full request: open a session (0) or use none (-1). */
const INITIAL_EPOCH = 0;
const FINAL_EPOCH = -1;
const READ_COMMITTED = 1;

export function fetchHandler(services: BrokerServices): Handler<FetchRequest, FetchResponse> {
  const waiters = new FetchWaiters({
    clock: services.clock,
    source: services.replicas,
    registry: services.registry,
  });
  // Parked fetches answer with what they have, so they do not hold the broker's shutdown.
  services.shutdown.addEventListener('abort', () => waiters.close(), { once: true });
  const bytesServed = new Counter({
    name: 'tributary_broker_fetch_bytes_total',
    help: 'Record bytes returned by Fetch, by topic.',
    labelNames: ['topic'],
    registers: [services.registry],
  });
  return {
    apiKey: ApiKey.Fetch,
    minVersion: 4,
    maxVersion: 13,
    async handle(ctx, request) {
      const response = FetchResponse.defaults();
      if (
        ctx.apiVersion >= 7 &&
        request.sessionEpoch !== INITIAL_EPOCH &&
        request.sessionEpoch !== FINAL_EPOCH
      ) {
        response.errorCode = ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
        return response;
      }
      const byId = ctx.apiVersion >= 13 ? resolveTopicIds(services, request.topics) : null;
      const plan: FetchPlan = {
        replicaId: request.replicaId,
        readCommitted: request.isolationLevel === READ_COMMITTED,
        maxBytes: request.maxBytes,
        topics: byId?.known ?? request.topics,
      };
      let read = await readFetch(services, plan, ctx.log);
      const answerNow =
        request.maxWaitMs <= 0 ||
        read.partitions.length === 0 ||
        read.bytes >= request.minBytes ||
        read.mustAnswer;
      if (!answerNow) {
        const wait = waiters.wait(
          read.partitions.map((p) => p.tp),
          { maxWaitMs: request.maxWaitMs, signal: ctx.signal, readsToLogEnd: request.replicaId >= 0 },
        );
        try {
          const outcome = await waitForBytes(wait, byteCount(wait, read, request.minBytes, ctx.log));
          if (outcome === 'aborted') return response;
        } finally {
          wait.close();
        }
        read = await readFetch(services, plan, ctx.log);
      }
      for (const t of read.topics) {
        let n = 0;
        for (const p of t.partitions) n += p.records?.length ?? 0;
        if (n > 0) bytesServed.inc({ topic: t.topic }, n);
      }
      response.responses = byId
        ? [...read.topics.map((t) => ({ ...t, topic: '' })), ...byId.unknown]
        : read.topics;
      return response;
    },
  };
}

/** v13+: topics come by id; names are looked up, and unknown ids answered UNKNOWN_TOPIC_ID. */
function resolveTopicIds(
  services: BrokerServices,
  topics: FetchRequest['topics'],
): { known: FetchRequest['topics']; unknown: FetchableTopicResponse[] } {
  const image = services.metadata();
  const known: FetchRequest['topics'] = [];
  const unknown: FetchableTopicResponse[] = [];
  for (const t of topics) {
    const topic = image.topicsById.get(t.topicId);
    if (topic) {
      known.push({ ...t, topic: topic.name });
      continue;
    }
    unknown.push({
      topic: '',
      topicId: t.topicId,
      partitions: t.partitions.map((p) => ({
        ...defaultPartitionData(),
        partitionIndex: p.partition,
        errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
        records: Buffer.alloc(0),
      })),
    });
  }
  return { known, unknown };
}

/**
 * How the long poll counts arriving data: each partition from where the first pass stopped, up to
 * its partitionMaxBytes (as Kafka's DelayedFetch counts), re-reading only partitions that moved.
 */
function byteCount(wait: FetchWait, first: FetchRead, minBytes: number, log: Logger): ByteCount {
  const byKey = new Map<string, { read: PartitionRead; counted: number }>();
  for (const read of first.partitions) {
    byKey.set(partitionKey(read.tp.topic, read.tp.partition), {
      read,
      counted: read.data.records?.length ?? 0,
    });
    // Data committed between the pass and the wait's start would otherwise wake nobody.
    if (read.log && read.log.highWatermark !== read.highWatermark) wait.moved(read.tp);
    else if (read.log && read.isolation === 'log-end' && read.log.logEndOffset > read.nextOffset)
      wait.moved(read.tp);
  }
  return {
    bytes: first.bytes,
    minBytes,
    async grow(tp) {
      const entry = byKey.get(partitionKey(tp.topic, tp.partition));
      if (!entry) return 0;
      const grown = await newBytes(entry.read, entry.read.partitionMaxBytes - entry.counted, log);
      if (grown !== null) entry.counted += grown;
      return grown;
    },
  };
}

/**
 * Reads the committed batches past what `read` has already counted, at most `room` bytes of them
 * (but a whole batch), and moves its position past them. null: the partition can no longer be read
 * from there (deleted records, an offline log), which the final pass will report.
 */
async function newBytes(read: PartitionRead, room: number, log: Logger): Promise<number | null> {
  if (!read.log || room <= 0) return 0;
  try {
    const { records } = await read.log.read(read.nextOffset, { maxBytes: room, isolation: read.isolation });
    read.nextOffset = offsetAfter(records, read.nextOffset);
    return Math.min(records.length, room);
  } catch (err) {
    log.debug({ err, ...read.tp }, 'Stopped waiting on a partition that failed to read');
    return null;
  }
}
