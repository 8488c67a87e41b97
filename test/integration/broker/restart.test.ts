/**
 * A broker restart in the middle of a stream — SIGTERM, and SIGKILL — loses no acknowledged record,
 * and the clients carry on by themselves: an idempotent kafkajs producer (acks=all) keeps sending
 * through the outage, and a kcat consumer started before it keeps reading after it, without
 * duplicates or gaps.
 *
 * SIGKILL of the process is not a power cut: the page cache keeps what was written, so with the
 * default flush policy (log.flush.interval.ms=1000) nothing acknowledged may be lost, and exactly
 * that is asserted. Losing the page cache is the storage crash test's business
 * (test/integration/storage/crash.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Admin } from 'kafkajs';
import { spawnBroker, type BrokerProcess } from '../../helpers/broker-process.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';

// Broker processes and real clients: seconds, not the default five.
jest.setTimeout(60_000);

const PARTITIONS = 3;
const SENDS = 40;
const PER_SEND = 12;
/** The send after which the broker goes down (the producer does not wait for it to come back). */
const KILL_AFTER_SEND = 12;

if (spawnSync('kcat', ['-V']).error) {
  throw new Error('kcat is not installed: run hack/tools/kcat.sh (or apt-get install kcat)');
}

let broker: BrokerProcess;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  broker = await spawnBroker();
  kafka = new Kafka({
    clientId: 'restart-test',
    brokers: [broker.bootstrap],
    logLevel: logLevel.NOTHING,
    // Enough patience for a restart (about two seconds), not for a broker that never returns.
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.remove();
});

/** kcat tailing a topic from the beginning (no group, no -e): a consumer that must ride out the restart. */
class Tail {
  readonly #child: ChildProcess;
  readonly lines: string[] = [];
  #err = '';
  #waiter: (() => void) | null = null;

  constructor(topic: string) {
    this.#child = spawn(
      'kcat',
      // -E: kcat gives up on "all brokers down" by default, where a consumer application would
      // not; -u: each record is written as it comes, not when a stdio buffer fills.
      ['-b', broker.bootstrap, '-q', '-E', '-u', '-C', '-t', topic, '-o', 'beginning', '-f', '%p %o %h\\n'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let partial = '';
    this.#child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      this.lines.push(...lines);
      this.#waiter?.();
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.#err += s));
  }

  /** Resolves once `n` records have arrived; rejects after `timeoutMs` with what did. */
  async waitFor(n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`kcat consumed ${this.lines.length} of ${n} records; stderr:\n${this.#err}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGKILL');
    await exited;
  }
}

interface Acked {
  partition: number;
  offset: bigint;
  seq: number;
}

/**
 * Sends SENDS batches of PER_SEND keyed records, one send at a time, and takes the broker down with
 * `outage` after send KILL_AFTER_SEND without waiting for it; returns what was acknowledged, with
 * each record's offset (the send's base offset for its partition plus its place in that partition).
 */
async function produceThroughOutage(
  topic: string,
  outage: () => Promise<void>,
): Promise<{ acked: Acked[]; failed: string[]; outageDone: Promise<void> }> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const acked: Acked[] = [];
  const failed: string[] = [];
  let outageDone: Promise<void> = Promise.resolve();
  try {
    for (let s = 0; s < SENDS; s++) {
      if (s === KILL_AFTER_SEND) outageDone = outage();
      const messages = Array.from({ length: PER_SEND }, (_, j) => {
        const seq = s * PER_SEND + j;
        return { seq, partition: seq % PARTITIONS, value: `record ${seq}`, headers: { seq: String(seq) } };
      });
      try {
        const result = await producer.send({ topic, acks: -1, messages });
        for (const meta of result) {
          const inPartition = messages.filter((m) => m.partition === meta.partition);
          inPartition.forEach((m, n) =>
            acked.push({ partition: m.partition, offset: BigInt(meta.baseOffset!) + BigInt(n), seq: m.seq }),
          );
        }
      } catch (err) {
        failed.push(`send ${s}: ${(err as Error).message}`);
      }
    }
  } finally {
    await producer.disconnect();
  }
  return { acked, failed, outageDone };
}

async function checkNothingLost(topic: string, acked: Acked[], tail: Tail): Promise<void> {
  // Every acknowledged record sits at the offset it was acknowledged at, once, in send order.
  const log = await readTopicWithKafkajs(kafka, topic);
  const stored = new Map<string, number>();
  for (const records of log.values()) {
    for (const r of records) stored.set(`${r.partition}@${r.offset}`, Number(String(r.headers['seq'])));
  }
  const missing = acked.filter((a) => stored.get(`${a.partition}@${a.offset}`) !== a.seq);
  expect(missing).toEqual([]);
  const seqs = [...stored.values()];
  expect(new Set(seqs).size).toBe(seqs.length);
  expect(stored.size).toBe(acked.length);

  // The consumer that lived through the restart saw exactly the log, each record once.
  await tail.waitFor(stored.size, 30_000);
  const consumed = tail.lines.map((line) => {
    const [p, o, h] = line.split(' ');
    return `${p}@${o}=${h}`;
  });
  const expected = [...stored].map(([at, seq]) => `${at}=seq=${seq}`);
  expect([...consumed].sort()).toEqual([...expected].sort());
}

describe('broker > restart in the middle of a stream', () => {
  it.each([
    ['SIGTERM', () => broker.restart()],
    [
      'SIGKILL',
      async () => {
        await broker.kill();
        await broker.restart();
      },
    ],
  ])(
    'after %s, no acknowledged record is lost and producer and consumer carry on',
    async (_signal, outage) => {
      const topic = `restart-${randomBytes(4).toString('hex')}`;
      await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
      const tail = new Tail(topic);
      try {
        const { acked, failed, outageDone } = await produceThroughOutage(topic, outage);
        await outageDone;
        // A clean stop does not wait out its deadline for connections that are only idle or polling.
        expect(broker.output()).not.toContain('Cut connections still busy at shutdown');
        // Every send got through in the end: the producer waited out the restart by itself.
        expect(failed).toEqual([]);
        expect(acked).toHaveLength(SENDS * PER_SEND);
        await checkNothingLost(topic, acked, tail);
      } finally {
        await tail.stop();
      }
    },
  );
});
