/**
 * Network faults under an idempotent kafkajs producer (acks=all, one partition) on an RF=3 topic
 * with min.insync.replicas=2, written once against any 3-broker cluster with a proxy in front of
 * each broker (test/fault/network.ts), judged by the history checker:
 *
 * - the leader cut off from both followers while clients still reach it — Kafka's 2013 loss: its ISR
 *   shrinks to itself, and from then on it must acknowledge nothing (min.insync.replicas); after the
 *   heal everything acknowledged is in the log once, at its offset, in order;
 * - a one-way cut, the leader's answers to clients held: the producer's writes land and replicate
 *   but it cannot know; after the heal, idempotence leaves no duplicate and nothing acknowledged lost;
 * - a slow link to a follower: writes go on (the ISR may lose the follower, and gets it back).
 *
 * The cluster must take a follower out of the ISR quickly (replica.lag.time.max.ms of a few seconds).
 */
import { expect } from '@jest/globals';
import type { Admin, Kafka } from 'kafkajs';
import { eventually } from '../../helpers/dev-cluster.ts';
import { readTopicWithKafkajs } from '../../helpers/kafkajs-reader.ts';
import { History, summarize, type HistoryReport } from '../../fault/history.ts';
import type { ProxySet } from '../../fault/network.ts';
import {
  createReplicatedTopic,
  metadataFrom,
  produceUntilStopped,
  random,
  segmentBytes,
  type ProducerRun,
} from '../replication/support.ts';

