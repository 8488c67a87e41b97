/**
 * Kafka's own `kafka-reassign-partitions` (ReassignPartitionsCommand, 3.9 jars) against `tributary
 * dev --brokers 3`: an RF=2 partition with data on brokers [0, 1] moves to [1, 2] with `--execute`;
 * `--verify` reports it complete once broker 2 has caught up, after which Metadata shows replicas
 * [1, 2] led by 1, the records are read from there, broker 2's log is byte-identical to broker 1's and
 * broker 0 has deleted its own. A reassignment whose new replica is stopped (SIGSTOP) stays in
 * progress: `--list` and `--verify` show it, and `--cancel` takes the partition back.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { AlterPartitionReassignmentsResponse } from '../../../src/protocol/messages/alter-partition-reassignments-response.ts';
import { ensureKafkaJars, runJavaClass } from '../../helpers/apache-kafka.ts';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { random, segmentBytes } from './support.ts';

jest.setTimeout(240_000);

const REASSIGN = 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand';

let cluster: DevCluster;
let admin: Admin;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'tributary-reassign-'));
  await ensureKafkaJars();
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function reassign(args: string[], o: { bootstrap?: string; allowFailure?: boolean } = {}) {
  return runJavaClass(REASSIGN, ['--bootstrap-server', o.bootstrap ?? cluster.bootstrap, ...args], {
    allowFailure: o.allowFailure,
  });
}

/** A reassignment file moving partition 0 of `topic` to `replicas`. */
function planFile(topic: string, replicas: number[]): string {
  const file = join(scratch, `${topic}.json`);
  writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas }] }));
  return file;
}

async function topicOn(topic: string, replicas: number[], records: number): Promise<string[]> {
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic, replicaAssignment: [{ partition: 0, replicas }] }],
  });
  const values = Array.from({ length: records }, (_, i) => `record-${i}`);
  const producer = cluster.kafka.producer();
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ partition: 0, value })) });
  await producer.disconnect();
  return values;
}

async function readAll(topic: string, count: number): Promise<string[]> {
  const consumer = cluster.kafka.consumer({ groupId: random('reassign-reader') });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  try {
    await eventually(() => expect(seen.length).toBe(count), { timeoutMs: 30_000 });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('replication > kafka-reassign-partitions', () => {
  it('moves a partition from [0, 1] to [1, 2]: the new replica catches up, the old one leaves', async () => {
    const topic = random('reassign-move');
    const values = await topicOn(topic, [0, 1], 50);
    const file = planFile(topic, [1, 2]);

    const executed = await reassign(['--execute', '--reassignment-json-file', file]);
    expect(executed.stdout).toContain('Successfully started partition reassignment');

    const verified = await eventually(
      async () => {
        const { stdout } = await reassign(['--verify', '--reassignment-json-file', file]);
        expect(stdout).toContain(`Reassignment of partition ${topic}-0 is completed`);
        return stdout;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(verified).not.toContain('still in progress');

    const [p] = await cluster.partitions(topic);
    expect(p).toMatchObject({ replicas: [1, 2], leader: 1 });
    expect([...p.isr].sort()).toEqual([1, 2]);
    expect(await readAll(topic, values.length)).toEqual(values);
    // Broker 2 holds the same log as broker 1; broker 0 has deleted its own.
    await eventually(() =>
      expect(segmentBytes(cluster.dataDir(2), topic, 0)).toEqual(segmentBytes(cluster.dataDir(1), topic, 0)),
    );
    expect(() => segmentBytes(cluster.dataDir(0), topic, 0)).toThrow(/no /);
    expect((await reassign(['--list'])).stdout).not.toContain(topic);
  });

  it('a reassignment to a stopped broker stays in progress: --list and --verify show it, --cancel reverts it', async () => {
    const topic = random('reassign-stuck');
    await topicOn(topic, [0, 1], 10);
    const file = planFile(topic, [1, 2]);
    // Kafka's tool refuses to execute a plan naming a broker it does not see (a fenced one), so the
    // reassignment is asked for directly, the moment broker 2 has stopped.
    await cluster.kill(2, 'SIGSTOP');
    const bootstrap = [0, 1].map((n) => `127.0.0.1:${cluster.port(n)}`).join(',');
    try {
      const client = await RawClient.connect(cluster.port(0));
      try {
        const r = await client.call<AlterPartitionReassignmentsResponse>(
          ApiKey.AlterPartitionReassignments,
          0,
          {
            timeoutMs: 30_000,
            topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas: [1, 2] }] }],
          },
        );
        expect(r.errorCode).toBe(0);
        expect(r.responses).toEqual([
          { name: topic, partitions: [{ partitionIndex: 0, errorCode: 0, errorMessage: null }] },
        ]);
      } finally {
        client.close();
      }

      const listed = await reassign(['--list'], { bootstrap });
      expect(listed.stdout).toContain(`${topic}-0: replicas: 1,2,0. adding: 2. removing: 0.`);
      const verified = await reassign(['--verify', '--reassignment-json-file', file], {
        bootstrap,
        allowFailure: true,
      });
      expect(verified.stdout).toContain(`Reassignment of partition ${topic}-0 is still in progress.`);

      // The tool clears throttles on every broker of the plan, the stopped one included: not now.
      const cancelled = await reassign(
        ['--cancel', '--preserve-throttles', '--reassignment-json-file', file],
        { bootstrap },
      );
      expect(cancelled.stdout).toContain(`Successfully cancelled partition reassignment for: ${topic}-0`);
      expect((await reassign(['--list'], { bootstrap })).stdout).not.toContain(topic);
    } finally {
      await cluster.kill(2, 'SIGCONT');
    }
    await cluster.waitReady(2);
    await eventually(async () => {
      const [p] = await cluster.partitions(topic);
      expect(p.replicas).toEqual([1, 0]);
      expect([...p.isr].sort()).toEqual([0, 1]);
    });
  });
});
