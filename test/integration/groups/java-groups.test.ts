/**
 * The Apache Kafka Java client's consumer (3.9), unchanged, in groups on the broker: with the
 * cooperative-sticky assignor a new member takes partitions without the others giving up theirs
 * (incremental rebalancing: two rebalances, the broker relaying each); with static membership
 * (group.instance.id) a member killed and started again within its session gets its partitions
 * back in the same generation, and the other member notices nothing.
 * Members run fixtures/GroupMember.java, compiled once into the Kafka cache.
 */
import { afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { ensureKafkaJars, javaBinary, kafkaCacheDir, REPO } from '../../helpers/apache-kafka.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';

jest.setTimeout(180_000);

const SOURCE = join(REPO, 'test/integration/groups/fixtures/GroupMember.java');
const PARTITIONS = 6;
const WAIT_MS = 60_000;
let classpath: string;

/** Compiles the member program once per source version, into the Kafka cache. */
beforeAll(async () => {
  const jars = await ensureKafkaJars();
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 16);
  const dir = join(kafkaCacheDir(), 'groups-java', hash);
  if (!existsSync(join(dir, 'GroupMember.class'))) {
    const staging = `${dir}.${process.pid}.partial`;
    mkdirSync(staging, { recursive: true });
    const javac = javaBinary().replace(/java$/, 'javac');
    await promisify(execFile)(javac, ['-nowarn', '-cp', jars, '-d', staging, SOURCE]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  }
  classpath = `${dir}:${jars}`;
}, 180_000);

interface Owned {
  partitions: number[];
  generation: number;
  memberId: string;
}

class JavaMember {
  readonly #child: ChildProcess;
  readonly #exit: Promise<unknown>;
  readonly owned: Owned[] = [];
  readonly revoked: number[][] = [];
  readonly lost: number[][] = [];
  stderr = '';

  constructor(
    bootstrap: string,
    topic: string,
    groupId: string,
    assignor: string,
    instanceId: string | null,
  ) {
    const args = [bootstrap, topic, groupId, assignor, instanceId ?? '-', '10000'];
    this.#child = spawn(javaBinary(), ['-Xmx128m', '-cp', classpath, 'GroupMember', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#exit = once(this.#child, 'exit');
    let pending = '';
    this.#child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      pending += s;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as {
          event: string;
          partitions: number[];
          generation: number;
          memberId: string;
        };
        if (e.event === 'owned')
          this.owned.push({ partitions: e.partitions, generation: e.generation, memberId: e.memberId });
        if (e.event === 'revoked') this.revoked.push(e.partitions);
        if (e.event === 'lost') this.lost.push(e.partitions);
      }
    });
    this.#child
      .stderr!.setEncoding('utf8')
      .on('data', (s: string) => (this.stderr = (this.stderr + s).slice(-4000)));
  }

  get current(): Owned | undefined {
    return this.owned.at(-1);
  }

  async kill(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGKILL');
    await this.#exit;
  }
}

let broker: TestBroker | null = null;
let admin: Admin | null = null;
const running: JavaMember[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.kill()));
  await admin?.disconnect();
  admin = null;
  await broker?.remove();
  broker = null;
});

async function setUp(): Promise<{ topic: string; groupId: string }> {
  broker = await startTestBroker({ properties: { 'group.initial.rebalance.delay.ms': '0' } });
  const kafka = new Kafka({
    brokers: [broker.bootstrap],
    clientId: 'java-groups',
    logLevel: logLevel.NOTHING,
  });
  admin = kafka.admin();
  await admin.connect();
  const topic = `java-${randomBytes(4).toString('hex')}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  return { topic, groupId: `java-group-${randomBytes(4).toString('hex')}` };
}

function member(
  topic: string,
  groupId: string,
  assignor: string,
  instanceId: string | null = null,
): JavaMember {
  const m = new JavaMember(broker!.bootstrap, topic, groupId, assignor, instanceId);
  running.push(m);
  return m;
}

async function eventually(what: string, check: () => void): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      return check();
    } catch (err) {
      if (Date.now() > deadline) {
        const logs = running.map((m) => m.stderr.slice(-1500)).join('\n---\n');
        throw new Error(`${what}: not after ${WAIT_MS} ms\n${logs}`, { cause: err });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Each member holds its share, and together every partition exactly once. */
function expectShared(members: JavaMember[], sizes: number[]): void {
  const held = members.map((m) => m.current?.partitions ?? []);
  expect(held.map((p) => p.length)).toEqual(sizes);
  expect(held.flat().sort()).toEqual(Array.from({ length: PARTITIONS }, (_, p) => p));
}

describe('Java consumer groups', () => {
  it('rebalances incrementally with cooperative-sticky: the first member keeps half throughout', async () => {
    const { topic, groupId } = await setUp();
    const a = member(topic, groupId, 'cooperative-sticky');
    await eventually('the first member owns everything', () => expectShared([a], [PARTITIONS]));
    const ownedBefore = a.owned.length;
    const b = member(topic, groupId, 'cooperative-sticky');
    await eventually('the partitions shared', () => expectShared([a, b], [3, 3]));
    // Only the three partitions that moved were revoked, and `a` never held fewer than its three.
    expect(a.revoked.flat().sort()).toEqual(
      [0, 1, 2, 3, 4, 5].filter((p) => !a.current!.partitions.includes(p)),
    );
    expect(a.lost).toEqual([]);
    for (const o of a.owned.slice(ownedBefore)) expect(o.partitions.length).toBeGreaterThanOrEqual(3);
    const group = (await admin!.describeGroups([groupId])).groups[0];
    expect(group).toMatchObject({ state: 'Stable', protocol: 'cooperative-sticky' });
  });

  it('gives a restarted static member its partitions back in the same generation, without a rebalance', async () => {
    const { topic, groupId } = await setUp();
    const a = member(topic, groupId, 'range', 'pod-a');
    const b = member(topic, groupId, 'range', 'pod-b');
    await eventually('the partitions shared', () => {
      expectShared([a, b], [3, 3]);
      expect(a.current!.generation).toBe(b.current!.generation);
    });
    const before = { a: a.current!, b: b.current! };
    const revokedBefore = a.revoked.length;

    await b.kill(); // no LeaveGroup: a static member's session outlives a quick restart
    const b2 = member(topic, groupId, 'range', 'pod-b');
    await eventually('the restarted member back', () =>
      expect(b2.current?.partitions).toEqual(before.b.partitions),
    );
    expect(b2.current!.generation).toBe(before.b.generation);
    expect(b2.current!.memberId).not.toBe(before.b.memberId);
    // `a` went on as it was: same generation, nothing revoked.
    expect(a.current).toEqual(before.a);
    expect(a.revoked.length).toBe(revokedBefore);
    const group = (await admin!.describeGroups([groupId])).groups[0];
    expect(group.state).toBe('Stable');
    expect(group.members.map((m) => m.memberId).sort()).toEqual(
      [before.a.memberId, b2.current!.memberId].sort(),
    );
  });
});