export interface ProxiedCluster {
  /** Names the cluster in what the scenarios print. */
  name: string;
  admin: Admin;
  /** For the producer and for reading back: short request timeouts, so a held answer puts a send in doubt. */
  kafka: Kafka;
  proxies: ProxySet;
  /** The port clients use for broker `nodeId`: its proxy's. */
  port(nodeId: number): number;
  /** Where broker `nodeId` keeps its partitions (searched for `<topic>-<partition>`). */
  dataDir(nodeId: number): string;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A one-partition RF=3 topic with a full ISR; its leader and followers, from the leader. */
async function settledTopic(c: ProxiedCluster, prefix: string) {
  const topic = random(prefix);
  await createReplicatedTopic(c.admin, topic, 1);
  return eventually(async () => {
    const { topics } = await c.admin.fetchTopicMetadata({ topics: [topic] });
    const p = topics[0]!.partitions[0]!;
    if (p.leader < 0 || p.isr.length !== 3) throw new Error(`${topic} not settled: ${JSON.stringify(p)}`);
    return { topic, leader: p.leader, followers: p.replicas.filter((n) => n !== p.leader) };
  });
}

/** Runs `body` with a producer on `topic`; then a full ISR, the log read back, the history judged. */
async function underProducer(
  c: ProxiedCluster,
  topic: string,
  body: (run: ProducerRun, history: History) => Promise<void>,
): Promise<HistoryReport> {
  const history = new History();
  const run = produceUntilStopped({ kafka: c.kafka, topic, partitions: 1, histories: [history], name: 'p' });
  try {
    await eventually(() => expect(run.acknowledged()).toBeGreaterThan(5));
    await body(run, history);
  } finally {
    c.proxies.heal();
    run.stop();
    await run.done;
  }
  await eventually(
    async () => expect([...(await metadataFrom(c.port(0), topic, 0)).isr].sort()).toEqual([0, 1, 2]),
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const log = await readTopicWithKafkajs(c.kafka, topic);
  for (const records of log.values())
    for (const r of records) history.read(String(r.headers['id']), r.partition, r.offset);
  const report = history.check();
  process.stdout.write(`${c.name} ${topic}: ${summarize(report)}\n`);
  expect(report.problems).toEqual([]);
  expect(report.acknowledged).toBeGreaterThan(0);
  return report;
}

export async function leaderCutFromFollowers(c: ProxiedCluster): Promise<void> {
  const { topic, leader } = await settledTopic(c, 'net-isolated');
  await underProducer(c, topic, async (run) => {
    const lift = c.proxies.isolateFromBrokers(leader);
    const cutAt = Date.now();
    // The leader still answers clients (through its proxy) and shrinks its ISR to itself.
    await eventually(
      async () => expect((await metadataFrom(c.port(leader), topic, 0)).isr).toEqual([leader]),
      {
        timeoutMs: 40_000,
        intervalMs: 200,
      },
    );
    const alone = run.acknowledged();
    process.stdout.write(
      `${c.name}: leader ${leader} alone in the ISR ${Date.now() - cutAt} ms after the cut\n`,
    );
    // The producer keeps trying meanwhile (kafkajs retries NOT_ENOUGH_REPLICAS and timeouts).
    await wait(4000);
    expect(run.acknowledged()).toBe(alone);
    expect((await metadataFrom(c.port(leader), topic, 0)).leader).toBe(leader);
    lift();
    await eventually(() => expect(run.acknowledged()).toBeGreaterThan(alone + 3), { timeoutMs: 30_000 });
  });
}

export async function leaderAnswersHeld(c: ProxiedCluster): Promise<void> {
  const { topic, leader, followers } = await settledTopic(c, 'net-one-way');
  await underProducer(c, topic, async (run, history) => {
    const lift = c.proxies.of(leader).cut({ peers: (p) => p === 'client', directions: ['from-broker'] });
    const before = run.acknowledged();
    await wait(3000);
    // The producer's last send reached the leader and its followers; its answer did not come back.
    const last = new RegExp(`p-${history.check().sent - 1}(?!\\d)`);
    await eventually(
      () => expect(segmentBytes(c.dataDir(followers[0]!), topic, 0).toString('latin1')).toMatch(last),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(run.acknowledged()).toBeLessThanOrEqual(before + 1); // at most a send answered as the cut came
    expect(c.proxies.of(leader).held()).toBeGreaterThan(0);
    lift();
    await eventually(() => expect(run.acknowledged()).toBeGreaterThan(before + 3), { timeoutMs: 30_000 });
  });
}

export async function slowFollower(c: ProxiedCluster): Promise<void> {
  const { topic, followers } = await settledTopic(c, 'net-slow');
  await underProducer(c, topic, async (run) => {
    const lift = c.proxies.slowReplicationTo(followers[0]!, 300);
    const before = run.acknowledged();
    await wait(5000);
    const during = run.acknowledged() - before;
    const isr = (await metadataFrom(c.port(followers[1]!), topic, 0)).isr;
    process.stdout.write(
      `${c.name}: slow link to broker ${followers[0]}: ${during} sends acknowledged in 5 s; ISR ${isr}\n`,
    );
    expect(during).toBeGreaterThan(2);
    lift();
  });
}

/**
 * The leader cut off from its followers and reconnected, again and again, for cuts shorter and
 * longer than the ISR's patience: ISR shrinks and expansions race with held fetches delivered late.
 * While cut, it acknowledges nothing sent after the cut; whatever the timing, nothing acknowledged
 * is lost or duplicated.
 */
export async function flappingLeader(c: ProxiedCluster, o: { rounds: number; seed: number }): Promise<void> {
  const { topic, leader } = await settledTopic(c, 'net-flapping');
  let state = o.seed;
  /** A small deterministic generator (a test that fails can be run again with its seed). */
  const next = (lo: number, hi: number): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return lo + (state % (hi - lo));
  };
  await underProducer(c, topic, async (run) => {
    const timeline: string[] = [];
    for (let i = 0; i < o.rounds; i++) {
      const cut = next(300, 3000);
      const healed = next(200, 1500);
      const lift = c.proxies.isolateFromBrokers(leader);
      const before = run.acknowledged();
      await wait(cut);
      // No follower's fetch gets through: at most the send in flight as the cut came is answered.
      expect(run.acknowledged() - before).toBeLessThanOrEqual(1);
      lift();
      await wait(healed);
      timeline.push(`${cut}/${healed}`);
    }
    process.stdout.write(
      `${c.name}: leader ${leader} cut/healed (ms, seed ${o.seed}) ${timeline.join(' ')}; ${run.acknowledged()} sends acknowledged\n`,
    );
    const acked = run.acknowledged();
    await eventually(() => expect(run.acknowledged()).toBeGreaterThan(acked + 3), { timeoutMs: 30_000 });
  });
}
