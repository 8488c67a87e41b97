/**
 * Kafka's own command-line tools (3.9 jars, hack/kafka/fetch.sh) against `tributary dev --brokers 3`,
 * as an operator would use them on a replicated cluster: kafka-topics creates an RF=3 topic and
 * describes its Leader, Replicas and Isr over all three brokers; DescribeCluster lists the three; the
 * console producer writes with acks=all; the console consumer reads in a group, which
 * kafka-consumer-groups then describes as caught up on every partition.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { ensureKafkaJars, javaBinary, REPO, runJavaClass } from '../../helpers/apache-kafka.ts';
import { startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';
import { random } from './support.ts';

jest.setTimeout(240_000);

const TOPIC_COMMAND = 'org.apache.kafka.tools.TopicCommand';
const CONSOLE_PRODUCER = 'kafka.tools.ConsoleProducer';
const CONSOLE_CONSUMER = 'org.apache.kafka.tools.consumer.ConsoleConsumer';
const GROUP_COMMAND = 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand';

let cluster: DevCluster;
let admin: Admin;

beforeAll(async () => {
  await ensureKafkaJars();
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

async function tool(main: string, args: string[]): Promise<string> {
  return (await runJavaClass(main, ['--bootstrap-server', cluster.bootstrap, ...args])).stdout;
}

/** A tool fed `input` on its standard input (runJavaClass gives none). */
async function toolWithInput(main: string, args: string[], input: string): Promise<void> {
  const child = spawn(
    javaBinary(),
    [
      '-Xmx256m',
      `-Dlog4j.configuration=file:${join(REPO, 'hack/kafka/log4j-tools.properties')}`,
      '-cp',
      await ensureKafkaJars(),
      main,
      ...args,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.resume();
  child.stdin.end(input);
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`${main} exited with ${code}:\n${stderr}`);
}

describe('replication > Kafka tools on a 3-broker cluster', () => {
  it('kafka-topics describes an RF=3 topic with its leader, replicas and ISR on all three brokers', async () => {
    const topic = random('tools-rf3');
    const created = await tool(TOPIC_COMMAND, [
      '--create',
      '--topic',
      topic,
      '--partitions',
      '3',
      '--replication-factor',
      '3',
      '--config',
      'min.insync.replicas=2',
    ]);
    expect(created).toContain(`Created topic ${topic}.`);

    const described = await tool(TOPIC_COMMAND, ['--describe', '--topic', topic]);
    expect(described).toMatch(
      new RegExp(`Topic: ${topic}\\tTopicId: \\S+\\tPartitionCount: 3\\tReplicationFactor: 3\\t`),
    );
    expect(described).toContain('min.insync.replicas=2');
    const rows = [
      ...described.matchAll(/Partition: (\d+)\tLeader: (-?\d+)\tReplicas: ([\d,]+)\tIsr: ([\d,]*)/g),
    ];
    expect(rows.map((r) => Number(r[1])).sort()).toEqual([0, 1, 2]);
    for (const [, , leader, replicas, isr] of rows) {
      const replicaIds = replicas!.split(',').map(Number);
      expect([...replicaIds].sort()).toEqual([0, 1, 2]);
      expect(isr!.split(',').map(Number).sort()).toEqual([0, 1, 2]);
      expect(replicaIds).toContain(Number(leader));
    }
    // Leaders are spread: each broker leads one of the three partitions.
    expect(rows.map((r) => Number(r[2])).sort()).toEqual([0, 1, 2]);
  });

  it('DescribeCluster lists the three brokers at their addresses', async () => {
    const { brokers } = await admin.describeCluster();
    expect(brokers.map((b) => `${b.nodeId}@${b.host}:${b.port}`).sort()).toEqual(
      [0, 1, 2].map((n) => `${n}@127.0.0.1:${cluster.port(n)}`).sort(),
    );
  });

  it('the console producer writes with acks=all and kafka-consumer-groups describes a caught-up group', async () => {
    const topic = random('tools-console');
    const group = random('tools-group');
    await tool(TOPIC_COMMAND, [
      '--create',
      '--topic',
      topic,
      '--partitions',
      '3',
      '--replication-factor',
      '3',
    ]);
    const lines = Array.from({ length: 60 }, (_, i) => `line-${i}`);
    await toolWithInput(
      CONSOLE_PRODUCER,
      ['--bootstrap-server', cluster.bootstrap, '--topic', topic, '--request-required-acks', 'all'],
      `${lines.join('\n')}\n`,
    );
    const log = await readTopicWithKafkajs(cluster.kafka, topic);
    const stored = [...log.values()].flat().map((r) => String(r.value));
    expect(stored.sort()).toEqual([...lines].sort());

    const consumed = await tool(CONSOLE_CONSUMER, [
      '--topic',
      topic,
      '--group',
      group,
      '--from-beginning',
      '--max-messages',
      String(lines.length),
      '--timeout-ms',
      '60000',
    ]);
    expect(consumed.trim().split('\n').sort()).toEqual([...lines].sort());

    const described = await tool(GROUP_COMMAND, ['--describe', '--group', group]);
    const rows = described
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((cells) => cells[0] === group && cells[1] === topic);
    expect(rows.map((cells) => Number(cells[2])).sort()).toEqual([0, 1, 2]);
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG …
    for (const cells of rows) {
      expect(cells[3]).toBe(cells[4]);
      expect(cells[5]).toBe('0');
    }
    const total = rows.reduce((sum, cells) => sum + Number(cells[4]), 0);
    expect(total).toBe(lines.length);
  });
});
