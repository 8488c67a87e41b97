/**
 * Kafka's 2013 partition over and over: a broker at random cut off from the controller and from the
 * other brokers while clients still reach it, for less and for more than the controller's session
 * timeout, then healed, six times, under an idempotent kafkajs producer (acks=all) writing to the
 * three partitions of an RF=3 topic with min.insync.replicas=2. Leaderships move away and back,
 * deposed leaders hear of it late, held fetches and AlterPartition requests arrive after the heal;
 * whatever the timing (seeded, printed), the history has nothing lost, duplicated or reordered.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { eventually } from '../../helpers/dev-cluster.ts';
import { History, summarize } from '../../fault/history.ts';
import { startProxiedDevCluster, type ProxiedDevCluster } from '../../fault/network.ts';
import { createReplicatedTopic, produceUntilStopped, random } from '../replication/support.ts';
import { readLogInto, settledPartitions, withOutput } from './support.ts';

jest.setTimeout(90_000);

let proxied: ProxiedDevCluster;
let admin: Admin;

beforeAll(async () => {
  proxied = await startProxiedDevCluster({
    brokers: 3,
    controllerLinks: true,
    properties: { 'replica.lag.time.max.ms': '2000' },
  });
  admin = proxied.cluster.kafka.admin();
  await admin.connect();
}, 120_000);

afterAll(async () => {
  await admin?.disconnect();
  await proxied?.stop();
});

const ROUNDS = 6;
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('faults > network > brokers cut off from the cluster again and again', () => {
  it('loses, duplicates and reorders nothing acknowledged', () =>
    withOutput(proxied.cluster, async () => {
      const cluster = proxied.cluster;
      const topic = random('net-churn');
      await createReplicatedTopic(admin, topic, 3);
      await settledPartitions(cluster, topic);
      const kafka = new Kafka({
        clientId: 'network-churn',
        brokers: cluster.brokers,
        logLevel: logLevel.NOTHING,
        requestTimeout: 2000,
        retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
      });
      const history = new History();
      const run = produceUntilStopped({ kafka, topic, partitions: 3, histories: [history], name: 'p' });
      const seed = Date.now() % 10_000;
      let state = seed;
      const next = (lo: number, hi: number): number => {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        return lo + (state % (hi - lo));
      };
      const timeline: string[] = [];
      try {
        await eventually(() => expect(run.acknowledged()).toBeGreaterThan(5));
        for (let i = 0; i < ROUNDS; i++) {
          const victim = next(0, 3);
          const cut = next(500, 5000);
          const healed = next(300, 2000);
          const lift = proxied.isolateFromCluster(victim);
          await wait(cut);
          lift();
          await wait(healed);
          timeline.push(`${victim}:${cut}/${healed}`);
        }
      } finally {
        proxied.heal();
        process.stdout.write(`churn (seed ${seed}): broker:cut/healed ms ${timeline.join(' ')}\n`);
      }
      const acked = run.acknowledged();
      await eventually(() => expect(run.acknowledged()).toBeGreaterThan(acked + 3), { timeoutMs: 30_000 });
      run.stop();
      await run.done;
      await eventually(
        async () => {
          for (const p of await cluster.partitions(topic)) expect([...p.isr].sort()).toEqual([0, 1, 2]);
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      await readLogInto(cluster, topic, history);
      const report = history.check();
      process.stdout.write(`${topic}: ${summarize(report)}\n`);
      expect(report.problems).toEqual([]);
    }));
});
