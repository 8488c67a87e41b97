/**
 * kcat (librdkafka), unchanged, against the broker process: metadata (-L), producing keyed records
 * with headers in each compression codec, and consuming without a group — from the beginning, from
 * an offset, from the end, and from a timestamp. librdkafka's defaults stay as they are
 * (api.version.request=true, acks=all); only its partitioner is set to murmur2_random, the Java
 * client's, so keys must land where Java puts them.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel, Partitioners, type Producer as KafkajsProducer } from 'kafkajs';
import { partitionForKey } from '../../../src/protocol/partitioner.ts';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import { compressibleValue, randomTopic, storedCodecs } from './support.ts';

// Broker processes and real clients: seconds, not the default five.
jest.setTimeout(60_000);

const PARTITIONS = 6;
const KCAT_TIMEOUT_MS = 30_000;
/** Fields kcat prints for each record, tab-separated; %S is -1 for a null value. */
const FORMAT = '%p\\t%o\\t%T\\t%k\\t%S\\t%s\\t%h\\n';

if (spawnSync('kcat', ['-V']).error) {
  throw new Error('kcat is not installed: run hack/tools/kcat.sh (or apt-get install kcat)');
}

let broker: BrokerProcess;
let kafkajsProducer: KafkajsProducer;

beforeAll(async () => {
  broker = await spawnBroker({ properties: { 'num.partitions': String(PARTITIONS) } });
  const kafka = new Kafka({
    clientId: 'interop-kcat',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  kafkajsProducer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await kafkajsProducer.connect();
});

afterAll(async () => {
  await kafkajsProducer?.disconnect();
  await broker?.remove();
});

/** Runs kcat against the broker; rejects with its stderr on a non-zero exit or after the timeout. */
function kcat(args: string[], stdin = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', broker.bootstrap, '-q', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), KCAT_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`kcat ${args.join(' ')} ended with ${code ?? signal}:\n${err}\nstdout:\n${out}`));
    });
    child.stdin.end(stdin);
  });
}

interface Consumed {
  partition: number;
  offset: number;
  timestamp: number;
  key: string;
  /** null when kcat reports a null value (%S = -1). */
  value: string | null;
  headers: string;
}

function parse(output: string): Consumed[] {
  return output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [p, o, t, k, size, s, h] = line.split('\t');
      return {
        partition: Number(p),
        offset: Number(o),
        timestamp: Number(t),
        key: k!,
        value: size === '-1' ? null : s!,
        headers: h!,
      };
    });
}

const consume = async (topic: string, ...args: string[]) =>
  parse(await kcat(['-C', '-t', topic, '-e', '-f', FORMAT, ...args]));

const byPartitionThenOffset = (a: Consumed, b: Consumed) => a.partition - b.partition || a.offset - b.offset;

