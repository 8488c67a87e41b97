/**
 * The kafkajs consumer-group recorder (test/fault/kafkajs-recorder.ts) on real brokers — Tributary
 * in-process and a single-node Apache Kafka 3.9, judged alike: two kafkajs consumers of one group
 * share a 2-partition topic while an idempotent producer writes to it; the second joins (a rebalance)
 * and later leaves (another, handing its partition back from its last commit). The history then holds
 * every member's assignments with their generations, the records each consumed and the commits, and
 * the checker finds nothing wrong in them; a seek back within a generation is found.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { History, summarize } from '../../fault/history.ts';
import { recordConsumerGroup, type ConsumerRecorder } from '../../fault/kafkajs-recorder.ts';
import { reportTable } from '../../fault/table.ts';
import { startKafka } from '../../helpers/apache-kafka.ts';
import { startTestBroker } from '../../helpers/broker.ts';
import { eventually } from '../../helpers/dev-cluster.ts';

jest.setTimeout(30_000);

const random = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

interface Server {
  bootstrap: string;
  stop(): Promise<void>;
}

const SERVERS: Array<{ name: string; start(): Promise<Server> }> = [
  {
    name: 'Tributary',
    async start() {
      const broker = await startTestBroker({ properties: { 'group.initial.rebalance.delay.ms': '0' } });
      return { bootstrap: broker.bootstrap, stop: () => broker.remove() };
    },
  },
  { name: 'Apache Kafka', start: () => startKafka({ heapMb: 512 }) },
];

/** The client of the server the running describe block started. */
let kafka: Kafka;

/**
 * Sends `count` records (ten per send, one partition per send, alternating between `partitions`),
 * recording each into `history`.
 */
async function produce(o: {
  producer: Producer;
  topic: string;
  history: History;
  from: number;
  count: number;
  partitions: number;
}) {
  const { producer, topic, history, from, count } = o;
  for (let first = from; first < from + count; first += 10) {
    const partition = (first / 10) % o.partitions;
    const messages = Array.from({ length: 10 }, (_, n) => {
      const id = `r${first + n}`;
      history.send({ id, producer: 'kafkajs', seq: first + n, partition });
      return { partition, value: id, headers: { id } };
    });
    const [meta] = await producer.send({ topic, acks: -1, messages });
    messages.forEach((m, n) => history.ack(m.headers.id, partition, BigInt(meta!.baseOffset!) + BigInt(n)));
  }
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
}

async function member(group: string, topic: string, history: History) {
  const consumer = kafka.consumer({ groupId: group, heartbeatInterval: 200, maxWaitTimeInMs: 100 });
  const recorder = recordConsumerGroup({ consumer, history, group, topic });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommitThreshold: 15,
    eachMessage: async ({ partition, message }) => recorder.consumed(partition, message),
  });
  return { consumer, recorder };
}

describe.each(SERVERS)('fault > kafkajs consumer-group recorder on $name', ({ name, start }) => {
  let server: Server | undefined;

  beforeAll(async () => {
    server = await start();
    kafka = new Kafka({ clientId: 'recorder-test', brokers: [server.bootstrap], logLevel: logLevel.NOTHING });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it("records two members' assignments, consumed records and commits across two rebalances, all clean", async () => {
    const topic = random('recorded');
    const group = random('group');
    await createTopic(topic, 2);

    const history = new History();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const members: Array<{ consumer: Consumer; recorder: ConsumerRecorder }> = [];
    const consumedAll = () =>
      eventually(
        () => {
          const lost = history.check().problems.filter((p) => p.kind === 'lost');
          if (lost.length > 0) throw new Error(`${lost.length} records yet to be consumed`);
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
    try {
      members.push(await member(group, topic, history));
      await produce({ producer, topic, history, from: 0, count: 100, partitions: 2 });
      await consumedAll();

      // A second member joins: the group rebalances and each takes one partition.
      members.push(await member(group, topic, history));
      await eventually(() => expect(members[0]!.recorder.joins()).toBe(2), { timeoutMs: 15_000 });
      await produce({ producer, topic, history, from: 100, count: 200, partitions: 2 });
      await consumedAll();

      // It leaves: the first member takes its partition back, from the group's last commit.
      await members[1]!.consumer.disconnect();
      members[1]!.recorder.stop();
      await eventually(() => expect(members[0]!.recorder.joins()).toBe(3), { timeoutMs: 15_000 });
      await produce({ producer, topic, history, from: 300, count: 100, partitions: 2 });
      await consumedAll();
    } finally {
      await producer.disconnect();
      for (const m of members) {
        await m.consumer.disconnect();
        m.recorder.stop();
      }
    }

    const report = history.check();
    process.stdout.write(`${summarize(report)}\n${reportTable([{ name, report }])}`);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ sent: 400, acknowledged: 400, read: 400 });
    expect(report.consumed).toBeGreaterThanOrEqual(400);
    expect(report.commits).toBeGreaterThan(0);

    // Each join recorded with the generation its heartbeats named: the first member alone with both
    // partitions, then the two sharing them in one generation, then the first alone again.
    const [a, b] = members.map((m) => m.recorder.member());
    const assignments = history.recorded().assignments.map((x) => ({
      member: x.member,
      generation: x.generation,
      partitions: [...x.partitions].sort(),
    }));
    expect(assignments).toHaveLength(4);
    const [first, shared] = [assignments[0]!.generation!, assignments[1]!.generation!];
    expect(assignments).toEqual(
      expect.arrayContaining([
        { member: a, generation: first, partitions: [0, 1] },
        { member: a, generation: shared, partitions: [expect.any(Number)] },
        { member: b, generation: shared, partitions: [expect.any(Number)] },
        { member: a, generation: expect.any(Number), partitions: [0, 1] },
      ]),
    );
    expect(shared).toBeGreaterThan(first);
    const commits = history.recorded().commits;
    expect(commits.every((c) => c.generation !== undefined && (c.member === a || c.member === b))).toBe(true);
  });

  it('reports a member sent back within its generation (a seek) as going back', async () => {
    const topic = random('rewound');
    const group = random('group');
    const history = new History();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await createTopic(topic, 1);
    const { consumer, recorder } = await member(group, topic, history);
    try {
      await produce({ producer, topic, history, from: 0, count: 20, partitions: 1 });
      const consumed = (n: number) => () => expect(history.check().consumed).toBeGreaterThanOrEqual(n);
      await eventually(consumed(20), { timeoutMs: 15_000 });
      consumer.seek({ topic, partition: 0, offset: '0' });
      await eventually(consumed(30), { timeoutMs: 15_000 });
    } finally {
      await producer.disconnect();
      await consumer.disconnect();
      recorder.stop();
    }
    const kinds = new Set(history.check().problems.map((p) => p.kind));
    // kafkajs commits the offset it seeks to, which takes the group's committed offset back too.
    expect([...kinds].sort()).toEqual(['commit-regression', 'consumer-backwards']);
  });
});
