/**
 * The whole of Kafka's 2013 partition: a leader cut off from its followers and from the controller,
 * while clients still reach it. Every broker of `tributary dev --brokers 3` talks Kafka and HTTP to
 * the controller through proxies of its own (test/fault/network.ts `controllerLinks`). The isolated
 * leader's heartbeats stop reaching the controller, which fences it after its session timeout and
 * elects a follower; the old leader hears nothing of it and still believes itself leader, but an
 * acks=all write sent to it is refused (no follower fetches from it any more, and it cannot shrink
 * its ISR without the controller). After the heal it learns of its deposition, truncates that write
 * away and follows; an idempotent kafkajs producer's history has nothing lost and no duplicate.
 *
 * Then a leader that can still talk to the controller but not hear it (a one-way cut of its
 * controller link) while cut off from its followers: its request to shrink the ISR to itself is
 * granted unheard, it acknowledges nothing while alone, and once everything heals it learns the ISR
 * it asked for and grows it back, with nothing acknowledged lost. (Its silent image stream makes
 * it reconnect meanwhile, which the controller takes for a fencing and an unfencing: the followers
 * then expect a newer leader epoch than the deaf leader knows, so nothing is acknowledged until it
 * hears the controller again — printed, not asserted.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { eventually, type DevCluster } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { History, summarize } from '../../fault/history.ts';
import { startProxiedDevCluster, type ProxiedDevCluster } from '../../fault/network.ts';
import {
  createReplicatedTopic,
  metadataFrom,
  produceUntilStopped,
  random,
  rawProduce,
  segmentBytes,
  type ProducerRun,
} from '../replication/support.ts';
import { readLogInto, settledPartitions, withOutput } from './support.ts';

jest.setTimeout(90_000);

let proxied: ProxiedDevCluster;
let cluster: DevCluster;
let admin: Admin;
/** The producers' client: short request timeouts, so that a held answer puts a send in doubt. */
let kafka: Kafka;
let run: ProducerRun | undefined;

