/**
 * A leader left alone refuses acks=all: with both followers stopped (SIGSTOP, so the supervisor does
 * not restart them) past the time it takes to drop them from the ISR, Produce with acks=-1 answers
 * NOT_ENOUGH_REPLICAS (min.insync.replicas=2 on an RF=3 topic) while acks=1 is still taken, as Kafka
 * does; once the followers resume and catch up, acks=all is taken again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { eventually, startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { createReplicatedTopic, metadataFrom, random, rawProduce } from './support.ts';

jest.setTimeout(240_000);

let cluster: DevCluster;
let admin: Admin;
const stopped = new Set<number>();

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterEach(async () => {
  for (const n of stopped) await cluster.kill(n, 'SIGCONT');
  stopped.clear();
});

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

describe('replication > min.insync.replicas', () => {
  it('a leader whose followers are gone answers acks=all with NOT_ENOUGH_REPLICAS, and takes it again once they are back', async () => {
    const topic = random('min-isr');
    await createReplicatedTopic(admin, topic, 1);
    const leader = await cluster.leader(topic, 0);
    const followers = [0, 1, 2].filter((n) => n !== leader);
    const client = await RawClient.connect(cluster.port(leader));
    try {
      expect((await rawProduce(client, topic, 0, ['before'])).errorCode).toBe(ErrorCode.NONE);

      for (const f of followers) {
        await cluster.kill(f, 'SIGSTOP');
        stopped.add(f);
      }
      // The leader's own view: first the ISR shrinks to itself, then acks=all is refused.
      await eventually(
        async () => {
          const p = await metadataFrom(cluster.port(leader), topic, 0);
          expect(p.isr).toEqual([leader]);
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      const refused = await rawProduce(client, topic, 0, ['alone'], { timeoutMs: 3000 });
      expect(refused.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
      expect((await rawProduce(client, topic, 0, ['acks=1 alone'], { acks: 1 })).errorCode).toBe(
        ErrorCode.NONE,
      );

      for (const f of followers) await cluster.kill(f, 'SIGCONT');
      stopped.clear();
      await eventually(
        async () => {
          const p = await metadataFrom(cluster.port(leader), topic, 0);
          expect(p.isr.length).toBeGreaterThanOrEqual(2);
          expect((await rawProduce(client, topic, 0, ['after'], { timeoutMs: 3000 })).errorCode).toBe(
            ErrorCode.NONE,
          );
        },
        { timeoutMs: 90_000, intervalMs: 500 },
      );
    } finally {
      client.close();
    }
  });
});
