/**
 * Network faults on `tributary dev --brokers 3` with a proxy in front of each broker's Kafka
 * listener, through which both clients and replication travel (./network-scenarios.ts says what
 * each scenario checks). The brokers' HTTP sessions with the controller are not cut here
 * (./network-controller.test.ts cuts them too); Apache Kafka runs the same in ./network-kafka.test.ts.
 */
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startProxiedDevCluster, type ProxiedDevCluster } from '../../fault/network.ts';
import {
  flappingLeader,
  leaderAnswersHeld,
  leaderCutFromFollowers,
  slowFollower,
  type ProxiedCluster,
} from './network-scenarios.ts';
import { withOutput } from './support.ts';

jest.setTimeout(60_000);

let proxied: ProxiedDevCluster;
let admin: Admin;
let target: ProxiedCluster;

beforeAll(async () => {
  // A follower out of reach leaves the ISR after 2 s (Kafka's default is 30 s).
  proxied = await startProxiedDevCluster({ brokers: 3, properties: { 'replica.lag.time.max.ms': '2000' } });
  const { cluster, proxies } = proxied;
  admin = cluster.kafka.admin();
  await admin.connect();
  target = {
    name: 'tributary',
    admin,
    kafka: new Kafka({
      clientId: 'network-faults',
      brokers: cluster.brokers,
      logLevel: logLevel.NOTHING,
      requestTimeout: 2000,
      retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
    }),
    proxies,
    port: (n) => cluster.port(n),
    dataDir: (n) => cluster.dataDir(n),
  };
}, 120_000);

afterAll(async () => {
  await admin?.disconnect();
  await proxied?.stop();
});

describe('faults > network', () => {
  it('a leader cut off from its followers while clients still reach it acknowledges nothing once alone in the ISR, and loses nothing', () =>
    withOutput(proxied.cluster, () => leaderCutFromFollowers(target)));

  it("a one-way cut that holds the leader's answers to clients leaves the producer in doubt, then no duplicate and nothing lost", () =>
    withOutput(proxied.cluster, () => leaderAnswersHeld(target)));

  it('a slow link to a follower lets writes go on, and the ISR is whole again once it is lifted', () =>
    withOutput(proxied.cluster, () => slowFollower(target)));

  it('a leader cut off from its followers and reconnected again and again loses nothing and duplicates nothing', () =>
    withOutput(proxied.cluster, () => flappingLeader(target, { rounds: 8, seed: Date.now() % 1000 })));
});
