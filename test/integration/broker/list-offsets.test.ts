import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import {
  ListOffsetsRequest,
  defaultListOffsetsPartition,
} from '../../../src/protocol/messages/list-offsets-request.ts';
import type {
  ListOffsetsPartitionResponse,
  ListOffsetsResponse,
} from '../../../src/protocol/messages/list-offsets-response.ts';
import { encodeBatch } from '../../../src/protocol/records/index.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { append, createTopic, randomTopic } from './fetch-fixtures.ts';

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;

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

type Ask = { partition: number; timestamp: bigint; currentLeaderEpoch?: number };

async function listOffsets(
  version: number,
  topic: string,
  asks: Ask[],
  o: Partial<ListOffsetsRequest> = {},
): Promise<ListOffsetsPartitionResponse[]> {
  const res = await client.call<ListOffsetsResponse>(ApiKey.ListOffsets, version, {
    ...ListOffsetsRequest.defaults(),
    // The schema's default is 0, a broker id; consumers send -1.
    replicaId: -1,
    topics: [
      {
        name: topic,
        partitions: asks.map((a) => ({
          ...defaultListOffsetsPartition(),
          partitionIndex: a.partition,
          timestamp: a.timestamp,
          currentLeaderEpoch: a.currentLeaderEpoch ?? -1,
        })),
      },
    ],
    ...o,
  });
  expect(res.topics.map((t) => t.name)).toEqual([topic]);
  return res.topics[0].partitions;
}

/** Offsets 0–2 at times 1000–3000, 3 at 5000, 4 at 4000: the largest timestamp is not the last. */
async function timedTopic(): Promise<string> {
  const topic = randomTopic('lo');
  await createTopic(tb, topic, { partitions: 2 });
  await append(tb, topic, 0, ['a', 'b', 'c'], { timestamps: [1000, 2000, 3000] });
  await append(tb, topic, 0, ['d'], { timestamps: [5000] });
  await append(tb, topic, 0, ['e'], { timestamps: [4000] });
  return topic;
}

/** One partition per request: Kafka refuses a partition named twice in one. */
async function listOne(
  version: number,
  topic: string,
  ask: Ask,
  o: Partial<ListOffsetsRequest> = {},
): Promise<ListOffsetsPartitionResponse> {
  const [only] = await listOffsets(version, topic, [ask], o);
  return only;
}

const answer = (r: ListOffsetsPartitionResponse) => ({
  errorCode: r.errorCode,
  offset: Number(r.offset),
  timestamp: Number(r.timestamp),
});

describe('ListOffsets', () => {
  it.each([1, 4, 6, 7])(
    'finds the latest and earliest offsets and offsets by time at v%i',
    async (version) => {
      const topic = await timedTopic();
      const asks: Ask[] = [
        { partition: 0, timestamp: LATEST },
        { partition: 1, timestamp: EARLIEST },
      ];
      const [latest, earliest] = await listOffsets(version, topic, asks);
      expect(answer(latest)).toEqual({ errorCode: 0, offset: 5, timestamp: -1 });
      expect(answer(earliest)).toEqual({ errorCode: 0, offset: 0, timestamp: -1 });
      const epoch = tb.broker.services.metadata().topics.get(topic)!.partitions[0].leaderEpoch;
      expect(latest.leaderEpoch).toBe(version >= 4 ? epoch : -1);
      const byTime: ListOffsetsPartitionResponse[] = [];
      for (const timestamp of [2000n, 2500n, 4500n, 6000n])
        byTime.push(await listOne(version, topic, { partition: 0, timestamp }));
      expect(byTime.map(answer)).toEqual([
        { errorCode: 0, offset: 1, timestamp: 2000 },
        { errorCode: 0, offset: 2, timestamp: 3000 },
        // The first offset at or after the time, not the closest timestamp.
        { errorCode: 0, offset: 3, timestamp: 5000 },
        { errorCode: 0, offset: -1, timestamp: -1 },
      ]);
    },
  );

  it('finds the record with the largest timestamp (v7)', async () => {
    const topic = await timedTopic();
    const [max, empty] = await listOffsets(7, topic, [
      { partition: 0, timestamp: MAX_TIMESTAMP },
      { partition: 1, timestamp: MAX_TIMESTAMP },
    ]);
    expect(answer(max)).toEqual({ errorCode: 0, offset: 3, timestamp: 5000 });
    expect(max.leaderEpoch).toBe(0);
    expect(answer(empty)).toEqual({ errorCode: 0, offset: -1, timestamp: -1 });
  });

  it('tells consumers of both isolation levels only what is committed, and a replica the log end', async () => {
    const topic = await timedTopic();
    const found = tb.broker.services.replicas.leaderLog(topic, 0);
    if (!found.ok) throw new Error('not led here');
    // Written but not committed: the high watermark stays at 5.
    const pending = encodeBatch({ records: [{ value: Buffer.from('f'), timestamp: 9000 }] });
    await found.log.append(pending, { leaderEpoch: 0 });
    for (const isolationLevel of [0, 1]) {
      const latest = await listOne(7, topic, { partition: 0, timestamp: LATEST }, { isolationLevel });
      const late = await listOne(7, topic, { partition: 0, timestamp: 8000n }, { isolationLevel });
      expect(answer(latest).offset).toBe(5);
      expect(answer(late).offset).toBe(-1);
    }
    const replicaLatest = await listOne(7, topic, { partition: 0, timestamp: LATEST }, { replicaId: 1 });
    expect(answer(replicaLatest).offset).toBe(6);
  });

  it('moves earliest with the log start offset', async () => {
    const topic = await timedTopic();
    const found = tb.broker.services.replicas.leaderLog(topic, 0);
    if (!found.ok) throw new Error('not led here');
    await found.log.deleteRecordsBefore(2);
    const earliest = await listOne(7, topic, { partition: 0, timestamp: EARLIEST });
    expect(answer(earliest)).toEqual({ errorCode: 0, offset: 2, timestamp: -1 });
    const old = await listOne(7, topic, { partition: 0, timestamp: 0n });
    expect(answer(old)).toEqual({ errorCode: 0, offset: 2, timestamp: 3000 });
  });

  it('answers each partition on its own: unknown partition, newer leader epoch, one named twice', async () => {
    const topic = await timedTopic();
    const res = await listOffsets(7, topic, [
      { partition: 0, timestamp: LATEST },
      { partition: 9, timestamp: LATEST },
      { partition: 1, timestamp: LATEST, currentLeaderEpoch: 1000 },
      { partition: 0, timestamp: EARLIEST },
    ]);
    expect(res.map((r) => r.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.UNKNOWN_LEADER_EPOCH,
      ErrorCode.INVALID_REQUEST,
    ]);
    expect(answer(res[1])).toEqual({
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      offset: -1,
      timestamp: -1,
    });
    const missing = await listOne(7, randomTopic('missing'), { partition: 0, timestamp: LATEST });
    expect(missing.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});
