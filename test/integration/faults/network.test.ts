/**
 * Network faults under an idempotent kafkajs producer (acks=all) on RF=3 topics with
 * min.insync.replicas=2, through a proxy in front of each broker of `tributary dev --brokers 3`
 * (test/fault/network.ts), judged by the history checker:
 *
 * - the leader cut off from both followers while clients still reach it — Kafka's 2013 loss: its ISR
 *   shrinks to itself, and from then on it must acknowledge nothing (min.insync.replicas); after the
 *   heal everything acknowledged is in the log once, at its offset, in order;
 * - a one-way cut, the leader's answers to clients held: the producer's writes land and replicate
 *   but it cannot know; after the heal, idempotence leaves no duplicate and nothing acknowledged lost;
 * - a slow link to a follower: writes go on (the ISR may lose the follower, and gets it back).
 *
 * The followers' session with the controller is HTTP, not through the proxies: only Kafka traffic
 * is cut here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { eventually, type DevCluster } from '../../helpers/dev-cluster.ts';
import { History, summarize } from '../../fault/history.ts';
import { startProxiedDevCluster, type ProxiedDevCluster, type ProxySet } from '../../fault/network.ts';
import {
  createReplicatedTopic,
  metadataFrom,
  produceUntilStopped,
  random,
  segmentBytes,
} from '../replication/support.ts';
import { readLogInto, settledPartitions, withOutput } from './support.ts';

jest.setTimeout(60_000);

/** A follower out of reach is taken out of the ISR after this long (Kafka's default is 30 s). */
const LAG_MS = 2000;

let proxied: ProxiedDevCluster;
let cluster: DevCluster;
let proxies: ProxySet;
let admin: Admin;
let producerKafka: Kafka;

beforeAll(async () => {
  proxied = await startProxiedDevCluster({
    brokers: 3,
    properties: { 'replica.lag.time.max.ms': String(LAG_MS) },
  });
  ({ cluster, proxies } = proxied);
  admin = cluster.kafka.admin();
  await admin.connect();
  // Short request timeouts, so that a held answer puts a send in doubt within the test's time.
  producerKafka = new Kafka({
    clientId: 'network-faults',
    brokers: cluster.brokers,
    logLevel: logLevel.NOTHING,
    requestTimeout: 2000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}, 120_000);

afterAll(async () => {
  proxies?.heal();
  await admin?.disconnect();
  await proxied?.stop();
});

const runs: Array<{ stop(): void; done: Promise<void> }> = [];
afterEach(async () => {
  proxies.heal();
  for (const r of runs.splice(0)) {
    r.stop();
    await r.done;
  }
});

/** {@link produceUntilStopped} of one partition, stopped after the test whatever happens. */
function produce(topic: string, history: History): ReturnType<typeof produceUntilStopped> {
  const run = produceUntilStopped({
    kafka: producerKafka,
    topic,
    partitions: 1,
    histories: [history],
    name: 'p',
  });
  runs.push(run);
  return run;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A one-partition RF=3 topic, settled; its leader and followers. */
async function topicWithLeader(
  prefix: string,
): Promise<{ topic: string; leader: number; followers: number[] }> {
  const topic = random(prefix);
  await createReplicatedTopic(admin, topic, 1);
  const [p] = await settledPartitions(cluster, topic);
  return { topic, leader: p!.leader, followers: p!.replicas.filter((n) => n !== p!.leader) };
}

/** Stops the producer, waits for a full ISR, reads the log back and checks the history. */
async function settleAndCheck(topic: string, history: History, run: { stop(): void; done: Promise<void> }) {
  run.stop();
  await run.done;
  await eventually(
    async () => {
      const [p] = await cluster.partitions(topic);
      expect([...p!.isr].sort()).toEqual([0, 1, 2]);
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  await readLogInto(cluster, topic, history);
  const report = history.check();
  process.stdout.write(`${topic}: ${summarize(report)}\n`);
  expect(report.problems).toEqual([]);
  expect(report.acknowledged).toBeGreaterThan(0);
  return report;
}

describe('faults > network', () => {
  it('a leader cut off from its followers while clients still reach it acknowledges nothing once alone in the ISR, and loses nothing', () =>
    withOutput(cluster, async () => {
      const { topic, leader } = await topicWithLeader('net-isolated');
      const history = new History();
      const run = produce(topic, history);
      await eventually(() => expect(run.acknowledged()).toBeGreaterThan(5));

      const lift = proxies.isolateFromBrokers(leader);
      // The leader still answers clients (through its proxy) and shrinks its ISR to itself.
      await eventually(
        async () => expect((await metadataFrom(cluster.port(leader), topic, 0)).isr).toEqual([leader]),
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      const ackedAlone = run.acknowledged();
      // The producer keeps trying (kafkajs retries NOT_ENOUGH_REPLICAS and timeouts) meanwhile.
      await wait(4000);
      expect(run.acknowledged()).toBe(ackedAlone);
      expect((await metadataFrom(cluster.port(leader), topic, 0)).leader).toBe(leader);
      lift();

      await eventually(() => expect(run.acknowledged()).toBeGreaterThan(ackedAlone + 3), {
        timeoutMs: 30_000,
      });
      await settleAndCheck(topic, history, run);
    }));

  it("a one-way cut that holds the leader's answers to clients leaves the producer in doubt, then no duplicate and nothing lost", () =>
    withOutput(cluster, async () => {
      const { topic, leader, followers } = await topicWithLeader('net-one-way');
      const history = new History();
      const run = produce(topic, history);
      await eventually(() => expect(run.acknowledged()).toBeGreaterThan(5));

      const lift = proxies.of(leader).cut({ peers: (p) => p === 'client', directions: ['from-broker'] });
      const before = run.acknowledged();
      await wait(3000);
      // The producer's last send reached the leader and its followers; its answer did not come back.
      const last = `p-${history.check().sent - 1}`;
      await eventually(
        () =>
          expect(segmentBytes(cluster.dataDir(followers[0]!), topic, 0).toString('latin1')).toMatch(
            new RegExp(`${last}(?!\\d)`),
          ),
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      expect(run.acknowledged()).toBeLessThanOrEqual(before + 1); // at most a send answered as the cut came
      expect(proxies.of(leader).held()).toBeGreaterThan(0);
      lift();

      await eventually(() => expect(run.acknowledged()).toBeGreaterThan(before + 3), { timeoutMs: 30_000 });
      await settleAndCheck(topic, history, run);
    }));

  it('a slow link to a follower lets writes go on, and the ISR is whole again once it is lifted', () =>
    withOutput(cluster, async () => {
      const { topic, followers } = await topicWithLeader('net-slow');
      const history = new History();
      const run = produce(topic, history);
      await eventually(() => expect(run.acknowledged()).toBeGreaterThan(5));

      const lift = proxies.slowReplicationTo(followers[0]!, 400);
      const before = run.acknowledged();
      await wait(5000);
      const during = run.acknowledged() - before;
      const [p] = await cluster.partitions(topic);
      process.stdout.write(
        `slow link to broker ${followers[0]}: ${during} sends acknowledged in 5 s; ISR ${p!.isr}\n`,
      );
      expect(during).toBeGreaterThan(3);
      lift();
      await settleAndCheck(topic, history, run);
    }));
});
