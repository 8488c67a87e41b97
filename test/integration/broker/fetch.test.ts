import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import type { FetchRequest } from '../../../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../../../src/protocol/messages/fetch-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { encodeBatch } from '../../../src/protocol/records/index.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { append, createTopic, fetchRequest, partitionOf, randomTopic, valuesOf } from './fetch-fixtures.ts';

/** The stored size of a batch of these values (offsets and epoch change, the size does not). */
function batchSize(values: string[]): number {
  return encodeBatch({
    records: values.map((v, i) => ({ key: Buffer.from(`k${i}`), value: Buffer.from(v) })),
  }).length;
}

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

async function fetch(version: number, request: FetchRequest): Promise<FetchResponse> {
  return client.call<FetchResponse>(ApiKey.Fetch, version, request);
}

describe('Fetch', () => {
  it.each([4, 7, 11, 12])(
    'serves committed batches at v%i, with watermarks and no session',
    async (version) => {
      const topic = randomTopic('fetch');
      await createTopic(tb, topic);
      await append(tb, topic, 0, ['a', 'b', 'c']);
      await append(tb, topic, 0, ['d']);
      const res = await fetch(
        version,
        fetchRequest([{ topic, partitions: [{ partition: 0 }, { partition: 1 }] }], { sessionEpoch: -1 }),
      );
      expect(res.errorCode).toBe(ErrorCode.NONE);
      expect(res.sessionId).toBe(0);
      const p0 = partitionOf(res, topic, 0);
      expect(p0).toMatchObject({
        errorCode: 0,
        highWatermark: 4n,
        lastStableOffset: 4n,
        abortedTransactions: null,
      });
      expect(p0.logStartOffset).toBe(version >= 5 ? 0n : -1n);
      expect(p0.preferredReadReplica).toBe(-1);
      expect(valuesOf(p0.records)).toEqual([
        { offset: 0, value: 'a' },
        { offset: 1, value: 'b' },
        { offset: 2, value: 'c' },
        { offset: 3, value: 'd' },
      ]);
      const p1 = partitionOf(res, topic, 1);
      expect(p1).toMatchObject({ errorCode: 0, highWatermark: 0n });
      // An empty partition's records are empty bytes, never null (kafkajs cannot read null).
      expect(p1.records).toHaveLength(0);
    },
  );

  it('names topics by id at v13, and answers an unknown id with UNKNOWN_TOPIC_ID', async () => {
    const topic = randomTopic('fetch-v13');
    await createTopic(tb, topic, { partitions: 1 });
    await append(tb, topic, 0, ['x', 'y']);
    const topicId = tb.broker.services.metadata().topics.get(topic)!.topicId;
    const unknownId = 'AAAAAAAAAAAAAAAAAAAAAQ';
    const request = fetchRequest([
      { topic: '', partitions: [{ partition: 0 }] },
      { topic: '', partitions: [{ partition: 0 }] },
    ]);
    request.topics[0].topicId = topicId;
    request.topics[1].topicId = unknownId;
    const res = await fetch(13, request);
    const known = res.responses.find((t) => t.topicId === topicId)!;
    expect(known.partitions[0].errorCode).toBe(0);
    expect(valuesOf(known.partitions[0].records)).toEqual([
      { offset: 0, value: 'x' },
      { offset: 1, value: 'y' },
    ]);
    const missing = res.responses.find((t) => t.topicId === unknownId)!;
    expect(missing.partitions[0]).toMatchObject({ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_ID });
  });

  it.each([4, 12])(
    'sends read_committed fetches an empty aborted-transactions list (v%i)',
    async (version) => {
      const topic = randomTopic('fetch-rc');
      await createTopic(tb, topic, { partitions: 1 });
      await append(tb, topic, 0, ['a']);
      const res = await fetch(
        version,
        fetchRequest([{ topic, partitions: [{ partition: 0 }] }], { isolationLevel: 1 }),
      );
      const p0 = partitionOf(res, topic, 0);
      expect(p0.abortedTransactions).toEqual([]);
      expect(p0.lastStableOffset).toBe(1n);
      expect(valuesOf(p0.records).map((r) => r.value)).toEqual(['a']);
    },
  );

  it('returns whole batches: a fetch from inside a batch starts at the batch', async () => {
    const topic = randomTopic('fetch-mid');
    await createTopic(tb, topic, { partitions: 1 });
    await append(tb, topic, 0, ['a', 'b', 'c']);
    const res = await fetch(12, fetchRequest([{ topic, partitions: [{ partition: 0, fetchOffset: 1n }] }]));
    expect(valuesOf(partitionOf(res, topic, 0).records).map((r) => r.offset)).toEqual([0, 1, 2]);
  });

  it('serves consumers only committed records, and nothing from past the high watermark', async () => {
    const topic = randomTopic('fetch-hw');
    await createTopic(tb, topic, { partitions: 1 });
    await append(tb, topic, 0, ['committed']);
    const found = tb.broker.services.replicas.leaderLog(topic, 0);
    if (!found.ok) throw new Error('not led here');
    // Written but not committed: the high watermark stays at 1.
    await found.log.append(encodeBatch({ records: [{ value: Buffer.from('pending') }] }), { leaderEpoch: 0 });
    expect(found.log.logEndOffset).toBe(2);
    const all = await fetch(12, fetchRequest([{ topic, partitions: [{ partition: 0 }] }]));
    expect(partitionOf(all, topic, 0).highWatermark).toBe(1n);
    expect(valuesOf(partitionOf(all, topic, 0).records).map((r) => r.value)).toEqual(['committed']);
    const past = await fetch(12, fetchRequest([{ topic, partitions: [{ partition: 0, fetchOffset: 1n }] }]));
    expect(partitionOf(past, topic, 0).errorCode).toBe(ErrorCode.NONE);
    expect(partitionOf(past, topic, 0).records).toHaveLength(0);
  });

  it('answers each partition on its own, and answers at once when any has an error', async () => {
    const topic = randomTopic('fetch-err');
    await createTopic(tb, topic);
    await append(tb, topic, 0, ['a']);
    await append(tb, topic, 1, ['b', 'c']);
    const epoch = tb.broker.services.metadata().topics.get(topic)!.partitions[2].leaderEpoch;
    const res = await fetch(
      12,
      fetchRequest(
        [
          {
            topic,
            partitions: [
              { partition: 0 },
              { partition: 1, fetchOffset: 99n },
              { partition: 2, currentLeaderEpoch: epoch + 1 },
              { partition: 7 },
            ],
          },
          { topic: randomTopic('missing'), partitions: [{ partition: 0 }] },
        ],
        // Without the errors, this fetch would wait a minute for a megabyte.
        { maxWaitMs: 60_000, minBytes: 1 << 20 },
      ),
    );
    expect(valuesOf(partitionOf(res, topic, 0).records).map((r) => r.value)).toEqual(['a']);
    expect(partitionOf(res, topic, 1)).toMatchObject({
      errorCode: ErrorCode.OFFSET_OUT_OF_RANGE,
      highWatermark: 2n,
      logStartOffset: 0n,
    });
    expect(partitionOf(res, topic, 1).records).toHaveLength(0);
    expect(partitionOf(res, topic, 2)).toMatchObject({
      errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH,
      highWatermark: -1n,
    });
    expect(partitionOf(res, topic, 7).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(res.responses[1].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('refuses a follower fetch from a broker that does not replicate the partition', async () => {
    const topic = randomTopic('fetch-follower');
    await createTopic(tb, topic, { partitions: 1 });
    const res = await fetch(12, fetchRequest([{ topic, partitions: [{ partition: 0 }] }], { replicaId: 7 }));
    expect(partitionOf(res, topic, 0).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const withEpoch = await fetch(
      12,
      fetchRequest([{ topic, partitions: [{ partition: 0, currentLeaderEpoch: 0 }] }], { replicaId: 7 }),
    );
    expect(partitionOf(withEpoch, topic, 0).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  });

  it('returns the first batch whole even when it is larger than both limits', async () => {
    const topic = randomTopic('fetch-big');
    await createTopic(tb, topic, { partitions: 1 });
    await append(tb, topic, 0, ['x'.repeat(5000)]);
    await append(tb, topic, 0, ['y']);
    const res = await fetch(
      12,
      fetchRequest([{ topic, partitions: [{ partition: 0, partitionMaxBytes: 100 }] }], { maxBytes: 100 }),
    );
    expect(valuesOf(partitionOf(res, topic, 0).records).map((r) => r.offset)).toEqual([0]);
  });

  it('takes at most partitionMaxBytes from a partition once it has its first batch', async () => {
    const topic = randomTopic('fetch-pmax');
    await createTopic(tb, topic, { partitions: 1 });
    for (const v of ['a', 'b', 'c']) await append(tb, topic, 0, [v]);
    const res = await fetch(
      12,
      fetchRequest([{ topic, partitions: [{ partition: 0, partitionMaxBytes: 2 * batchSize(['a']) }] }]),
    );
    expect(valuesOf(partitionOf(res, topic, 0).records).map((r) => r.value)).toEqual(['a', 'b']);
  });

  it('gives later partitions nothing once the response budget is spent, and no batch that overshoots it', async () => {
    const topic = randomTopic('fetch-budget');
    await createTopic(tb, topic);
    const size = batchSize(['v']);
    for (const p of [0, 0, 1, 2]) await append(tb, topic, p, ['v']);
    const all = [{ topic, partitions: [{ partition: 0 }, { partition: 1 }, { partition: 2 }] }];
    // Room for one batch and a half: partition 1's whole batch would overshoot what is left.
    const half = await fetch(12, fetchRequest(all, { maxBytes: size + Math.floor(size / 2) }));
    expect(valuesOf(partitionOf(half, topic, 0).records).map((r) => r.offset)).toEqual([0]);
    for (const p of [1, 2]) {
      expect(partitionOf(half, topic, p)).toMatchObject({ errorCode: 0, highWatermark: 1n });
      expect(partitionOf(half, topic, p).records).toHaveLength(0);
    }
    // Room for three batches: partition 0 takes two, partition 1 one, partition 2 none.
    const three = await fetch(12, fetchRequest(all, { maxBytes: 3 * size }));
    expect(valuesOf(partitionOf(three, topic, 0).records)).toHaveLength(2);
    expect(valuesOf(partitionOf(three, topic, 1).records)).toHaveLength(1);
    expect(partitionOf(three, topic, 2).records).toHaveLength(0);
  });

  it('checks a v12 fetcher’s last fetched epoch: the leader’s own epoch is known even before any write', async () => {
    const topic = randomTopic('fetch-lfe');
    await createTopic(tb, topic, { partitions: 2 });
    await append(tb, topic, 1, ['a', 'b']);
    const epoch = tb.broker.services.metadata().topics.get(topic)!.partitions[0].leaderEpoch;
    const res = await fetch(
      12,
      fetchRequest([
        {
          topic,
          partitions: [
            { partition: 0, lastFetchedEpoch: epoch, currentLeaderEpoch: epoch },
            { partition: 1, fetchOffset: 1n, lastFetchedEpoch: epoch },
          ],
        },
      ]),
    );
    expect(partitionOf(res, topic, 0)).toMatchObject({
      errorCode: 0,
      divergingEpoch: { epoch: -1, endOffset: -1n },
    });
    expect(valuesOf(partitionOf(res, topic, 1).records).map((r) => r.value)).toEqual(['a', 'b']);
    const newer = await fetch(
      12,
      fetchRequest([{ topic, partitions: [{ partition: 1, lastFetchedEpoch: epoch + 1 }] }]),
    );
    expect(partitionOf(newer, topic, 1).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  it('has no fetch sessions: an incremental request is told its session is unknown', async () => {
    const topic = randomTopic('fetch-session');
    await createTopic(tb, topic, { partitions: 1 });
    await append(tb, topic, 0, ['a']);
    const asks = [{ topic, partitions: [{ partition: 0 }] }];
    const incremental = await fetch(7, fetchRequest(asks, { sessionId: 12345, sessionEpoch: 3 }));
    expect(incremental).toMatchObject({
      errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND,
      sessionId: 0,
      responses: [],
    });
    // Asking to open a session gets a full answer and session id 0: "no session, fetch in full".
    const opening = await fetch(7, fetchRequest(asks, { sessionId: 0, sessionEpoch: 0 }));
    expect(opening.sessionId).toBe(0);
    expect(valuesOf(partitionOf(opening, topic, 0).records)).toHaveLength(1);
  });

  it('counts the record bytes it serves, by topic', async () => {
    const topic = randomTopic('fetch-metric');
    await createTopic(tb, topic, { partitions: 1 });
    await append(tb, topic, 0, ['a', 'b']);
    const res = await fetch(12, fetchRequest([{ topic, partitions: [{ partition: 0 }] }]));
    const served = partitionOf(res, topic, 0).records!.length;
    const metric = await tb.broker.registry.getSingleMetric('tributary_broker_fetch_bytes_total')!.get();
    expect(metric.values.find((v) => v.labels['topic'] === topic)?.value).toBe(served);
  });
});
