/**
 * Produce and InitProducerId against a whole broker, at exact protocol versions (RawClient): ack
 * modes, the per-partition errors, timestamps, and idempotent producers — duplicates, gaps, fenced
 * epochs — also across a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { FakeClock } from '../../../src/common/clock.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { InitProducerIdResponse } from '../../../src/protocol/messages/init-producer-id-response.ts';
import type { ProduceRequest } from '../../../src/protocol/messages/produce-request.ts';
import type {
  PartitionProduceResponse,
  ProduceResponse,
} from '../../../src/protocol/messages/produce-response.ts';
import { type BatchInput, decodeRecords, encodeBatch } from '../../../src/protocol/records/index.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';

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

function randomTopic(prefix = 'produce'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

async function createTopic(t: TestBroker, name: string, configs: Record<string, string> = {}): Promise<void> {
  const r = await t.broker.services.admin.createTopic(
    { name, numPartitions: 2, replicationFactor: -1, assignments: [], configs },
    false,
  );
  if (!r.ok) throw new Error(r.errorMessage);
}

function batch(values: string[], o: Omit<BatchInput, 'records'> = {}): Buffer {
  return encodeBatch({
    ...o,
    records: values.map((v) => ({ value: Buffer.from(v), timestamp: Date.now() })),
  });
}

function idempotent(producerId: number, epoch: number, seq: number, values = ['x']): Buffer {
  return batch(values, { producerId, producerEpoch: epoch, baseSequence: seq });
}

function request(
  topic: string,
  records: Buffer | null,
  o: { acks?: number; partition?: number; timeoutMs?: number } = {},
): ProduceRequest {
  return {
    transactionalId: null,
    acks: o.acks ?? -1,
    timeoutMs: o.timeoutMs ?? 5000,
    topicData: [{ name: topic, partitionData: [{ index: o.partition ?? 0, records }] }],
  };
}

async function produce(
  version: number,
  req: ProduceRequest,
  c: RawClient = client,
): Promise<PartitionProduceResponse> {
  const res = await c.call<ProduceResponse>(ApiKey.Produce, version, req);
  expect(res.responses).toHaveLength(1);
  expect(res.responses[0].partitionResponses).toHaveLength(1);
  return res.responses[0].partitionResponses[0];
}

/** The partition's stored records, read from its log. */
async function stored(
  t: TestBroker,
  topic: string,
  partition = 0,
): Promise<Array<{ offset: number; value: string }>> {
  const found = t.broker.services.replicas.leaderLog(topic, partition);
  if (!found.ok) throw new Error(`no log: ${found.errorCode}`);
  const { records } = await found.log.read(found.log.logStartOffset, {
    maxBytes: 1 << 20,
    isolation: 'log-end',
  });
  return decodeRecords(records).flatMap((b) =>
    b.records.map((r) => ({ offset: r.offset, value: String(r.value) })),
  );
}

async function initProducerId(
  version: number,
  transactionalId: string | null = null,
): Promise<InitProducerIdResponse> {
  return client.call<InitProducerIdResponse>(ApiKey.InitProducerId, version, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1n,
    producerEpoch: -1,
  });
}

