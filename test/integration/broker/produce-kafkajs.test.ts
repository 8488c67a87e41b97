/**
 * Produce with a real client: kafkajs 2.2.4, plain and idempotent (InitProducerId, sequences), every
 * ack mode, compressed batches.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { decodeRecords } from '../../../src/protocol/records/index.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';

let tb: TestBroker;
let kafka: Kafka;
const producers: Producer[] = [];
beforeAll(async () => {
  tb = await startTestBroker({ properties: { 'num.partitions': '1' } });
  kafka = new Kafka({ clientId: 'produce-test', brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
});
afterAll(async () => {
  for (const p of producers) await p.disconnect();
  await tb.remove();
});

async function connected(o: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> {
  const p = kafka.producer({ allowAutoTopicCreation: true, ...o });
  producers.push(p);
  await p.connect();
  return p;
}

async function stored(topic: string): Promise<Array<{ offset: number; value: string; producerId: number }>> {
  const found = tb.broker.services.replicas.leaderLog(topic, 0);
  if (!found.ok) throw new Error(`no log: ${found.errorCode}`);
  const { records } = await found.log.read(0, { maxBytes: 1 << 20, isolation: 'log-end' });
  return decodeRecords(records).flatMap((b) =>
    b.records.map((r) => ({ offset: r.offset, value: String(r.value), producerId: b.producerId })),
  );
}

function topicName(): string {
  return `kjs-${randomBytes(4).toString('hex')}`;
}

describe('Produce > kafkajs', () => {
  it('sends with acks -1, 1 and 0 to an auto-created topic', async () => {
    const topic = topicName();
    const p = await connected();
    const [all] = await p.send({ topic, acks: -1, messages: [{ value: 'a' }, { value: 'b' }] });
    expect(all).toMatchObject({ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0' });
    const [one] = await p.send({ topic, acks: 1, messages: [{ value: 'c' }] });
    expect(one.baseOffset).toBe('2');
    await p.send({ topic, acks: 0, messages: [{ value: 'd' }] });
    await p.send({ topic, acks: 1, messages: [{ value: 'e' }] });
    expect((await stored(topic)).map((r) => r.value)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('sends as an idempotent producer: a producer id from InitProducerId, sequences checked', async () => {
    const topic = topicName();
    const p = await connected({ idempotent: true, maxInFlightRequests: 1 });
    for (let i = 0; i < 3; i++) {
      const [meta] = await p.send({ topic, messages: [{ value: `m${i}a` }, { value: `m${i}b` }] });
      expect(meta).toMatchObject({ errorCode: 0, baseOffset: String(i * 2) });
    }
    const records = await stored(topic);
    expect(records.map((r) => r.value)).toEqual(['m0a', 'm0b', 'm1a', 'm1b', 'm2a', 'm2b']);
    expect(records[0].producerId).toBeGreaterThanOrEqual(0);
    expect(new Set(records.map((r) => r.producerId)).size).toBe(1);
  });

  it('sends gzip-compressed batches from an idempotent producer', async () => {
    const topic = topicName();
    const p = await connected({ idempotent: true, maxInFlightRequests: 1 });
    await p.send({
      topic,
      compression: CompressionTypes.GZIP,
      messages: Array.from({ length: 20 }, (_, i) => ({ value: `z${i}` })),
    });
    expect((await stored(topic)).map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => `z${i}`));
  });
});
