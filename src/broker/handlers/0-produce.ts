/**
 * Produce (key 0), versions 0–11: record batches appended to partition logs.
 *
 * v1 adds throttleTimeMs; v2 logAppendTimeMs; v3 transactionalId and record batch v2 (magic 2) —
 * from v3 exactly one batch per partition; v5 logStartOffset; v7 allows zstd; v8 recordErrors and
 * errorMessage; v9 is flexible; v10 currentLeader and nodeEndpoints for NOT_LEADER_OR_FOLLOWER
 * (KIP-951); v11 changes nothing on the wire (KIP-1005's clients may expect currentLeader more often).
 *
 * Versions 0–2 are advertised as Kafka 4 advertises them: librdkafka before 2.8 turns compression
 * off unless the Produce range starts at 0 (KAFKA-18659). They carry the pre-0.11 message formats
 * (magic 0 and 1), which we do not store; where Kafka 4 disconnects such a request, we answer every
 * partition with UNSUPPORTED_FOR_MESSAGE_FORMAT ("the message format version on the broker does not
 * support the request"), which says exactly what is wrong and which clients of that age know.
 *
 * Per partition, in Kafka's order: leader lookup (an unknown topic is auto-created when
 * auto.create.topics.enable), the request-level record rules (one magic-2 batch, no zstd before
 * v7), the batch checks (CRC, sizes, max.message.bytes, every record readable), no transactional batch (we have no
 * transaction coordinator, so no transaction can be ongoing: Kafka answers such a write
 * INVALID_TXN_STATE, "not part of an ongoing transaction"), acks=-1 against min.insync.replicas,
 * timestamps (LogAppendTime stamps the batch; CreateTime limits give INVALID_TIMESTAMP), then the
 * idempotent producer's sequence (./produce-append.ts) and the append. The partitions of a request
 * are appended concurrently; one partition's error never fails another. acks=-1 then waits for the
 * high watermark to pass the batch (the followers have fetched it; ../replication/partition.ts).
 *
 * acks=0 is answered with no response once the appends are done. When such a request had an error
 * the connection is closed instead (after the responses before it), as Kafka closes it: the client
 * has no other way to learn, and reconnecting makes it refresh its metadata.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type {
  PartitionProduceData,
  ProduceRequest,
  TopicProduceData,
} from '../../protocol/messages/produce-request.ts';
import {
  defaultPartitionProduceResponse,
  ProduceResponse,
  type BatchIndexAndErrorMessage,
  type NodeEndpoint,
  type PartitionProduceResponse,
} from '../../protocol/messages/produce-response.ts';
import {
  batchCompression,
  isTransactionalBatch,
  NO_TIMESTAMP,
  readBatchHeader,
  setLogAppendTime,
  validateProducedBatch,
  type BatchHeader,
  type RecordBatch,
} from '../../protocol/records/index.ts';
import type { PartitionLog } from '../../storage/partition-log.ts';
import { autoCreateTopic } from '../auto-create.ts';
import { CLOSE_CONNECTION, NO_RESPONSE, type Handler, type RequestContext } from '../handler.ts';
import type { PartitionState } from '../../controller/image.ts';
import { appendBatch, kafkaErrorOf } from '../produce-append.ts';
import { produceMetrics, type ProduceMetrics } from '../produce-metrics.ts';
import type { ProducerStateManager } from '../producer-state-manager.ts';
import type { BrokerServices } from '../services.ts';
import type { TopicPolicy } from '../topic-config.ts';

export interface ProduceHandlerOptions {
  /** Shared with whatever else needs producer state; one is made when absent. */
  producers?: ProducerStateManager;
}

interface Call {
  ctx: RequestContext;
  request: ProduceRequest;
  version: number;
  now: number;
  /** Auto-creations started by this request, so two partitions of one new topic create it once. */
  creating: Map<string, Promise<number | null>>;
}

/** A partition's answer, with what the metrics count (removed before it is sent). */
type PartitionResult = PartitionProduceResponse & { records?: number; bytes?: number; duplicate?: boolean };

