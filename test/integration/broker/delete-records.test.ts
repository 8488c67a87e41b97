import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { DeleteRecordsRequest } from '../../../src/protocol/messages/delete-records-request.ts';
import type {
  DeleteRecordsPartitionResult,
  DeleteRecordsResponse,
} from '../../../src/protocol/messages/delete-records-response.ts';
import type { FetchResponse } from '../../../src/protocol/messages/fetch-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { append, createTopic, fetchRequest, partitionOf, randomTopic, valuesOf } from './fetch-fixtures.ts';

let tb: TestBroker;
let client: RawClient;
beforeAll(async () => {
  tb = await startTestBroker();
  client = await RawClient.connect(tb.port);
});
afterAll(async () => {
  client.close();
  await tb.remove();
});

async function deleteRecords(
  version: number,
  topic: string,
  asks: Array<{ partition: number; offset: bigint }>,
): Promise<DeleteRecordsPartitionResult[]> {
  const res = await client.call<DeleteRecordsResponse>(ApiKey.DeleteRecords, version, {
    ...DeleteRecordsRequest.defaults(),
    timeoutMs: 5000,
    topics: [
      { name: topic, partitions: asks.map((a) => ({ partitionIndex: a.partition, offset: a.offset })) },
    ],
  });
  return res.topics[0].partitions;
}

/** Five records, one batch each, on partition 0. */
async function fiveRecords(configs: Record<string, string> = {}): Promise<string> {
  const topic = randomTopic('delrec');
  await createTopic(tb, topic, { partitions: 2, configs });
  for (const v of ['a', 'b', 'c', 'd', 'e']) await append(tb, topic, 0, [v]);
  return topic;
}

describe('DeleteRecords', () => {
  it.each([0, 1, 2])(
    'moves the log start offset so earlier records are no longer served (v%i)',
    async (version) => {
      const topic = await fiveRecords();
      const [result] = await deleteRecords(version, topic, [{ partition: 0, offset: 3n }]);
      expect(result).toEqual({ partitionIndex: 0, errorCode: ErrorCode.NONE, lowWatermark: 3n });
      const before = await client.call<FetchResponse>(
        ApiKey.Fetch,
        12,
        fetchRequest([{ topic, partitions: [{ partition: 0 }] }]),
      );
      expect(partitionOf(before, topic, 0)).toMatchObject({
        errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
        logStartOffset: 3n,
      });
      const after = await client.call<FetchResponse>(
        ApiKey.Fetch,
        12,
        fetchRequest([{ topic, partitions: [{ partition: 0, fetchOffset: 3n }] }]),
      );
      expect(valuesOf(partitionOf(after, topic, 0).records).map((r) => r.value)).toEqual(['d', 'e']);
    },
  );

  it('takes offset -1 as the high watermark, and never moves the start backwards', async () => {
    const topic = await fiveRecords();
    expect(await deleteRecords(2, topic, [{ partition: 0, offset: -1n }])).toEqual([
      { partitionIndex: 0, errorCode: ErrorCode.NONE, lowWatermark: 5n },
    ]);
    expect(await deleteRecords(2, topic, [{ partition: 0, offset: 2n }])).toEqual([
      { partitionIndex: 0, errorCode: ErrorCode.NONE, lowWatermark: 5n },
    ]);
  });

  it('answers each partition on its own: past the high watermark, negative, unknown partition', async () => {
    const topic = await fiveRecords();
    const results = await deleteRecords(2, topic, [
      { partition: 0, offset: 6n },
      { partition: 1, offset: -7n },
      { partition: 4, offset: 0n },
    ]);
    expect(results).toEqual([
      { partitionIndex: 0, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1n },
      { partitionIndex: 1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1n },
      { partitionIndex: 4, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, lowWatermark: -1n },
    ]);
    const [missing] = await deleteRecords(2, randomTopic('missing'), [{ partition: 0, offset: 0n }]);
    expect(missing.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('refuses compacted-only topics and internal topics', async () => {
    const compacted = await fiveRecords({ 'cleanup.policy': 'compact' });
    const [policy] = await deleteRecords(2, compacted, [{ partition: 0, offset: 1n }]);
    expect(policy).toMatchObject({ errorCode: ErrorCode.POLICY_VIOLATION, lowWatermark: -1n });
    const both = await fiveRecords({ 'cleanup.policy': 'compact,delete' });
    const [allowed] = await deleteRecords(2, both, [{ partition: 0, offset: 1n }]);
    expect(allowed).toMatchObject({ errorCode: ErrorCode.NONE, lowWatermark: 1n });
    const internal = randomTopic('__internal');
    await createTopic(tb, internal, { partitions: 1, internal: true });
    const [refused] = await deleteRecords(2, internal, [{ partition: 0, offset: 0n }]);
    expect(refused.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });
});