beforeAll(async () => {
  proxied = await startProxiedDevCluster({
    brokers: 3,
    controllerLinks: true,
    properties: { 'replica.lag.time.max.ms': '2000' },
  });
  cluster = proxied.cluster;
  admin = cluster.kafka.admin();
  await admin.connect();
  kafka = new Kafka({
    clientId: 'network-controller',
    brokers: cluster.brokers,
    logLevel: logLevel.NOTHING,
    requestTimeout: 2000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
}, 120_000);

afterEach(async () => {
  proxied.heal();
  run?.stop();
  await run?.done;
});

afterAll(async () => {
  await admin?.disconnect();
  await proxied?.stop();
});

const REFUSALS: number[] = [
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
];
const STALE = 'written-to-the-deposed-leader';

describe('faults > network > a leader cut off from the controller and its followers', () => {
  it('is replaced, refuses acks=all writes while it still believes itself leader, and loses nothing acknowledged', () =>
    withOutput(cluster, async () => {
      const topic = random('net-2013');
      await createReplicatedTopic(admin, topic, 1);
      const [p] = await settledPartitions(cluster, topic);
      const old = p!.leader;
      const others = p!.replicas.filter((n) => n !== old);
      const history = new History();
      run = produceUntilStopped({ kafka, topic, partitions: 1, histories: [history], name: 'p' });
      await eventually(() => expect(run!.acknowledged()).toBeGreaterThan(5));
      const toOld = await RawClient.connect(cluster.port(old));
      try {
        const lift = proxied.isolateFromCluster(old);
        const cutAt = Date.now();
        const before = await metadataFrom(cluster.port(old), topic, 0);
        const moved = await eventually(
          async () => {
            const m = await metadataFrom(cluster.port(others[0]!), topic, 0);
            expect(others).toContain(m.leader);
            expect(m.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
            return m;
          },
          { timeoutMs: 20_000, intervalMs: 200 },
        );
        const movedAfter = Date.now() - cutAt;
        // The old leader still answers clients, as leader: it has heard nothing.
        expect((await metadataFrom(cluster.port(old), topic, 0)).leader).toBe(old);
        const answer = await rawProduce(toOld, topic, 0, [STALE], { timeoutMs: 3000 });
        expect(REFUSALS).toContain(answer.errorCode);
        const ackedWhileCut = run.acknowledged();
        process.stdout.write(
          `broker ${old} cut off: broker ${moved.leader} leads after ${movedAfter} ms; the old leader answered ` +
            `acks=all with error ${answer.errorCode}; ${ackedWhileCut} sends acknowledged by then\n`,
        );
        lift();

        await eventually(
          async () => {
            const m = await metadataFrom(cluster.port(old), topic, 0);
            expect(m.leader).toBe(moved.leader);
            expect([...m.isr].sort()).toEqual([0, 1, 2]);
          },
          { timeoutMs: 30_000, intervalMs: 250 },
        );
        await eventually(() => expect(run!.acknowledged()).toBeGreaterThan(ackedWhileCut + 3), {
          timeoutMs: 30_000,
        });
      } finally {
        toOld.close();
      }
      run.stop();
      await run.done;

      await readLogInto(cluster, topic, history);
      const report = history.check();
      process.stdout.write(`${topic}: old leader ${old}; ${summarize(report)}\n`);
      expect(report.problems).toEqual([]);
      const logs = await eventually(
        () => {
          const bytes = [0, 1, 2].map((n) => segmentBytes(cluster.dataDir(n), topic, 0));
          expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
          expect(bytes[2]!.equals(bytes[0]!)).toBe(true);
          return bytes;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(logs[0]!.includes(Buffer.from(STALE))).toBe(false);
    }));
});

describe('faults > network > a leader that cannot hear the controller, cut off from its followers', () => {
  it('has its ISR shrunk without knowing it, acknowledges nothing meanwhile, and converges after the heal without loss', () =>
    withOutput(cluster, async () => {
      const topic = random('net-deaf');
      await createReplicatedTopic(admin, topic, 1);
      const [p] = await settledPartitions(cluster, topic);
      const leader = p!.leader;
      const follower = p!.replicas.find((n) => n !== leader)!;
      const history = new History();
      run = produceUntilStopped({ kafka, topic, partitions: 1, histories: [history], name: 'p' });
      await eventually(() => expect(run!.acknowledged()).toBeGreaterThan(5));

      // Its heartbeats and AlterPartition requests reach the controller; no answer comes back.
      const liftDeaf = proxied.controllerLinks!.of(leader).cut({ directions: ['from-broker'] });
      const liftCut = proxied.proxies.isolateFromBrokers(leader);
      await eventually(
        async () => expect((await metadataFrom(cluster.port(follower), topic, 0)).isr).toEqual([leader]),
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      const alone = run.acknowledged();
      const ownView = await metadataFrom(cluster.port(leader), topic, 0);
      await new Promise((r) => setTimeout(r, 3000));
      expect(run.acknowledged()).toBe(alone);
      liftCut();
      // The followers fetch again while the leader still hears nothing from the controller.
      await new Promise((r) => setTimeout(r, 4000));
      const deafAcks = run.acknowledged() - alone;
      liftDeaf();
      process.stdout.write(
        `leader ${leader}: ISR [${leader}] at the controller, [${ownView.isr}] in its own view; ` +
          `${deafAcks} sends acknowledged with the followers back but the controller unheard\n`,
      );

      await eventually(
        async () => {
          for (const n of [leader, follower]) {
            const m = await metadataFrom(cluster.port(n), topic, 0);
            expect(m.leader).toBe(leader);
            expect([...m.isr].sort()).toEqual([0, 1, 2]);
          }
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const acked = run.acknowledged();
      await eventually(() => expect(run!.acknowledged()).toBeGreaterThan(acked + 3), { timeoutMs: 30_000 });
      run.stop();
      await run.done;
      await readLogInto(cluster, topic, history);
      const report = history.check();
      process.stdout.write(`${topic}: ${summarize(report)}\n`);
      expect(report.problems).toEqual([]);
    }));
});
