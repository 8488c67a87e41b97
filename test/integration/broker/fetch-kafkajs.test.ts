/**
 * The read path with a real client around it: kafkajs 2.2.4 produces (Produce, Metadata,
 * CreateTopics) and reads offsets and deletes records through its admin client (ListOffsets,
 * DeleteRecords). kafkajs cannot consume without a group, and groups are not served yet, so the
 * records it wrote are read back with raw Fetch requests at the versions clients use.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import type { FetchResponse } from '../../../src/protocol/messages/fetch-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { fetchRequest, partitionOf, randomTopic, valuesOf } from './fetch-fixtures.ts';

let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let client: RawClient;

beforeAll(async () => {
  tb = await startTestBroker();
  kafka = new Kafka({ brokers: [tb.bootstrap], clientId: 'fetch-kafkajs', logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  producer = kafka.producer();
  await Promise.all([admin.connect(), producer.connect()]);
  client = await RawClient.connect(tb.port);
});
afterAll(async () => {
  client?.close();
  await Promise.all([producer?.disconnect(), admin?.disconnect()]);
  await tb?.remove();
});

async function topicWithRecords(values: string[], timestamps?: number[]): Promise<string> {
  const topic = randomTopic('kjs');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  for (const [i, value] of values.entries()) {
    await producer.send({
      topic,
      messages: [{ partition: 0, value, timestamp: timestamps ? String(timestamps[i]) : undefined }],
    });
  }
  return topic;
}

describe('Fetch, ListOffsets and DeleteRecords with kafkajs', () => {
  it.each([4, 11, 12])('reads back at v%i what the kafkajs producer wrote', async (version) => {
    const topic = await topicWithRecords(['one', 'two', 'three']);
    const res = await client.call<FetchResponse>(
      ApiKey.Fetch,
      version,
      fetchRequest([{ topic, partitions: [{ partition: 0 }] }], { isolationLevel: 1 }),
    );
    expect(partitionOf(res, topic, 0).highWatermark).toBe(3n);
    expect(valuesOf(partitionOf(res, topic, 0).records)).toEqual([
      { offset: 0, value: 'one' },
      { offset: 1, value: 'two' },
      { offset: 2, value: 'three' },
    ]);
  });

  it('lists earliest and latest offsets, and offsets by time, through the admin client', async () => {
    const topic = await topicWithRecords(['a', 'b', 'c'], [1_000_000, 2_000_000, 3_000_000]);
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.sort((x, y) => x.partition - y.partition)).toEqual([
      { partition: 0, offset: '3', high: '3', low: '0' },
      { partition: 1, offset: '0', high: '0', low: '0' },
    ]);
    const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 1_500_000);
    expect(byTime.find((o) => o.partition === 0)?.offset).toBe('1');
  });

  it('deletes records through the admin client, moving the low watermark', async () => {
    const topic = await topicWithRecords(['a', 'b', 'c', 'd']);
    // kafkajs looks the leaders up in metadata it already holds, and holds none for a new topic.
    await admin.fetchTopicMetadata({ topics: [topic] });
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] });
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.find((o) => o.partition === 0)).toMatchObject({ low: '2', high: '4' });
    // kafkajs's "-1" means "everything up to the high watermark".
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] });
    expect((await admin.fetchTopicOffsets(topic)).find((o) => o.partition === 0)).toMatchObject({ low: '4' });
  });
});
