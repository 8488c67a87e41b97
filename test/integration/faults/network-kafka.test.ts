/**
 * The network scenarios of ./network-scenarios.ts against Apache Kafka 3.9 (3 brokers and a
 * dedicated KRaft controller, test/helpers/apache-kafka.ts), each broker advertising the port of a
 * proxy in front of it: the proxies tell Kafka's replica fetchers (`broker-N-fetcher-M`) from its
 * clients as they do Tributary's, and the history checker judges Kafka by the same rules. Kafka's
 * brokers reach their controller on its own listener, which no proxy cuts.
 */
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startKafkaCluster, type KafkaCluster } from '../../helpers/apache-kafka.ts';
import { freePortRange } from '../../helpers/dev-cluster.ts';
import { ProxySet } from '../../fault/network.ts';
import { leaderAnswersHeld, leaderCutFromFollowers, type ProxiedCluster } from './network-scenarios.ts';

jest.setTimeout(60_000);

let cluster: KafkaCluster | undefined;
let proxies: ProxySet | undefined;
let admin: Admin;
let target: ProxiedCluster;

beforeAll(async () => {
  const advertised = await freePortRange(3);
  cluster = await startKafkaCluster({
    brokers: 3,
    heapMb: 512,
    advertisedPort: (n) => advertised + n,
    // A follower out of reach leaves the ISR after 2 s (the default is 30 s).
    properties: { 'replica.lag.time.max.ms': 2000 },
  });
  const kafkaCluster = cluster;
  proxies = await ProxySet.start({ n: 3, advertised, listen: kafkaCluster.brokers.map((b) => b.listenPort) });
  const kafka = new Kafka({
    clientId: 'network-faults-kafka',
    brokers: kafkaCluster.brokers.map((b) => b.address),
    logLevel: logLevel.NOTHING,
    requestTimeout: 2000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 30 },
  });
  admin = kafka.admin();
  await admin.connect();
  target = {
    name: 'kafka',
    admin,
    kafka,
    proxies,
    port: (n) => kafkaCluster.brokers[n]!.port,
    dataDir: (n) => kafkaCluster.nodeDir(n),
  };
}, 240_000);

afterAll(async () => {
  proxies?.heal();
  await admin?.disconnect();
  await cluster?.stop();
  await proxies?.close();
});

describe('faults > network > the scenarios against Apache Kafka', () => {
  it('a leader cut off from its followers while clients still reach it acknowledges nothing once alone in the ISR', () =>
    leaderCutFromFollowers(target));

  it("a one-way cut that holds the leader's answers leaves the producer in doubt, then no duplicate and nothing lost", () =>
    leaderAnswersHeld(target));
});
