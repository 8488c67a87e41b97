/**
 * Damage done to a stopped broker's files, found by the broker process when it runs again on them:
 * bytes flipped in the middle of a closed segment of topic A, and half a batch left at the end of A's
 * active segment (a write the process never finished).
 *
 * The decision, for a corrupt *closed* segment: the broker starts and serves every other log; A is
 * taken offline (produce and fetch answer KAFKA_STORAGE_ERROR, which clients retry and which lets
 * leadership move to a replica where there is one), with one error line naming the segment file, the
 * byte position and the offset of the bad batch; its files are left exactly as they were. Kafka would
 * either serve the bad bytes (a segment trusted after a clean shutdown; the Java consumer then fails
 * on the CRC) or, when recovery scans it, cut the segment there and delete every later one, losing
 * acknowledged records in silence. Neither is acceptable here: what a consumer is given always
 * passes its CRC, and nothing acknowledged is deleted by recovery. Batches trusted at start-up are
 * checked (CRC-32C) the first time they are served, so the damage is found on the first read that
 * reaches it; records before it are served.
 *
 * For the *active* segment, recovery does what Kafka does: a torn or bad tail after a crash is cut,
 * and the broker logs the file, byte position and offset it cut at.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { statSync } from 'node:fs';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { batchesIn, corruptClosedSegment, segmentFiles, tearActiveSegmentTail } from '../../fault/disk.ts';
import { SendLog, kafkaErrorType } from '../../fault/disk-workload.ts';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import { javaConsume } from '../../helpers/java-client.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';

jest.setTimeout(90_000);

const A = 'corrupt-a';
const B = 'corrupt-b';

let broker: BrokerProcess;
let kafka: Kafka;
let producer: Producer;

beforeAll(async () => {
  broker = await spawnBroker();
  kafka = new Kafka({
    clientId: 'disk-corrupt',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
});

afterAll(async () => {
  await producer?.disconnect().catch(() => undefined);
  await broker?.remove();
});

async function connectProducer(): Promise<void> {
  await producer?.disconnect().catch(() => undefined);
  producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
}

/** The broker's JSON log lines from the `from`th line of its output on. */
function linesFrom(from: number): Array<Record<string, unknown>> {
  return broker
    .output()
    .split('\n')
    .slice(from)
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Restarts the broker; returns where its output for the new run begins. */
async function restart(): Promise<number> {
  const from = broker.output().split('\n').length;
  await broker.restart();
  return from;
}

async function createTopic(topic: string, segmentBytes?: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const configEntries = segmentBytes ? [{ name: 'segment.bytes', value: String(segmentBytes) }] : [];
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, configEntries }] });
  await admin.disconnect();
}

describe('a damaged segment found when the broker process starts again', () => {
  it('a corrupt closed segment: A offline with the file and offset named, B served, nothing deleted', async () => {
    await createTopic(A, 2048);
    await createTopic(B);
    await connectProducer();
    const a = new SendLog(A);
    const b = new SendLog(B);
    expect(await a.sendMany(producer, 80)).toEqual([]);
    expect(await b.sendMany(producer, 20)).toEqual([]);
    await broker.stop();
    const damage = corruptClosedSegment(broker.dataDir, A, 0);
    const files = segmentFiles(broker.dataDir, A, 0);
    expect(files.length).toBeGreaterThan(3);
    const sizes = files.map((f) => statSync(f).size);
    const started = await restart();
    await connectProducer();

    // B: produced and fetched as before.
    expect(await b.sendMany(producer, 5)).toEqual([]);
    expect(b.judge((await readTopicWithKafkajs(kafka, B)).get(0)!).lost).toEqual([]);

    // The Java consumer reads A up to the bad batch, every record at its acknowledged offset, and
    // nothing from it on (it retries the KAFKA_STORAGE_ERROR until its time is up).
    const java = await javaConsume({ bootstrap: broker.bootstrap, topic: A, count: 80, timeoutMs: 4000 });
    expect(java.length).toBeGreaterThan(0);
    expect(java.map((r) => r.offset)).toEqual([...Array(damage.batch.baseOffset).keys()]);
    for (const r of java) expect(r.value).toBe(a.acked.get(r.offset));

    // kafkajs: a fetch reaching it and a produce to A get KAFKA_STORAGE_ERROR.
    const fetched = await readTopicWithKafkajs(kafka, A).catch((e: unknown) => e);
    expect(kafkaErrorType(fetched) ?? String(fetched)).toMatch(/KAFKA_STORAGE_ERROR|error code 56/);
    expect(await a.send(producer)).toBe('KAFKA_STORAGE_ERROR');

    const offline = linesFrom(started).filter((l) =>
      String(l['msg']).startsWith('Took partition log offline'),
    );
    expect(offline).toHaveLength(1);
    expect(offline[0]).toMatchObject({
      level: 50,
      topic: A,
      partition: 0,
      file: damage.file,
      position: damage.batch.position,
    });
    expect(String(offline[0]['msg'])).toContain(`${damage.file} is corrupt at byte ${damage.batch.position}`);
    expect(String(offline[0]['msg'])).toContain(
      `the batch at offset ${damage.batch.baseOffset}: CRC-32C mismatch`,
    );
    process.stdout.write(
      `corrupt closed segment: the Java consumer read ${java.length} records before it; ${String(offline[0]['msg'])}\n`,
    );

    // A clean stop leaves the damage for the next start to find again; no file was cut or deleted.
    await broker.stop();
    expect(segmentFiles(broker.dataDir, A, 0)).toEqual(files);
    expect(files.map((f) => statSync(f).size)).toEqual(sizes);
  });

  it('half a batch at the end of the active segment after a SIGKILL: cut, named, nothing acknowledged lost', async () => {
    await broker.restart();
    const topic = 'torn-tail';
    await createTopic(topic);
    await connectProducer();
    const log = new SendLog(topic);
    expect(await log.sendMany(producer, 30)).toEqual([]);
    await broker.kill();
    const damage = tearActiveSegmentTail(broker.dataDir, topic, 0, 40);
    const started = await restart();
    await connectProducer();
    const records = (await readTopicWithKafkajs(kafka, topic)).get(0)!;
    expect(log.judge(records)).toEqual({ lost: [], moved: [], neverSent: [], inDoubtPresent: [] });
    expect(await log.send(producer, 'after')).toBeNull();
    expect(log.acked.get(30)).toBe('after');
    expect(batchesIn(damage.file).at(-1)!.lastOffset).toBe(30);
    const cut = linesFrom(started).find((l) => String(l['msg']).startsWith('Cut a torn write'));
    expect(cut).toMatchObject({
      topic,
      partition: 0,
      file: damage.file,
      position: damage.position,
      offset: 30,
    });
    process.stdout.write(`torn active segment: ${String(cut!['msg'])}\n`);
  });
});