export function produceHandler(
  services: BrokerServices,
  options: ProduceHandlerOptions = {},
): Handler<ProduceRequest, ProduceResponse> {
  const metrics = produceMetrics(services.registry);
  // The replica manager's: followers keep it up to date, so a new leader knows every producer.
  const producers = options.producers ?? services.replicas.producers;

  return {
    apiKey: ApiKey.Produce,
    minVersion: 0,
    maxVersion: 11,
    async handle(ctx, request) {
      metrics.inFlight.inc();
      try {
        const call: Call = {
          ctx,
          request,
          version: ctx.apiVersion,
          now: services.clock.now(),
          creating: new Map(),
        };
        // Every partition starts synchronously, in request order: that is what orders appends.
        const topics = request.topicData.map((t) => ({
          name: t.name,
          partitions: t.partitionData.map((p) => producePartition(services, producers, call, t, p)),
        }));
        const responses = await Promise.all(
          topics.map(async (t) => ({ name: t.name, partitionResponses: await Promise.all(t.partitions) })),
        );
        for (const t of responses) {
          for (const p of t.partitionResponses) {
            if (p.records) {
              metrics.records.inc({ topic: t.name }, p.records);
              metrics.bytes.inc({ topic: t.name }, p.bytes ?? 0);
            }
            if (p.duplicate) metrics.duplicates.inc();
            countRefusal(metrics, p.errorCode);
            delete p.records;
            delete p.bytes;
            delete p.duplicate;
          }
        }
        if (request.acks === 0) {
          const failed = responses.flatMap((t) =>
            t.partitionResponses
              .filter((p) => p.errorCode !== ErrorCode.NONE)
              .map((p) => `${t.name}-${p.index}`),
          );
          if (failed.length === 0) return NO_RESPONSE;
          ctx.log.info(
            { partitions: failed },
            'Refused an acks=0 produce to some partitions; closing the connection so the client notices',
          );
          return CLOSE_CONNECTION;
        }
        return {
          ...ProduceResponse.defaults(),
          responses,
          nodeEndpoints: call.version >= 10 ? leaderEndpoints(services, responses) : [],
        };
      } finally {
        metrics.inFlight.dec();
      }
    },
  };
}

function countRefusal(metrics: ProduceMetrics, errorCode: number): void {
  if (errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER) metrics.outOfOrder.inc();
  else if (errorCode === ErrorCode.INVALID_PRODUCER_EPOCH) metrics.fenced.inc();
}

function failed(index: number, errorCode: number, errorMessage: string | null = null): PartitionResult {
  return {
    ...defaultPartitionProduceResponse(),
    index,
    errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    errorMessage,
  };
}

async function producePartition(
  s: BrokerServices,
  producers: ProducerStateManager,
  call: Call,
  topic: TopicProduceData,
  p: PartitionProduceData,
): Promise<PartitionResult> {
  const { version, request } = call;
  if (version < 3) {
    return failed(
      p.index,
      ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      'Message formats before v2 (magic 0 and 1) are not supported',
    );
  }
  if (request.acks !== -1 && request.acks !== 0 && request.acks !== 1) {
    return failed(p.index, ErrorCode.INVALID_REQUIRED_ACKS);
  }
  let lookup = s.replicas.leaderLog(topic.name, p.index);
  if (
    !lookup.ok &&
    lookup.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION &&
    !s.metadata().topics.has(topic.name)
  ) {
    let creating = call.creating.get(topic.name);
    if (!creating) {
      creating = autoCreateTopic(s, topic.name);
      call.creating.set(topic.name, creating);
    }
    const error = await creating;
    if (error !== null) return failed(p.index, error);
    lookup = s.replicas.leaderLog(topic.name, p.index);
  }
  if (!lookup.ok) {
    const res = failed(p.index, lookup.errorCode);
    if (version >= 10 && lookup.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) {
      const state = s.metadata().topics.get(topic.name)?.partitions[p.index];
      if (state && state.leader >= 0)
        res.currentLeader = { leaderId: state.leader, leaderEpoch: state.leaderEpoch };
    }
    return res;
  }
  const { log, state, config } = lookup;

  const checked = checkRecords(log, p, call, state, config.policy);
  if ('errorCode' in checked) return checked;
  const { records, header } = checked;

  const outcome = await appendBatch({
    log,
    records,
    header,
    leaderEpoch: state.leaderEpoch,
    producers,
    now: call.now,
  });
  if (!outcome.ok) return failed(p.index, outcome.errorCode, outcome.errorMessage);
  const logAppendTime = config.policy.timestampType === 'log-append' ? BigInt(outcome.timestamp) : -1n;
  const res: PartitionResult = {
    ...defaultPartitionProduceResponse(),
    index: p.index,
    baseOffset: BigInt(outcome.baseOffset),
    logAppendTimeMs: logAppendTime,
    logStartOffset: BigInt(outcome.logStartOffset),
  };
  if (outcome.duplicate) {
    res.duplicate = true;
  } else {
    res.records = header.recordCount;
    res.bytes = records.length;
    producers.afterAppend(log, records.length);
    s.replicas.advanceHighWatermark(log, state);
  }
  // A duplicate waits too: the original may not be on every in-sync replica yet.
  if (request.acks === -1) {
    const error = await replicated(s, call, topic.name, p.index, outcome.lastOffset + 1, config.policy);
    if (error !== null) return { ...failed(p.index, error), records: res.records, bytes: res.bytes };
  }
  return res;
}

/**
 * acks=-1: waits until the high watermark passes the batch (every in-sync replica has it), as
 * Kafka's DelayedProduce: REQUEST_TIMED_OUT when the request's timeout passes first,
 * NOT_LEADER_OR_FOLLOWER at once when this broker stops leading, and
 * NOT_ENOUGH_REPLICAS_AFTER_APPEND when the batch is committed but the ISR shrank below
 * min.insync.replicas meanwhile (the write stays; the client learns it is less safe than asked).
 */
