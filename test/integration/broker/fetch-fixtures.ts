/**
 * Data set up for the read-path tests (Fetch, ListOffsets, DeleteRecords) without going through
 * Produce: topics created through the broker's admin service, batches appended straight to the
 * partition logs, the high watermark moved as the produce path moves it.
 */
import { randomBytes } from 'node:crypto';
import {
  type FetchPartition,
  FetchRequest,
  defaultFetchPartition,
  defaultFetchTopic,
} from '../../../src/protocol/messages/fetch-request.ts';
import type { FetchResponse, PartitionData } from '../../../src/protocol/messages/fetch-response.ts';
import type { AppendResult } from '../../../src/storage/partition-log.ts';
import {
  type BatchInput,
  decodeRecords,
  encodeBatch,
  type Record as KafkaRecord,
} from '../../../src/protocol/records/index.ts';
import type { TestBroker } from '../../helpers/broker.ts';

export function randomTopic(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function createTopic(
  tb: TestBroker,
  name: string,
  o: { partitions?: number; configs?: Record<string, string>; internal?: boolean } = {},
): Promise<void> {
  const result = await tb.broker.services.admin.createTopic(
    {
      name,
      numPartitions: o.partitions ?? 3,
      replicationFactor: -1,
      assignments: [],
      configs: o.configs ?? {},
      internal: o.internal,
    },
    false,
  );
  if (!result.ok) throw new Error(`creating ${name} failed: ${result.errorMessage}`);
}

/** Appends one batch of `values` (strings, as UTF-8) and commits it. */
export async function append(
  tb: TestBroker,
  topic: string,
  partition: number,
  values: string[],
  batch: Omit<BatchInput, 'records'> & { timestamps?: number[] } = {},
): Promise<AppendResult> {
  const { replicas } = tb.broker.services;
  const found = replicas.leaderLog(topic, partition);
  if (!found.ok) throw new Error(`${topic}-${partition} is not led here (error ${found.errorCode})`);
  const { timestamps, ...rest } = batch;
  const records = values.map((v, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.from(v),
    timestamp: timestamps?.[i] ?? Date.now(),
  }));
  const result = await found.log.append(encodeBatch({ ...rest, records }), {
    leaderEpoch: found.state.leaderEpoch,
  });
  replicas.advanceHighWatermark(found.log, found.state);
  return result;
}

/** The records of a Fetch answer's batches, as offset and value. */
export function valuesOf(records: Buffer | null): Array<{ offset: number; value: string }> {
  if (records === null) throw new Error('records is null');
  return decodeRecords(records).flatMap((b) =>
    b.records.map((r: KafkaRecord) => ({ offset: r.offset, value: r.value?.toString() ?? '' })),
  );
}

export type PartitionAsk = Partial<FetchPartition> & { partition: number };

/** A Fetch for these partitions: from offset 0, 1 MiB per partition and per response, no waiting. */
export function fetchRequest(
  topics: Array<{ topic: string; partitions: PartitionAsk[] }>,
  o: Partial<FetchRequest> = {},
): FetchRequest {
  return {
    ...FetchRequest.defaults(),
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: topics.map((t) => ({
      ...defaultFetchTopic(),
      topic: t.topic,
      partitions: t.partitions.map((p) => ({ ...defaultFetchPartition(), partitionMaxBytes: 1 << 20, ...p })),
    })),
    ...o,
  };
}

export function partitionOf(res: FetchResponse, topic: string, partition: number): PartitionData {
  const p = res.responses
    .find((t) => t.topic === topic)
    ?.partitions.find((q) => q.partitionIndex === partition);
  if (!p) throw new Error(`no answer for ${topic}-${partition}`);
  return p;
}

/** Polls `probe` until it holds (for states with no event to wait on, such as a gauge). */
export async function until(
  probe: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 4000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
