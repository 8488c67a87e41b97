/**
 * A leader left alone refuses acks=all: with both followers stopped (SIGSTOP, so the supervisor does
 * not restart them) past the time it takes to drop them from the ISR, Produce with acks=-1 answers
 * NOT_ENOUGH_REPLICAS (min.insync.replicas=2 on an RF=3 topic) while acks=1 is still taken, as Kafka
 * does (kafka-reference.test.ts runs the same scenario); once the followers resume and catch up,
 * acks=all is taken again.
 */
import { afterAll, beforeAll, describe, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { leaderAloneRefusesAcksAll } from './isolation-scenarios.ts';
import { devReplicated } from './clusters.ts';

jest.setTimeout(240_000);

let cluster: DevCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

describe('replication > min.insync.replicas', () => {
  it('a leader whose followers are gone answers acks=all with NOT_ENOUGH_REPLICAS, and takes it again once they are back', () =>
    leaderAloneRefusesAcksAll(devReplicated(cluster, admin)));
});