async function replicated(
  s: BrokerServices,
  call: Call,
  topic: string,
  partition: number,
  offset: number,
  policy: TopicPolicy,
): Promise<number | null> {
  const outcome = await s.replicas.waitForHighWatermark(
    topic,
    partition,
    offset,
    Math.max(0, call.request.timeoutMs),
    call.ctx.signal,
  );
  if (outcome === 'timeout') return ErrorCode.REQUEST_TIMED_OUT;
  if (outcome === 'not-leader') return ErrorCode.NOT_LEADER_OR_FOLLOWER;
  const now = s.replicas.leaderLog(topic, partition);
  if (!now.ok) return now.errorCode;
  return now.state.isr.length < policy.minInsyncReplicas ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND : null;
}

/**
 * The request-level and batch-level checks, and the timestamp policy. Returns the stamped batch, or
 * the partition's error response.
 */
function checkRecords(
  log: PartitionLog,
  p: PartitionProduceData,
  call: Call,
  state: PartitionState,
  policy: TopicPolicy,
): { records: Buffer; header: BatchHeader } | PartitionResult {
  const { version, request } = call;
  const records = p.records;
  if (records === null || records.length === 0) {
    return failed(
      p.index,
      ErrorCode.INVALID_RECORD,
      `Produce requests with version ${version} must have at least one record batch`,
    );
  }
  let headers: BatchHeader[];
  try {
    headers = log.validate(records);
  } catch (err) {
    const e = kafkaErrorOf(err);
    return failed(p.index, e.errorCode, e.errorMessage);
  }
  if (headers.length !== 1) {
    return failed(
      p.index,
      ErrorCode.INVALID_RECORD,
      `Produce requests with version ${version} are only allowed to contain exactly one record batch`,
    );
  }
  const header = headers[0];
  if (version < 7 && batchCompression(header.attributes) === 'zstd') {
    return failed(
      p.index,
      ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
      `Produce requests with version ${version} are not allowed to use ZStandard compression`,
    );
  }
  if (header.producerId >= 0 && header.baseSequence < 0) {
    return failed(
      p.index,
      ErrorCode.INVALID_RECORD,
      `Invalid sequence number ${header.baseSequence} in record batch with producerId ${header.producerId}`,
    );
  }
  if (isTransactionalBatch(header.attributes)) {
    return failed(
      p.index,
      ErrorCode.INVALID_TXN_STATE,
      `Record batch of producer ${header.producerId} is transactional, but there is no ongoing transaction: this broker has no transaction coordinator`,
    );
  }
  // Every record must be readable too, or a reader later finds the log "corrupt" (records/produced.ts).
  let batch: RecordBatch;
  try {
    batch = validateProducedBatch(records, 0);
  } catch (err) {
    const e = kafkaErrorOf(err);
    return failed(p.index, e.errorCode, e.errorMessage);
  }
  if (request.acks === -1 && state.isr.length < policy.minInsyncReplicas) {
    return failed(
      p.index,
      ErrorCode.NOT_ENOUGH_REPLICAS,
      `The size of the current ISR ${state.isr.length} is insufficient to satisfy the min.isr requirement of ${policy.minInsyncReplicas}`,
    );
  }
  if (policy.timestampType === 'log-append') {
    setLogAppendTime(records, 0, call.now);
    Object.assign(header, readBatchHeader(records, 0));
  } else if (Number.isFinite(policy.timestampBeforeMaxMs) || Number.isFinite(policy.timestampAfterMaxMs)) {
    const bad = timestampErrors(batch, call.now, policy);
    if (bad.length > 0) {
      const res = failed(
        p.index,
        ErrorCode.INVALID_TIMESTAMP,
        'One or more records have been rejected due to invalid timestamp',
      );
      res.recordErrors = bad;
      return res;
    }
  }
  return { records, header };
}

/**
 * The records whose create time is outside [now - before.max, now + after.max], as Kafka's
 * LogValidator reports them (record index and reason).
 */
function timestampErrors(batch: RecordBatch, now: number, policy: TopicPolicy): BatchIndexAndErrorMessage[] {
  const low = now - policy.timestampBeforeMaxMs;
  const high = now + policy.timestampAfterMaxMs;
  const errors: BatchIndexAndErrorMessage[] = [];
  batch.records.forEach((r, i) => {
    if (r.timestamp === NO_TIMESTAMP || (r.timestamp >= low && r.timestamp <= high)) return;
    errors.push({
      batchIndex: i,
      batchIndexErrorMessage: `Timestamp ${r.timestamp} of message with offset ${r.offset} is out of range. The timestamp should be within [${low}, ${high}]`,
    });
  });
  return errors;
}

/** v10+: the endpoints of the leaders named in NOT_LEADER_OR_FOLLOWER answers (KIP-951). */
function leaderEndpoints(
  s: BrokerServices,
  responses: Array<{ partitionResponses: PartitionProduceResponse[] }>,
): NodeEndpoint[] {
  const ids = new Set<number>();
  for (const t of responses) {
    for (const p of t.partitionResponses) {
      if (p.currentLeader.leaderId >= 0) ids.add(p.currentLeader.leaderId);
    }
  }
  if (ids.size === 0) return [];
  return s
    .metadata()
    .brokers.filter((b) => ids.has(b.nodeId))
    .map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
}