describe('Produce > acks', () => {
  it.each([3, 7, 9, 11])(
    'appends with acks=1 and acks=-1 at v%i and answers the offsets',
    async (version) => {
      const topic = randomTopic();
      await createTopic(tb, topic);
      const first = await produce(version, request(topic, batch(['a', 'b']), { acks: 1 }));
      expect(first).toMatchObject({ index: 0, errorCode: 0, baseOffset: 0n, logAppendTimeMs: -1n });
      expect(first.logStartOffset).toBe(version >= 5 ? 0n : -1n);
      const second = await produce(version, request(topic, batch(['c']), { acks: -1 }));
      expect(second).toMatchObject({ errorCode: 0, baseOffset: 2n });
      expect(await stored(tb, topic)).toEqual([
        { offset: 0, value: 'a' },
        { offset: 1, value: 'b' },
        { offset: 2, value: 'c' },
      ]);
      const found = tb.broker.services.replicas.leaderLog(topic, 0);
      expect(found.ok && found.log.highWatermark).toBe(3);
    },
  );

  it('appends with acks=0 and sends no response', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    client.request(ApiKey.Produce, 9, 1, request(topic, batch(['quiet']), { acks: 0 }));
    // The next response on the connection is the next request's: nothing was sent for acks=0.
    const next = await produce(9, request(topic, batch(['loud']), { acks: 1 }));
    expect(next.baseOffset).toBe(1n);
    expect(await stored(tb, topic)).toEqual([
      { offset: 0, value: 'quiet' },
      { offset: 1, value: 'loud' },
    ]);
  });

  it('closes the connection after a failed acks=0 produce, once the responses before it are written', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const c = await RawClient.connect(tb.port);
    try {
      c.request(ApiKey.Produce, 9, 1, request(topic, batch(['before']), { acks: 1 }));
      // Partition 7 does not exist: UNKNOWN_TOPIC_OR_PARTITION, which acks=0 cannot report.
      c.request(ApiKey.Produce, 9, 2, request(topic, batch(['lost']), { acks: 0, partition: 7 }));
      c.request(ApiKey.Produce, 9, 3, request(topic, batch(['after']), { acks: 1 }));
      const first = await c.response(ApiKey.Produce, 9);
      expect(first.correlationId).toBe(1);
      expect(await c.nextFrame()).toBeNull();
      await c.closed;
    } finally {
      c.close();
    }
    // The refused batch is nowhere (a request pipelined after it may or may not have been appended
    // before the close: it was unanswered, as acks=0 loss is), and the broker serves on.
    const values = (await stored(tb, topic)).map((r) => r.value);
    expect(values[0]).toBe('before');
    expect(values).not.toContain('lost');
    expect(await produce(9, request(topic, batch(['next']), { acks: 1 }))).toMatchObject({ errorCode: 0 });
  });

  it('keeps the connection open after a successful acks=0 produce', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const c = await RawClient.connect(tb.port);
    try {
      c.request(ApiKey.Produce, 9, 1, request(topic, batch(['quiet']), { acks: 0 }));
      expect(await produce(9, request(topic, batch(['loud']), { acks: 1 }), c)).toMatchObject({
        errorCode: 0,
        baseOffset: 1n,
      });
    } finally {
      c.close();
    }
  });

  it('drops a deleted topic’s metric series, and a topic re-created under its name counts from zero', async () => {
    const topic = randomTopic('metrics');
    const scrape = async () => (await fetch(`${tb.adminUrl}/metrics`)).text();
    await createTopic(tb, topic);
    await produce(9, request(topic, batch(['a', 'b', 'c'])));
    const before = await scrape();
    expect(before).toContain(`tributary_broker_produced_records_total{topic="${topic}"} 3`);
    expect(before).toContain(`tributary_log_segments{topic="${topic}"}`);

    const deleted = await tb.broker.services.admin.deleteTopic({ name: topic });
    expect(deleted.ok).toBe(true);
    expect(await scrape()).not.toContain(`topic="${topic}"`);

    await createTopic(tb, topic);
    await produce(9, request(topic, batch(['d'])));
    expect(await scrape()).toContain(`tributary_broker_produced_records_total{topic="${topic}"} 1`);
  });

  it('refuses acks other than -1, 0 and 1 with INVALID_REQUIRED_ACKS', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    expect(await produce(7, request(topic, batch(['a']), { acks: 2 }))).toMatchObject({
      errorCode: ErrorCode.INVALID_REQUIRED_ACKS,
      baseOffset: -1n,
    });
    expect(await stored(tb, topic)).toEqual([]);
  });

  it('refuses acks=-1 below min.insync.replicas with NOT_ENOUGH_REPLICAS, but takes acks=1', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic, { 'min.insync.replicas': '2' });
    expect(await produce(11, request(topic, batch(['a']), { acks: -1 }))).toMatchObject({
      errorCode: ErrorCode.NOT_ENOUGH_REPLICAS,
    });
    expect(await produce(11, request(topic, batch(['a']), { acks: 1 }))).toMatchObject({ errorCode: 0 });
  });

  it('answers each partition of a request on its own', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const res = await client.call<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [
        {
          name: topic,
          partitionData: [
            { index: 0, records: batch(['p0']) },
            { index: 1, records: batch(['p1a', 'p1b']) },
            { index: 7, records: batch(['nowhere']) },
          ],
        },
      ],
    });
    expect(res.responses[0].partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset])).toEqual([
      [0, 0, 0n],
      [1, 0, 0n],
      [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
    ]);
  });
});

