/**
 * Replication between brokers in one process, with the test as the controller (./cluster.ts):
 * acks=all over the ISR, followers holding the leader's batches byte for byte, the high watermark
 * waiting for the followers, ISR changes through AlterPartition, truncation of a diverged tail at a
 * leader change, idempotent producers surviving the change, and OffsetForLeaderEpoch as a consumer
 * sends it (raw frames).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { OffsetForLeaderEpochResponse } from '../../../src/protocol/messages/offset-for-leader-epoch-response.ts';
import type { ProduceRequest } from '../../../src/protocol/messages/produce-request.ts';
import type {
  PartitionProduceResponse,
  ProduceResponse,
} from '../../../src/protocol/messages/produce-response.ts';
import { type BatchInput, encodeBatch } from '../../../src/protocol/records/index.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import {
  type ClusterBroker,
  eventually,
  FakeController,
  logOf,
  removeDataDir,
  startClusterBroker,
  storedBytes,
} from './cluster.ts';

let brokers: ClusterBroker[] = [];
let clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients) c.close();
  for (const b of brokers) {
    await b.stop();
    removeDataDir(b);
  }
  brokers = [];
  clients = [];
});

async function cluster(n: number, properties: Record<string, string> = {}): Promise<FakeController> {
  const controller = new FakeController();
  for (let id = 0; id < n; id++) brokers.push(await startClusterBroker(controller, id, { properties }));
  return controller;
}

async function clientOf(b: ClusterBroker): Promise<RawClient> {
  const c = await RawClient.connect(b.port);
  clients.push(c);
  return c;
}

function topicName(): string {
  return `repl-${randomBytes(4).toString('hex')}`;
}

function batch(values: string[], o: Omit<BatchInput, 'records'> = {}): Buffer {
  return encodeBatch({
    ...o,
    records: values.map((v) => ({ value: Buffer.from(v), timestamp: Date.now() })),
  });
}

async function produce(
  c: RawClient,
  topic: string,
  records: Buffer,
  o: { acks?: number; timeoutMs?: number } = {},
): Promise<PartitionProduceResponse> {
  const req: ProduceRequest = {
    transactionalId: null,
    acks: o.acks ?? -1,
    timeoutMs: o.timeoutMs ?? 10_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  };
  const res = await c.call<ProduceResponse>(ApiKey.Produce, 9, req);
  return res.responses[0].partitionResponses[0];
}

describe('replication > acks=all', () => {
  it('commits a batch once the follower has it, and the follower’s log is byte-identical', async () => {
    const controller = await cluster(3);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1, 2],
      isr: [0, 1, 2],
    });
    await controller.push();
    const c = await clientOf(brokers[0]);
    for (let i = 0; i < 5; i++) {
      const res = await produce(c, topic, batch([`a${i}`, `b${i}`]));
      expect(res).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: BigInt(i * 2) });
    }
    const leader = logOf(brokers[0], topic);
    expect(leader.highWatermark).toBe(10);
    const expected = await storedBytes(leader);
    for (const follower of brokers.slice(1)) {
      const log = logOf(follower, topic);
      expect(log.logEndOffset).toBe(10);
      expect((await storedBytes(log)).equals(expected)).toBe(true);
      expect(log.leaderEpochs).toEqual([{ epoch: 1, startOffset: 0 }]);
    }
    // Followers learn the high watermark on their next fetch.
    await eventually(() => brokers.slice(1).every((b) => logOf(b, topic).highWatermark === 10));
  });

  it('holds the high watermark until an in-sync follower has fetched the data', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    // Only the leader hears of the topic: the follower does not fetch yet.
    await controller.push([brokers[0]]);
    const c = await clientOf(brokers[0]);
    expect(await produce(c, topic, batch(['x', 'y']), { acks: 1 })).toMatchObject({ errorCode: 0 });
    const leader = logOf(brokers[0], topic);
    expect(leader.logEndOffset).toBe(2);
    expect(leader.highWatermark).toBe(0);
    const waiting = produce(c, topic, batch(['z']), { acks: -1 });
    await controller.push([brokers[1]]);
    expect(await waiting).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 2n });
    expect(leader.highWatermark).toBe(3);
    expect(logOf(brokers[1], topic).logEndOffset).toBe(3);
  });

  it('times out an acks=all produce while an in-sync follower is away', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    await controller.push([brokers[0]]);
    const c = await clientOf(brokers[0]);
    const res = await produce(c, topic, batch(['x']), { acks: -1, timeoutMs: 300 });
    expect(res.errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
  });
});

describe('replication > the ISR', () => {
  it('drops a follower that stops fetching, through AlterPartition, and commits without it', async () => {
    const controller = await cluster(2, { 'replica.lag.time.max.ms': '400' });
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    await controller.push();
    const c = await clientOf(brokers[0]);
    expect(await produce(c, topic, batch(['x']))).toMatchObject({ errorCode: 0 });
    await brokers[1].stop();
    const res = await produce(c, topic, batch(['y']), { timeoutMs: 10_000 });
    expect(res).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 1n });
    expect(controller.alterRequests).toContainEqual(
      expect.objectContaining({ nodeId: 0, leaderEpoch: 1, partitionEpoch: 1, newIsr: [0] }),
    );
    expect(brokers[0].replicas.replica(topic, 0)?.state).toMatchObject({ isr: [0], partitionEpoch: 2 });
  });

  it('answers NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrinks below min.insync.replicas while waiting', async () => {
    const controller = await cluster(2, { 'replica.lag.time.max.ms': '400' });
    const topic = topicName();
    controller.createTopic(
      topic,
      { leader: 0, leaderEpoch: 1, partitionEpoch: 1, replicas: [0, 1], isr: [0, 1] },
      { 'min.insync.replicas': '2' },
    );
    await controller.push();
    const c = await clientOf(brokers[0]);
    expect(await produce(c, topic, batch(['x']))).toMatchObject({ errorCode: 0 });
    await brokers[1].stop();
    const res = await produce(c, topic, batch(['y']), { timeoutMs: 10_000 });
    expect(res.errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    // Now below min.insync.replicas before the append: refused outright.
    expect((await produce(c, topic, batch(['z']))).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
  });

  it('takes a caught-up follower back into the ISR', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0],
    });
    await controller.push([brokers[0]]);
    const c = await clientOf(brokers[0]);
    expect(await produce(c, topic, batch(['x', 'y']))).toMatchObject({ errorCode: 0 });
    await controller.push([brokers[1]]);
    await eventually(() => brokers[0].replicas.replica(topic, 0)?.state.isr.length === 2);
    expect(controller.alterRequests).toContainEqual(expect.objectContaining({ nodeId: 0, newIsr: [0, 1] }));
    expect(logOf(brokers[1], topic).logEndOffset).toBe(2);
  });
});

describe('replication > a follower far behind', () => {
  it('starts a follower over at the leader’s log start when what it lacks is gone there', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0],
    });
    await controller.push([brokers[0]]);
    const c = await clientOf(brokers[0]);
    for (const v of ['a', 'b', 'c', 'd', 'e'])
      expect(await produce(c, topic, batch([v]))).toMatchObject({ errorCode: 0 });
    const leader = logOf(brokers[0], topic);
    await leader.deleteRecordsBefore(3);
    await controller.push([brokers[1]]);
    await eventually(() => brokers[0].replicas.replica(topic, 0)?.state.isr.length === 2);
    const follower = logOf(brokers[1], topic);
    expect(follower.logStartOffset).toBe(3);
    expect(follower.logEndOffset).toBe(5);
    const { records } = await leader.read(3, { maxBytes: 1 << 20, isolation: 'log-end' });
    expect((await storedBytes(follower)).equals(records)).toBe(true);
  });

  it('moves a follower’s log start with the leader’s (DeleteRecords)', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    await controller.push();
    const c = await clientOf(brokers[0]);
    for (const v of ['a', 'b', 'c', 'd'])
      expect(await produce(c, topic, batch([v]))).toMatchObject({ errorCode: 0 });
    await logOf(brokers[0], topic).deleteRecordsBefore(2);
    await eventually(() => logOf(brokers[1], topic).logStartOffset === 2);
  });
});

describe('replication > leader changes', () => {
  it('truncates a deposed leader’s diverged tail, so that the logs end byte-identical', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    await controller.push();
    const c0 = await clientOf(brokers[0]);
    for (const v of ['a', 'b', 'c'])
      expect(await produce(c0, topic, batch([v]))).toMatchObject({ errorCode: 0 });
    // Broker 1 stops following (it hears the partition has no leader); broker 0 writes on alone.
    controller.set(topic, { leader: -1, leaderEpoch: 1, partitionEpoch: 2, replicas: [0, 1], isr: [0, 1] });
    await controller.push([brokers[1]]);
    for (const v of ['d', 'e'])
      expect(await produce(c0, topic, batch([v]), { acks: 1 })).toMatchObject({ errorCode: 0 });
    expect(logOf(brokers[0], topic).logEndOffset).toBe(5);
    expect(logOf(brokers[1], topic).logEndOffset).toBe(3);

    // Broker 1 is elected at epoch 2 and takes a write there; broker 0 follows it.
    controller.set(topic, { leader: 1, leaderEpoch: 2, partitionEpoch: 3, replicas: [0, 1], isr: [1, 0] });
    await controller.push();
    const c1 = await clientOf(brokers[1]);
    expect(await produce(c1, topic, batch(['f']))).toMatchObject({ errorCode: 0, baseOffset: 3n });

    const leader = logOf(brokers[1], topic);
    const follower = logOf(brokers[0], topic);
    expect(follower.logEndOffset).toBe(4);
    expect((await storedBytes(follower)).equals(await storedBytes(leader))).toBe(true);
    expect(follower.leaderEpochs).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 3 },
    ]);
    // The old leader refuses clients now.
    expect((await produce(c0, topic, batch(['g']))).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  it('answers a retried idempotent batch as a duplicate on the new leader, with its original offset', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    await controller.push();
    const c0 = await clientOf(brokers[0]);
    const first = batch(['p0'], { producerId: 7000, producerEpoch: 0, baseSequence: 0 });
    const second = batch(['p1'], { producerId: 7000, producerEpoch: 0, baseSequence: 1 });
    expect(await produce(c0, topic, batch(['plain']))).toMatchObject({ errorCode: 0, baseOffset: 0n });
    expect(await produce(c0, topic, first)).toMatchObject({ errorCode: 0, baseOffset: 1n });
    expect(await produce(c0, topic, second)).toMatchObject({ errorCode: 0, baseOffset: 2n });

    controller.set(topic, { leader: 1, leaderEpoch: 2, partitionEpoch: 2, replicas: [0, 1], isr: [1, 0] });
    await controller.push();
    const c1 = await clientOf(brokers[1]);
    expect(await produce(c1, topic, first)).toMatchObject({ errorCode: 0, baseOffset: 1n });
    expect(await produce(c1, topic, second)).toMatchObject({ errorCode: 0, baseOffset: 2n });
    expect(logOf(brokers[1], topic).logEndOffset).toBe(3);
    const third = batch(['p2'], { producerId: 7000, producerEpoch: 0, baseSequence: 3 });
    expect((await produce(c1, topic, third)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('answers waiting acks=all produces NOT_LEADER_OR_FOLLOWER when leadership moves', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    await controller.push([brokers[0]]);
    const c0 = await clientOf(brokers[0]);
    const waiting = produce(c0, topic, batch(['x']), { timeoutMs: 30_000 });
    await eventually(() => logOf(brokers[0], topic).logEndOffset === 1);
    controller.set(topic, { leader: 1, leaderEpoch: 2, partitionEpoch: 2, replicas: [0, 1], isr: [1, 0] });
    await controller.push([brokers[0]]);
    expect((await waiting).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});

describe('replication > OffsetForLeaderEpoch', () => {
  it('tells a consumer (replicaId -1) where each epoch ends, and fences stale epochs', async () => {
    const controller = await cluster(1);
    const topic = topicName();
    controller.createTopic(topic, { leader: 0, leaderEpoch: 1, partitionEpoch: 1, replicas: [0], isr: [0] });
    await controller.push();
    const c = await clientOf(brokers[0]);
    await produce(c, topic, batch(['a', 'b']));
    controller.set(topic, { leader: 0, leaderEpoch: 3, partitionEpoch: 2, replicas: [0], isr: [0] });
    await controller.push();
    await produce(c, topic, batch(['c']));

    const ask = (version: number, leaderEpoch: number, currentLeaderEpoch = -1) =>
      c.call<OffsetForLeaderEpochResponse>(ApiKey.OffsetForLeaderEpoch, version, {
        replicaId: -1,
        topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }],
      });
    const answer = async (version: number, leaderEpoch: number, current = -1) =>
      (await ask(version, leaderEpoch, current)).topics[0].partitions[0];

    expect(await answer(4, 1)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 1, endOffset: 2n });
    expect(await answer(4, 2)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 1, endOffset: 2n });
    expect(await answer(4, 3, 3)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 3, endOffset: 3n });
    expect(await answer(4, 4)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1n });
    expect((await answer(4, 1, 2)).errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
    expect((await answer(4, 1, 4)).errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    expect(await answer(0, 1)).toMatchObject({ errorCode: 0, endOffset: 2n });
    const unknown = await c.call<OffsetForLeaderEpochResponse>(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [
        { topic: 'no-such-topic', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
      ],
    });
    expect(unknown.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('refuses a consumer at a follower with NOT_LEADER_OR_FOLLOWER', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    await controller.push();
    const c = await clientOf(brokers[1]);
    const res = await c.call<OffsetForLeaderEpochResponse>(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: 1, leaderEpoch: 1 }] }],
    });
    expect(res.topics[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});

describe('replication > the high-watermark checkpoint', () => {
  it('starts a restarted follower from its checkpointed high watermark', async () => {
    const controller = await cluster(2);
    const topic = topicName();
    controller.createTopic(topic, {
      leader: 0,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas: [0, 1],
      isr: [0, 1],
    });
    await controller.push();
    const c = await clientOf(brokers[0]);
    expect(await produce(c, topic, batch(['a', 'b', 'c']))).toMatchObject({ errorCode: 0 });
    await eventually(() => logOf(brokers[1], topic).highWatermark === 3);
    const old = brokers[1];
    await old.stop();
    brokers = brokers.filter((b) => b !== old);
    controller.brokers.splice(controller.brokers.indexOf(old), 1);
    // The restarted broker hears of no leader yet: its high watermark is what it checkpointed.
    const again = await startClusterBroker(controller, 1, { dataDir: old.dataDir });
    brokers.push(again);
    controller.set(topic, { leader: -1, leaderEpoch: 1, partitionEpoch: 2, replicas: [0, 1], isr: [0, 1] });
    await controller.push([again]);
    expect(logOf(again, topic).highWatermark).toBe(3);
  });
});
