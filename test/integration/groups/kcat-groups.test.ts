/**
 * kcat's balanced consumer (`-G`, librdkafka's high-level consumer with its default assignors
 * "range,roundrobin"), unchanged: two of them share a topic's partitions, and read every record.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { decodeAssignment } from '../../../src/protocol/consumer-protocol.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';

jest.setTimeout(90_000);

if (spawnSync('kcat', ['-V']).error) {
  throw new Error('kcat is not installed: run hack/tools/kcat.sh (or apt-get install kcat)');
}

const PARTITIONS = 6;
const RECORDS = 120;
const WAIT_MS = 60_000;

let broker: TestBroker | null = null;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
  await broker?.remove();
  broker = null;
});

/** A kcat balanced consumer; `lines` collects what it prints: "partition offset value". */
function kcatMember(
  bootstrap: string,
  groupId: string,
  topic: string,
): { child: ChildProcess; lines: string[] } {
  const child = spawn(
    'kcat',
    [
      '-b',
      bootstrap,
      '-G',
      groupId,
      '-o',
      'beginning',
      '-q',
      '-u',
      '-f',
      '%p %o %s\\n',
      '-X',
      'session.timeout.ms=6000',
      topic,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  const lines: string[] = [];
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    pending += s;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    lines.push(...parts);
  });
  return { child, lines };
}

async function eventually(what: string, check: () => Promise<void> | void): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: not after ${WAIT_MS} ms`, { cause: err });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('kcat balanced consumers', () => {
  it('share the partitions between two members and read every record', async () => {
    broker = await startTestBroker({ properties: { 'group.initial.rebalance.delay.ms': '0' } });
    const topic = `kcat-${randomBytes(4).toString('hex')}`;
    const groupId = `kcat-group-${randomBytes(4).toString('hex')}`;
    const kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: 'kcat-groups',
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      await producer.send({
        topic,
        messages: Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      });
      await producer.disconnect();

      const a = kcatMember(broker.bootstrap, groupId, topic);
      const b = kcatMember(broker.bootstrap, groupId, topic);
      await eventually('two members sharing the partitions', async () => {
        const group = (await admin.describeGroups([groupId])).groups[0];
        expect(group.state).toBe('Stable');
        expect(group.protocol).toBe('range');
        expect(group.members).toHaveLength(2);
        const held = group.members.map(
          (m) =>
            decodeAssignment(m.memberAssignment).assignedPartitions.find((tp) => tp.topic === topic)
              ?.partitions ?? [],
        );
        expect(held.map((p) => p.length)).toEqual([3, 3]);
        expect(held.flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
      });
      await eventually('every record read', () => {
        const values = new Set([...a.lines, ...b.lines].map((l) => l.split(' ')[2]));
        expect(values.size).toBe(RECORDS);
      });
    } finally {
      await admin.disconnect();
    }
  });
});
