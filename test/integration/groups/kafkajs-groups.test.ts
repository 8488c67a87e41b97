/**
 * kafkajs consumer groups, unchanged, against the broker: members come and go (leaving, or killed
 * without leaving and expired after their session timeout) and every partition must always end up
 * with exactly one live member; consumers that commit after processing lose nothing when killed;
 * and consumers started again — after their own restart or the broker's — resume from what they
 * committed. Members run in their own processes (fixtures/kafkajs-member.ts) so they can be killed.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { decodeAssignment } from '../../../src/protocol/consumer-protocol.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';

jest.setTimeout(180_000);

const PARTITIONS = 6;
const NODE = process.execPath;
const MEMBER = join(process.cwd(), 'test/integration/groups/fixtures/kafkajs-member.ts');
const WAIT_MS = 60_000;
/** No initial delay, and sessions as short as 3 s (members use that): crashes are noticed quickly. */
const GROUP_PROPERTIES = { 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '1000' };

const random = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

interface Consumed {
  partition: number;
  offset: number;
  value: string | null;
}

/** A kafkajs consumer in a child process, and what it has reported. */
class Member {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<unknown>;
  memberId: string | null = null;
  partitions: number[] | null = null;
  readonly records: Consumed[] = [];
  #stderr = '';

  constructor(bootstrap: string, topic: string, groupId: string, name: string, options: object = {}) {
    this.name = name;
    // kafkajs 2.2.4 sets a negative timer on Node 24 (tulios/kafkajs#1751): harmless, and noisy.
    const args = ['--disable-warning=TimeoutNegativeWarning', MEMBER, bootstrap, topic, groupId, name];
    this.#child = spawn(NODE, [...args, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#exited = once(this.#child, 'exit');
    let pending = '';
    this.#child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = JSON.parse(pending.slice(0, nl)) as { event: string } & Record<string, unknown>;
        pending = pending.slice(nl + 1);
        if (line.event === 'assigned') {
          this.memberId = line.memberId as string;
          this.partitions = [...(line.partitions as number[])].sort((a, b) => a - b);
        } else if (line.event === 'record') {
          this.records.push(line as unknown as Consumed);
        }
      }
    });
    this.#child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.#stderr += s));
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** SIGTERM: kafkajs disconnects, which sends LeaveGroup. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.#child.kill('SIGTERM');
    await this.#exited;
  }

  /** SIGKILL: gone without a word; the group notices only when its session times out. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    this.#child.kill('SIGKILL');
    await this.#exited;
  }

  get stderr(): string {
    return this.#stderr;
  }
}

let broker: TestBroker | null = null;
let members: Member[] = [];
const admins: Admin[] = [];

afterEach(async () => {
  await Promise.all(members.map((m) => m.kill()));
  members = [];
  await Promise.all(admins.splice(0).map((a) => a.disconnect()));
  await broker?.remove();
  broker = null;
});

async function setUp(properties: Record<string, string> = {}): Promise<{ kafka: Kafka; admin: Admin }> {
  broker = await startTestBroker({ properties: { ...GROUP_PROPERTIES, ...properties } });
  const kafka = new Kafka({
    brokers: [broker.bootstrap],
    clientId: 'groups-test',
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  admins.push(admin);
  return { kafka, admin };
}

async function produce(kafka: Kafka, topic: string, from: number, count: number): Promise<void> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    const messages = Array.from({ length: count }, (_, i) => ({
      key: `k${from + i}`,
      value: `v${from + i}`,
    }));
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Polls `check` (which throws while the condition does not hold) until it passes. */
async function eventually(what: string, check: () => Promise<void> | void): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        const errs = members.map((m) => `${m.name}: ${m.stderr.slice(-500)}`).join('\n');
        throw new Error(`${what}: not after ${WAIT_MS} ms: ${(err as Error).message}\n${errs}`, {
          cause: err,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * The group is Stable with exactly the live members, each holding what the broker says it holds,
 * and every partition held by exactly one of them.
 */
async function expectBalanced(admin: Admin, groupId: string, topic: string, live: Member[]): Promise<void> {
  await eventually(`${groupId} balanced over ${live.map((m) => m.name).join(', ')}`, async () => {
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    expect(group.state).toBe('Stable');
    const described = new Map(
      group.members.map((m) => {
        const assignment = decodeAssignment(m.memberAssignment);
        const mine = assignment.assignedPartitions.find((tp) => tp.topic === topic)?.partitions ?? [];
        return [m.memberId, [...mine].sort((a, b) => a - b)];
      }),
    );
    expect([...described.keys()].sort()).toEqual(live.map((m) => m.memberId).sort());
    for (const m of live) expect(m.partitions).toEqual(described.get(m.memberId!));
    const all = [...described.values()].flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
  });
}

function start(topic: string, groupId: string, name: string, options: object = {}): Member {
  const m = new Member(broker!.bootstrap, topic, groupId, name, options);
  members.push(m);
  return m;
}

describe('kafkajs consumer groups', () => {
  it('gives every partition to exactly one live member as 1 to 4 members join, leave and crash', async () => {
    const { admin } = await setUp();
    const topic = random('balance');
    const groupId = random('group');
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const live: Member[] = [];
    const join = async (name: string): Promise<void> => {
      live.push(start(topic, groupId, name));
      await expectBalanced(admin, groupId, topic, live);
    };
    const leave = async (m: Member, how: 'stop' | 'kill'): Promise<void> => {
      live.splice(live.indexOf(m), 1);
      await (how === 'stop' ? m.stop() : m.kill());
      await expectBalanced(admin, groupId, topic, live);
    };

    await join('m1');
    await join('m2');
    await join('m3');
    await join('m4');
    expect(live.map((m) => m.partitions!.length).sort()).toEqual([1, 1, 2, 2]);
    await leave(live[1], 'stop');
    await leave(live[1], 'kill'); // m3 crashes: gone after its 3 s session
    await join('m5');
    await leave(live[0], 'kill'); // m1, the first member and so the leader, crashes
    await leave(live[0], 'stop');
    expect(live.map((m) => m.name)).toEqual(['m5']);
  });

  it('delivers every record at least once to consumers that commit after processing and get killed', async () => {
    const { kafka, admin } = await setUp();
    const topic = random('at-least-once');
    const groupId = random('group');
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const total = 600;
    await produce(kafka, topic, 0, total);
    const seen = (): Set<string | null> => new Set(members.flatMap((m) => m.records.map((r) => r.value)));

    const first = [
      start(topic, groupId, 'c1', { commit: 'each' }),
      start(topic, groupId, 'c2', { commit: 'each' }),
    ];
    await eventually('some records processed', () => expect(seen().size).toBeGreaterThan(100));
    await first[0].kill();
    start(topic, groupId, 'c3', { commit: 'each' });
    await eventually('half the records processed', () => expect(seen().size).toBeGreaterThan(total / 2));
    await first[1].kill();
    start(topic, groupId, 'c4', { commit: 'each' });
    await eventually('every record processed', () => expect(seen().size).toBe(total));

    // Every offset committed up to the end of each partition.
    const ends = await admin.fetchTopicOffsets(topic);
    await eventually('offsets committed to the end', async () => {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const byPartition = new Map(committed.partitions.map((p) => [p.partition, p.offset]));
      for (const e of ends) expect(byPartition.get(e.partition)).toBe(e.high);
    });

    // Everyone stops; later records go to a new consumer of the group, and nothing before them does.
    await Promise.all(members.map((m) => m.stop()));
    await produce(kafka, topic, total, 60);
    const after = start(topic, groupId, 'c5', { commit: 'each' });
    await eventually('the new records processed', () =>
      expect(new Set(after.records.map((r) => r.value)).size).toBe(60),
    );
    expect(after.records.every((r) => Number(r.value!.slice(1)) >= total)).toBe(true);
  });

  it('resumes from the committed offsets after the broker restarts', async () => {
    const { kafka, admin } = await setUp();
    const topic = random('restart');
    const groupId = random('group');
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    await produce(kafka, topic, 0, 120);
    const first = start(topic, groupId, 'before', { commit: 'each' });
    await eventually('every record processed', () =>
      expect(new Set(first.records.map((r) => r.value)).size).toBe(120),
    );
    await first.stop();
    const [before] = await admin.fetchOffsets({ groupId, topics: [topic] });

    const dataDir = broker!.dataDir;
    await Promise.all(admins.splice(0).map((a) => a.disconnect()));
    await broker!.stop();
    broker = await startTestBroker({ dataDir, properties: GROUP_PROPERTIES });
    const kafka2 = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'groups-test',
      logLevel: logLevel.NOTHING,
    });
    const admin2 = kafka2.admin();
    await admin2.connect();
    admins.push(admin2);

    // The restarted broker answers COORDINATOR_LOAD_IN_PROGRESS until it has read the offsets
    // partition back, as Kafka does; kafkajs's admin does not retry that error.
    await eventually('the committed offsets read back after the restart', async () => {
      const [after] = await admin2.fetchOffsets({ groupId, topics: [topic] });
      expect(after!.partitions.sort((a, b) => a.partition - b.partition)).toEqual(
        before!.partitions.sort((a, b) => a.partition - b.partition),
      );
    });
    expect((await admin2.describeGroups([groupId])).groups[0]).toMatchObject({
      state: 'Empty',
      protocolType: 'consumer',
    });
    await produce(kafka2, topic, 120, 30);
    const second = start(topic, groupId, 'after', { commit: 'each' });
    await eventually('the new records processed', () =>
      expect(new Set(second.records.map((r) => r.value)).size).toBe(30),
    );
    expect(second.records.every((r) => Number(r.value!.slice(1)) >= 120)).toBe(true);
  });
});
