/**
 * Scenarios where brokers hang rather than die (SIGSTOP: the process and its sockets stay, nothing
 * runs), written once against any 3-broker cluster, like scenarios.ts: a leader left alone refuses
 * acks=all, and a deposed leader resumed cannot acknowledge a write and ends up with the same log
 * as the others. Every broker a scenario stopped is resumed before it returns, pass or fail.
 */
import { expect } from '@jest/globals';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { ProduceResponse } from '../../../src/protocol/messages/produce-response.ts';
import { eventually } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import type { ReplicatedCluster } from './scenarios.ts';
import {
  createReplicatedTopic,
  metadataFrom,
  produceRequest,
  random,
  rawProduce,
  segmentBytes,
} from './support.ts';

export interface HangableCluster extends ReplicatedCluster {
  signal(nodeId: number, signal: 'SIGSTOP' | 'SIGCONT'): Promise<void>;
  /** Where broker `nodeId` keeps its partitions (searched for `<topic>-<partition>`). */
  dataDir(nodeId: number): string;
}

/** Runs `body` with a way to stop brokers that resumes them all afterwards. */
async function withStops(
  c: HangableCluster,
  body: (stop: (n: number) => Promise<void>, resume: (n: number) => Promise<void>) => Promise<void>,
): Promise<void> {
  const stopped = new Set<number>();
  const resume = async (n: number) => {
    await c.signal(n, 'SIGCONT');
    stopped.delete(n);
  };
  try {
    await body(async (n) => {
      stopped.add(n);
      await c.signal(n, 'SIGSTOP');
    }, resume);
  } finally {
    for (const n of [...stopped]) await resume(n);
  }
}

/**
 * Both followers of an RF=3, min.insync.replicas=2 partition stopped: once the leader's ISR is down
 * to itself, acks=all is answered NOT_ENOUGH_REPLICAS and acks=1 is still taken; with the followers
 * back, acks=all is taken again.
 */
export async function leaderAloneRefusesAcksAll(c: HangableCluster): Promise<void> {
  const topic = random('min-isr');
  await createReplicatedTopic(c.admin, topic, 1);
  const { leader } = await metadataFrom(c.port(0), topic, 0);
  const followers = [0, 1, 2].filter((n) => n !== leader);
  const client = await RawClient.connect(c.port(leader));
  try {
    expect((await rawProduce(client, topic, 0, ['before'])).errorCode).toBe(ErrorCode.NONE);
    await withStops(c, async (stop, resume) => {
      for (const f of followers) await stop(f);
      // The leader's own view: first the ISR shrinks to itself, then acks=all is refused.
      await eventually(
        async () => expect((await metadataFrom(c.port(leader), topic, 0)).isr).toEqual([leader]),
        { timeoutMs: 90_000, intervalMs: 500 },
      );
      const refused = await rawProduce(client, topic, 0, ['alone'], { timeoutMs: 3000 });
      expect(refused.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
      const acks1 = await rawProduce(client, topic, 0, ['acks=1 alone'], { acks: 1 });
      expect(acks1.errorCode).toBe(ErrorCode.NONE);
      for (const f of followers) await resume(f);
    });
    await eventually(
      async () => {
        expect((await metadataFrom(c.port(leader), topic, 0)).isr.length).toBeGreaterThanOrEqual(2);
        const after = await rawProduce(client, topic, 0, ['after'], { timeoutMs: 3000 });
        expect(after.errorCode).toBe(ErrorCode.NONE);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  } finally {
    client.close();
  }
}

const BEFORE = ['written-before-1', 'written-before-2', 'written-before-3'];
const AFTER = ['written-to-the-new-leader-1', 'written-to-the-new-leader-2'];
const FROM_THE_PAST = 'written-to-the-deposed-leader';

/** What a deposed leader may answer: anything but success. */
const REFUSALS: number[] = [
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
];

/**
 * The leader is stopped until its leadership has moved to another broker and a write has been
 * taken there; a Produce (acks=all) is put on a connection it accepted before, and only then is it
 * resumed — so it reads that request still believing itself leader, at its old epoch. The request
 * is not acknowledged; afterwards every replica holds the same log, byte for byte, without it.
 * Returns the error code the deposed leader answered.
 */
export async function deposedLeaderCannotAcknowledge(c: HangableCluster): Promise<number> {
  const topic = random('fencing');
  await createReplicatedTopic(c.admin, topic, 1);
  const old = await metadataFrom(c.port(0), topic, 0);
  const others = [0, 1, 2].filter((n) => n !== old.leader);
  const toOld = await RawClient.connect(c.port(old.leader));
  let refusal = ErrorCode.NONE as number;
  try {
    expect((await rawProduce(toOld, topic, 0, BEFORE)).errorCode).toBe(ErrorCode.NONE);
    await withStops(c, async (stop, resume) => {
      await stop(old.leader);
      const moved = await eventually(
        async () => {
          const p = await metadataFrom(c.port(others[0]!), topic, 0);
          expect(others).toContain(p.leader);
          expect(p.leaderEpoch).toBeGreaterThan(old.leaderEpoch);
          return p;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      const toNew = await RawClient.connect(c.port(moved.leader));
      try {
        await eventually(
          async () => expect((await rawProduce(toNew, topic, 0, AFTER)).errorCode).toBe(ErrorCode.NONE),
          { timeoutMs: 30_000, intervalMs: 250 },
        );
      } finally {
        toNew.close();
      }
      // The request waits in the stopped broker's socket; it is among the first things it reads on waking.
      toOld.request(ApiKey.Produce, 9, 4242, produceRequest(topic, 0, [FROM_THE_PAST], { timeoutMs: 5000 }));
      await resume(old.leader);
    });
    const answer = await toOld.response(ApiKey.Produce, 9);
    refusal = (answer.body as ProduceResponse).responses[0]!.partitionResponses[0]!.errorCode;
    expect(REFUSALS).toContain(refusal);
  } finally {
    toOld.close();
  }

  // Back in the ISR, and then the same bytes on every replica.
  await eventually(
    async () => expect([...(await metadataFrom(c.port(old.leader), topic, 0)).isr].sort()).toEqual([0, 1, 2]),
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  const logs = await eventually(
    () => {
      const bytes = [0, 1, 2].map((n) => segmentBytes(c.dataDir(n), topic, 0));
      expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
      expect(bytes[2]!.equals(bytes[0]!)).toBe(true);
      return bytes;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  expect(logs[0]!.includes(Buffer.from(FROM_THE_PAST))).toBe(false);
  for (const v of [...BEFORE, ...AFTER]) expect(logs[0]!.includes(Buffer.from(v))).toBe(true);
  return refusal;
}