describe('interop > kcat', () => {
  it('lists the broker and a topic with its partitions (-L)', async () => {
    const topic = randomTopic('kcat-meta');
    await kcat(['-P', '-t', topic], 'hello\n');
    const metadata = JSON.parse(await kcat(['-L', '-J', '-t', topic])) as {
      brokers: Array<{ id: number; name: string }>;
      topics: Array<{
        topic: string;
        partitions: Array<{
          partition: number;
          leader: number;
          replicas: Array<{ id: number }>;
          isrs: Array<{ id: number }>;
        }>;
      }>;
    };
    expect(metadata.brokers).toEqual([{ id: 0, name: broker.bootstrap }]);
    expect(metadata.topics.map((t) => t.topic)).toEqual([topic]);
    const partitions = [...metadata.topics[0]!.partitions].sort((a, b) => a.partition - b.partition);
    expect(partitions).toEqual(
      Array.from({ length: PARTITIONS }, (_, partition) =>
        expect.objectContaining({ partition, leader: 0, replicas: [{ id: 0 }], isrs: [{ id: 0 }] }),
      ),
    );
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'])(
    'produces keyed records with headers with -z %s, and consumes them back intact',
    async (codec) => {
      const topic = randomTopic(`kcat-${codec}`);
      const keys = Array.from({ length: 150 }, (_, i) => `key-${i % 30}`);
      // Every 25th value is empty and, with -Z, produced as null.
      const values = keys.map((_, i) => (i % 25 === 3 ? null : compressibleValue(i)));
      const input = keys.map((k, i) => `${k}:${values[i] ?? ''}\n`).join('');
      const before = Date.now();
      await kcat(
        [
          '-P',
          '-t',
          topic,
          '-K:',
          '-Z',
          '-z',
          codec,
          '-H',
          'source=kcat',
          '-H',
          `codec=${codec}`,
          '-X',
          'topic.partitioner=murmur2_random',
          // One batch per partition rather than a batch per record: compression needs company.
          '-X',
          'linger.ms=50',
        ],
        input,
      );
      const after = Date.now();

      const consumed = (await consume(topic)).sort(byPartitionThenOffset);
      const expected = new Map<number, number[]>();
      keys.forEach((k, i) => {
        const p = partitionForKey(Buffer.from(k), PARTITIONS);
        expected.set(p, [...(expected.get(p) ?? []), i]);
      });
      // In produce order per partition, each record exactly once, at offsets 0, 1, 2…
      const got = new Map<number, Consumed[]>();
      for (const c of consumed) got.set(c.partition, [...(got.get(c.partition) ?? []), c]);
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [partition, indexes] of expected) {
        const records = got.get(partition)!;
        expect(records.map((r) => [r.offset, r.key, r.value])).toEqual(
          indexes.map((i, n) => [n, keys[i], values[i]]),
        );
      }
      for (const c of consumed) {
        expect(c.headers).toBe(`source=kcat,codec=${codec}`);
        expect(c.timestamp).toBeGreaterThanOrEqual(before);
        expect(c.timestamp).toBeLessThanOrEqual(after);
      }
      // librdkafka sends a codec only to brokers it believes have it (lz4: those serving
      // FindCoordinator, rd_kafka_feature_map), and silently sends uncompressed batches otherwise.
      expect(storedCodecs(broker.dataDir, topic, PARTITIONS)).toEqual(new Set([codec]));
    },
  );

  it('consumes lz4 batches written by another client', async () => {
    const topic = randomTopic('kcat-lz4-in');
    const producer = new Producer({
      clientId: 'interop-kcat-lz4',
      bootstrapBrokers: [broker.bootstrap],
      serializers: stringSerializers,
      autocreateTopics: true,
    });
    try {
      await producer.send({
        compression: 'lz4',
        messages: Array.from({ length: 50 }, (_, i) => ({
          topic,
          partition: i % 2,
          key: `k${i}`,
          value: compressibleValue(i),
          headers: { seq: String(i) },
        })),
      });
    } finally {
      await producer.close();
    }
    expect(storedCodecs(broker.dataDir, topic, PARTITIONS)).toEqual(new Set(['lz4']));
    const consumed = (await consume(topic)).sort(byPartitionThenOffset);
    const expected = Array.from({ length: 50 }, (_, i) => i).sort((a, b) => (a % 2) - (b % 2) || a - b);
    expect(consumed.map((c) => [c.partition, c.key, c.value, c.headers])).toEqual(
      expected.map((i) => [i % 2, `k${i}`, compressibleValue(i), `seq=${i}`]),
    );
  });

  it('consumes a partition from an offset (-o N) and the last records (-o -N)', async () => {
    const topic = randomTopic('kcat-offset');
    await kcat(['-P', '-t', topic, '-p', '2'], Array.from({ length: 20 }, (_, i) => `m${i}\n`).join(''));
    const fromSeven = await consume(topic, '-p', '2', '-o', '7');
    expect(fromSeven.map((c) => [c.offset, c.value])).toEqual(
      Array.from({ length: 13 }, (_, j) => [7 + j, `m${7 + j}`]),
    );
    const lastThree = await consume(topic, '-p', '2', '-o', '-3');
    expect(lastThree.map((c) => c.offset)).toEqual([17, 18, 19]);
    // The other partitions are empty: consuming them all ends at once with only partition 2's records.
    expect((await consume(topic)).map((c) => c.partition)).toEqual(Array.from({ length: 20 }, () => 2));
  });

  it('consumes from a timestamp (-o s@ms) and up to one (-o e@ms)', async () => {
    const topic = randomTopic('kcat-time');
    const base = Date.now() - 60_000;
    // kcat cannot set a record's timestamp, so kafkajs writes them: one a second, in two sends.
    for (const range of [
      [0, 6],
      [6, 12],
    ]) {
      await kafkajsProducer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: range[1]! - range[0]! }, (_, j) => {
          const i = range[0]! + j;
          return { value: `t${i}`, partition: 0, timestamp: String(base + i * 1000) };
        }),
      });
    }
    const fromTs = await consume(topic, '-p', '0', '-o', `s@${base + 4500}`);
    expect(fromTs.map((c) => [c.offset, c.timestamp, c.value])).toEqual(
      Array.from({ length: 7 }, (_, j) => [5 + j, base + (5 + j) * 1000, `t${5 + j}`]),
    );
    const exact = await consume(topic, '-p', '0', '-o', `s@${base + 8000}`);
    expect(exact.map((c) => c.offset)).toEqual([8, 9, 10, 11]);
    const untilTs = await consume(topic, '-p', '0', '-o', 'beginning', '-o', `e@${base + 3000}`);
    expect(untilTs.map((c) => c.offset)).toEqual([0, 1, 2]);
  });
});