describe('Produce > records and topics', () => {
  it('answers a batch with a flipped CRC bit with CORRUPT_MESSAGE and keeps serving', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const bad = batch(['a']);
    bad[bad.length - 1] ^= 0x01;
    const res = await produce(9, request(topic, bad));
    expect(res.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(res.errorMessage).toContain('CRC');
    expect(await produce(9, request(topic, batch(['good'])))).toMatchObject({ errorCode: 0, baseOffset: 0n });
  });

  it('refuses a batch above max.message.bytes with MESSAGE_TOO_LARGE', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic, { 'max.message.bytes': '200' });
    expect(await produce(9, request(topic, batch(['x'.repeat(300)])))).toMatchObject({
      errorCode: ErrorCode.MESSAGE_TOO_LARGE,
    });
    expect(await produce(9, request(topic, batch(['small'])))).toMatchObject({ errorCode: 0 });
  });

  it('refuses two batches for one partition, and no batch at all, with INVALID_RECORD', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const two = await produce(8, request(topic, Buffer.concat([batch(['a']), batch(['b'])])));
    expect(two).toMatchObject({ errorCode: ErrorCode.INVALID_RECORD });
    expect(two.errorMessage).toContain('exactly one record batch');
    expect(await produce(8, request(topic, null))).toMatchObject({ errorCode: ErrorCode.INVALID_RECORD });
  });

  it('refuses zstd before v7 with UNSUPPORTED_COMPRESSION_TYPE and takes it from v7', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const zstd = (): Buffer => batch(['squeezed'], { compression: 'zstd' });
    expect(await produce(6, request(topic, zstd()))).toMatchObject({
      errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
    });
    expect(await produce(7, request(topic, zstd()))).toMatchObject({ errorCode: 0, baseOffset: 0n });
    expect(await stored(tb, topic)).toEqual([{ offset: 0, value: 'squeezed' }]);
  });

  it('answers the old message formats (v0–2) with UNSUPPORTED_FOR_MESSAGE_FORMAT', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    for (const version of [0, 1, 2]) {
      expect(await produce(version, request(topic, Buffer.alloc(40)))).toMatchObject({
        errorCode: ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      });
    }
    expect(await stored(tb, topic)).toEqual([]);
  });

  it('refuses a transactional batch with INVALID_TXN_STATE: no transaction can be ongoing', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const txn = batch(['t'], { producerId: 1, producerEpoch: 0, baseSequence: 0, transactional: true });
    expect(await produce(11, request(topic, txn))).toMatchObject({ errorCode: ErrorCode.INVALID_TXN_STATE });
  });

  it('stamps the broker time on a LogAppendTime topic and answers it', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic, { 'message.timestamp.type': 'LogAppendTime' });
    const before = Date.now();
    const res = await produce(
      9,
      request(topic, encodeBatch({ records: [{ value: Buffer.from('v'), timestamp: 1000 }] })),
    );
    expect(res.errorCode).toBe(0);
    const stamped = Number(res.logAppendTimeMs);
    expect(stamped).toBeGreaterThanOrEqual(before);
    const found = tb.broker.services.replicas.leaderLog(topic, 0);
    if (!found.ok) throw new Error('no log');
    const [b] = decodeRecords((await found.log.read(0, { maxBytes: 1 << 20 })).records);
    expect(b.maxTimestamp).toBe(stamped);
    expect(b.records[0].timestamp).toBe(stamped);
  });

  it('refuses create times outside message.timestamp.before/after.max.ms with INVALID_TIMESTAMP', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic, {
      'message.timestamp.before.max.ms': '60000',
      'message.timestamp.after.max.ms': '60000',
    });
    const now = Date.now();
    const records = encodeBatch({
      records: [
        { value: Buffer.from('ok'), timestamp: now },
        { value: Buffer.from('old'), timestamp: now - 3_600_000 },
        { value: Buffer.from('future'), timestamp: now + 3_600_000 },
      ],
    });
    const res = await produce(8, request(topic, records));
    expect(res.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(res.recordErrors.map((e) => e.batchIndex)).toEqual([1, 2]);
    expect(res.recordErrors[0].batchIndexErrorMessage).toContain('is out of range');
    expect(await stored(tb, topic)).toEqual([]);
  });

  it('auto-creates an unknown topic on produce, and refuses it when auto-creation is off', async () => {
    const topic = randomTopic('auto');
    expect(await produce(9, request(topic, batch(['born'])))).toMatchObject({ errorCode: 0, baseOffset: 0n });
    expect(tb.broker.services.metadata().topics.has(topic)).toBe(true);
    const off = await startTestBroker({ properties: { 'auto.create.topics.enable': 'false' } });
    const c = await RawClient.connect(off.port);
    try {
      expect(await produce(9, request(topic, batch(['x'])), c)).toMatchObject({
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      });
    } finally {
      c.close();
      await off.remove();
    }
  });
});

