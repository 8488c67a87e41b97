/**
 * Kafka's own `kafka-leader-election` (LeaderElectionCommand, 3.9 jars) against `tributary dev
 * --brokers 3`: a broker killed and restarted leaves its partitions led by others (with
 * auto.leader.rebalance.enable=false the controller never moves a healthy leader on its own; see
 * leader-rebalance.test.ts for when it does), and a PREFERRED election over all partitions moves them
 * back; an UNCLEAN election of a partition that has a leader is answered ELECTION_NOT_NEEDED, which
 * the tool reports as "Valid replica already elected"; a JSON file naming an unknown partition makes the tool fail for that one.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { ensureKafkaJars, runJavaClass } from '../../helpers/apache-kafka.ts';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { createReplicatedTopic, random } from './support.ts';

jest.setTimeout(240_000);

const LEADER_ELECTION = 'org.apache.kafka.tools.LeaderElectionCommand';

let cluster: DevCluster;
let admin: Admin;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'tributary-election-'));
  await ensureKafkaJars();
  cluster = await startDevCluster({ brokers: 3, properties: { 'auto.leader.rebalance.enable': 'false' } });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function leaderElection(args: string[], allowFailure = false) {
  return runJavaClass(LEADER_ELECTION, ['--bootstrap-server', cluster.bootstrap, ...args], { allowFailure });
}

describe('replication > kafka-leader-election', () => {
  it('PREFERRED over all partitions moves leadership back to the preferred replicas after a broker restart', async () => {
    const topic = random('elect-preferred');
    await createReplicatedTopic(admin, topic, 3);
    const producer = cluster.kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [0, 1, 2].flatMap((partition) => [{ partition, value: `before-${partition}` }]),
    });
    const before = await cluster.partitions(topic);
    const preferredOfZero = before.filter((p) => p.replicas[0] === 0).map((p) => p.partition);
    expect(preferredOfZero.length).toBeGreaterThan(0);

    await cluster.kill(0, 'SIGKILL');
    await cluster.waitReady(0);
    // Back in every ISR, yet leading none of its preferred partitions: nothing moves a live leader.
    const drifted = await eventually(async () => {
      const now = await cluster.partitions(topic);
      for (const p of now) expect(p.isr.sort()).toEqual([0, 1, 2]);
      return now;
    });
    for (const p of drifted.filter((q) => preferredOfZero.includes(q.partition)))
      expect(p.leader).not.toBe(0);

    const { stdout } = await leaderElection(['--election-type', 'PREFERRED', '--all-topic-partitions']);
    expect(stdout).toContain('Successfully completed leader election (PREFERRED) for partitions');
    for (const partition of preferredOfZero) expect(stdout).toContain(`${topic}-${partition}`);

    await eventually(async () => {
      for (const p of await cluster.partitions(topic)) expect(p.leader).toBe(p.replicas[0]);
    });
    // The partitions still take writes at their preferred leaders.
    await producer.send({
      topic,
      acks: -1,
      messages: preferredOfZero.map((partition) => ({ partition, value: `after-${partition}` })),
    });
    await producer.disconnect();

    // A second run finds nothing to do and says nothing (Kafka leaves those partitions out).
    const again = await leaderElection(['--election-type', 'PREFERRED', '--all-topic-partitions']);
    expect(again.stdout).not.toContain(topic);
  });

  it('UNCLEAN of a partition that has a leader is not needed, and the leader stays', async () => {
    const topic = random('elect-unclean');
    await createReplicatedTopic(admin, topic, 1);
    const before = await cluster.partitions(topic);

    const { stdout } = await leaderElection([
      '--election-type',
      'UNCLEAN',
      '--topic',
      topic,
      '--partition',
      '0',
    ]);
    expect(stdout).toContain(`Valid replica already elected for partitions ${topic}-0`);
    expect(await cluster.partitions(topic)).toEqual(before);
  });

  it('a JSON file naming an unknown partition fails for that one and answers the others', async () => {
    const topic = random('elect-json');
    await createReplicatedTopic(admin, topic, 1);
    const file = join(scratch, `${topic}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        partitions: [
          { topic, partition: 0 },
          { topic, partition: 5 },
        ],
      }),
    );
    const r = await leaderElection(['--election-type', 'PREFERRED', '--path-to-json-file', file], true);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain(`Valid replica already elected for partitions ${topic}-0`);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`${topic}-5: .*UnknownTopicOrPartitionException`));
  });
});