describe('InitProducerId', () => {
  it.each([0, 2, 4, 5])('hands out a fresh producer id at epoch 0 (v%i)', async (version) => {
    const a = await initProducerId(version);
    const b = await initProducerId(version);
    expect(a).toMatchObject({ errorCode: 0, producerEpoch: 0 });
    expect(b.producerId).toBe(a.producerId + 1n);
  });

  it('refuses a transactional id: there is no transaction coordinator yet', async () => {
    expect(await initProducerId(4, 'my-txn')).toMatchObject({
      errorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
      producerId: -1n,
      producerEpoch: -1,
    });
    expect(await initProducerId(4, '')).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
  });

  it('refuses a producer id without an epoch (v3+)', async () => {
    const res = await client.call<InitProducerIdResponse>(ApiKey.InitProducerId, 3, {
      transactionalId: null,
      transactionTimeoutMs: 0,
      producerId: 5n,
      producerEpoch: -1,
    });
    expect(res.errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('Produce > idempotent producers', () => {
  async function producerId(): Promise<number> {
    return Number((await initProducerId(4)).producerId);
  }

  it('answers a retried batch with its original offsets and appends it once', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const pid = await producerId();
    const first = idempotent(pid, 0, 0, ['a', 'b']);
    expect(await produce(9, request(topic, first))).toMatchObject({ errorCode: 0, baseOffset: 0n });
    expect(await produce(9, request(topic, idempotent(pid, 0, 2)))).toMatchObject({ baseOffset: 2n });
    // The same bytes again, as a client retries after a lost response.
    expect(await produce(9, request(topic, first))).toMatchObject({ errorCode: 0, baseOffset: 0n });
    expect((await stored(tb, topic)).map((r) => r.offset)).toEqual([0, 1, 2]);
    const metrics = await (await fetch(`${tb.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tributary_broker_produce_duplicate_batches_total [1-9]/);
    expect(metrics).toContain(`tributary_broker_produced_records_total{topic="${topic}"} 3`);
  });

  it('answers a retry on a LogAppendTime topic with the original append time', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    const own = await startTestBroker({ clock });
    const c = await RawClient.connect(own.port);
    try {
      const topic = randomTopic();
      await createTopic(own, topic, { 'message.timestamp.type': 'LogAppendTime' });
      const first = await produce(11, request(topic, idempotent(7, 0, 0)), c);
      expect(first).toMatchObject({ errorCode: 0, logAppendTimeMs: 1_700_000_000_000n });
      clock.advance(60_000);
      expect(await produce(11, request(topic, idempotent(7, 0, 0)), c)).toMatchObject({
        errorCode: 0,
        baseOffset: 0n,
        logAppendTimeMs: 1_700_000_000_000n,
      });
      expect(await produce(11, request(topic, idempotent(7, 0, 1)), c)).toMatchObject({
        logAppendTimeMs: 1_700_000_060_000n,
      });
    } finally {
      c.close();
      await own.remove();
    }
  });

  it('refuses a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const pid = await producerId();
    await produce(11, request(topic, idempotent(pid, 0, 0)));
    const gap = await produce(11, request(topic, idempotent(pid, 0, 2)));
    expect(gap.errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(gap.errorMessage).toContain('Out of order sequence number');
    expect(await stored(tb, topic)).toHaveLength(1);
    expect(await (await fetch(`${tb.adminUrl}/metrics`)).text()).toMatch(
      /tributary_broker_produce_out_of_order_batches_total [1-9]/,
    );
  });

  it('fences an older epoch with INVALID_PRODUCER_EPOCH once a newer one wrote', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const pid = await producerId();
    await produce(9, request(topic, idempotent(pid, 0, 0)));
    expect(await produce(9, request(topic, idempotent(pid, 1, 3)))).toMatchObject({
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    });
    expect(await produce(9, request(topic, idempotent(pid, 1, 0)))).toMatchObject({ errorCode: 0 });
    expect(await produce(9, request(topic, idempotent(pid, 0, 1)))).toMatchObject({
      errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
    });
  });

  it('keeps pipelined requests of one producer in order', async () => {
    const topic = randomTopic();
    await createTopic(tb, topic);
    const pid = await producerId();
    const c = await RawClient.connect(tb.port);
    try {
      for (let seq = 0; seq < 5; seq++)
        c.request(ApiKey.Produce, 9, 100 + seq, request(topic, idempotent(pid, 0, seq, [`m${seq}`])));
      const answers = [];
      for (let seq = 0; seq < 5; seq++) {
        const res = (await c.response(ApiKey.Produce, 9)).body as ProduceResponse;
        answers.push(res.responses[0].partitionResponses[0]);
      }
      expect(answers.map((p) => [p.errorCode, p.baseOffset])).toEqual(
        [0n, 1n, 2n, 3n, 4n].map((o) => [0, o]),
      );
    } finally {
      c.close();
    }
    expect((await stored(tb, topic)).map((r) => r.value)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('still deduplicates a retry after the broker restarts', async () => {
    const own = await startTestBroker();
    let again: TestBroker | null = null;
    try {
      const topic = randomTopic();
      await createTopic(own, topic);
      const c = await RawClient.connect(own.port);
      const pid = 1_000_000;
      for (let seq = 0; seq < 3; seq++) await produce(9, request(topic, idempotent(pid, 0, seq)), c);
      c.close();
      await own.stop();
      again = await startTestBroker({ dataDir: own.dataDir });
      const c2 = await RawClient.connect(again.port);
      try {
        expect(await produce(9, request(topic, idempotent(pid, 0, 2)), c2)).toMatchObject({
          errorCode: 0,
          baseOffset: 2n,
        });
        expect(await produce(9, request(topic, idempotent(pid, 0, 4)), c2)).toMatchObject({
          errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        });
        expect(await produce(9, request(topic, idempotent(pid, 0, 3)), c2)).toMatchObject({
          errorCode: 0,
          baseOffset: 3n,
        });
      } finally {
        c2.close();
      }
      expect(await stored(again, topic)).toHaveLength(4);
    } finally {
      await again?.stop();
      await own.remove();
    }
  });
});
