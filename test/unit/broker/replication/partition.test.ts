import { describe, expect, it } from '@jest/globals';
import type { AlterPartitionRequest, AlterPartitionResult } from '../../../../src/controller/api.ts';
import type { PartitionState } from '../../../../src/controller/image.ts';
import { ReplicaPartition } from '../../../../src/broker/replication/partition.ts';
import { FakeClock } from '../../../../src/common/clock.ts';
import { silentLogger } from '../../../../src/common/logger.ts';
import { ErrorCode } from '../../../../src/protocol/error-codes.ts';
import type { PartitionLog } from '../../../../src/storage/partition-log.ts';

const LAG = 10_000;

/** What the partition reads of its log: the ends and the high watermark. */
class FakeLog {
  partition = 0;
  logEndOffset = 0;
  highWatermark = 0;
  updateHighWatermark(offset: number): number {
    this.highWatermark = Math.min(Math.max(offset, 0), this.logEndOffset);
    return this.highWatermark;
  }
}

type Request = Omit<AlterPartitionRequest, 'nodeId' | 'brokerEpoch'>;

function setup(o: { answer?: (req: Request) => AlterPartitionResult } = {}) {
  const clock = new FakeClock(1_000_000);
  const log = new FakeLog();
  const requests: Request[] = [];
  const pending: Array<() => void> = [];
  let moves = 0;
  const partition = new ReplicaPartition({
    nodeId: 1,
    topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
    log: log as unknown as PartitionLog,
    clock,
    logger: silentLogger,
    lagTimeMaxMs: LAG,
    alterPartition: (req) => {
      requests.push(req);
      // Answers are delivered when the test says so, as a controller's would be later.
      return new Promise((resolve) => {
        pending.push(() =>
          resolve(
            o.answer?.(req) ?? {
              ok: true,
              state: {
                ...leaderState(),
                leaderEpoch: req.leaderEpoch,
                partitionEpoch: req.partitionEpoch + 1,
                isr: req.newIsr,
              },
            },
          ),
        );
      });
    },
    ineligible: () => new Set(),
    onHighWatermark: () => moves++,
  });
  const answerAll = async () => {
    for (const a of pending.splice(0)) a();
    await Promise.resolve();
    await Promise.resolve();
  };
  return { clock, log, partition, requests, answerAll, moves: () => moves };
}

function leaderState(over: Partial<PartitionState> = {}): PartitionState {
  return {
    partition: 0,
    leader: 1,
    leaderEpoch: 3,
    partitionEpoch: 7,
    replicas: [1, 2, 3],
    isr: [1, 2, 3],
    ...over,
  };
}

describe('replication > partition > the high watermark of a leader', () => {
  it('moves to the least log end of the ISR as followers fetch', () => {
    const { log, partition } = setup();
    log.logEndOffset = 10;
    expect(partition.applyState(leaderState())).toBe('became-leader');
    expect(log.highWatermark).toBe(0);
    partition.recordFollowerFetch(2, 10, 10);
    expect(log.highWatermark).toBe(0);
    partition.recordFollowerFetch(3, 6, 10);
    expect(log.highWatermark).toBe(6);
    partition.recordFollowerFetch(3, 10, 10);
    expect(log.highWatermark).toBe(10);
  });

  it('is the log end at once when the leader is alone in its ISR', () => {
    const { log, partition } = setup();
    log.logEndOffset = 4;
    partition.applyState(leaderState({ replicas: [1], isr: [1] }));
    expect(log.highWatermark).toBe(4);
    log.logEndOffset = 9;
    partition.afterLeaderAppend();
    expect(log.highWatermark).toBe(9);
  });

  it('never moves back when a follower re-fetches from lower', () => {
    const { log, partition } = setup();
    log.logEndOffset = 10;
    partition.applyState(leaderState({ isr: [1, 2] }));
    partition.recordFollowerFetch(2, 8, 10);
    partition.recordFollowerFetch(2, 5, 10);
    expect(log.highWatermark).toBe(8);
  });
});

describe('replication > partition > acks=all', () => {
  it('completes a waiting produce once every in-sync follower has the batch', async () => {
    const { log, partition } = setup();
    partition.applyState(leaderState({ isr: [1, 2] }));
    log.logEndOffset = 5;
    partition.afterLeaderAppend();
    const waiting = partition.waitForHighWatermark(5, 30_000);
    partition.recordFollowerFetch(2, 5, 5);
    await expect(waiting).resolves.toBe('ok');
  });

  it('times out when the followers do not fetch in time', async () => {
    const { clock, log, partition } = setup();
    partition.applyState(leaderState({ isr: [1, 2] }));
    log.logEndOffset = 5;
    const waiting = partition.waitForHighWatermark(5, 1000);
    clock.advance(1000);
    await expect(waiting).resolves.toBe('timeout');
    expect(clock.pendingTimers).toBe(0);
  });

  it('answers waiting produces at once when leadership moves away', async () => {
    const { clock, log, partition } = setup();
    partition.applyState(leaderState({ isr: [1, 2] }));
    log.logEndOffset = 5;
    const waiting = partition.waitForHighWatermark(5, 30_000);
    expect(partition.applyState(leaderState({ leader: 2, leaderEpoch: 4, partitionEpoch: 8 }))).toBe(
      'became-follower',
    );
    await expect(waiting).resolves.toBe('not-leader');
    expect(clock.pendingTimers).toBe(0);
    await expect(partition.waitForHighWatermark(5, 30_000)).resolves.toBe('not-leader');
  });
});

describe('replication > partition > ISR changes through the controller', () => {
  it('asks to drop a follower that has not caught up for replica.lag.time.max.ms, and applies the answer', async () => {
    const { clock, log, partition, requests, answerAll } = setup();
    log.logEndOffset = 10;
    partition.applyState(leaderState());
    partition.recordFollowerFetch(2, 10, 10);
    partition.recordFollowerFetch(3, 10, 10);
    log.logEndOffset = 20;
    clock.advance(LAG);
    partition.recordFollowerFetch(2, 20, 20);
    partition.maybeChangeIsr();
    expect(requests).toEqual([]);
    clock.advance(1);
    partition.maybeChangeIsr();
    expect(requests).toEqual([
      { topicId: 'AAAAAAAAAAAAAAAAAAAAAA', partition: 0, leaderEpoch: 3, partitionEpoch: 7, newIsr: [1, 2] },
    ]);
    // Not in force until the controller says so: the high watermark still waits for 3.
    expect(partition.state.isr).toEqual([1, 2, 3]);
    expect(log.highWatermark).toBe(10);
    await answerAll();
    expect(partition.state).toMatchObject({ isr: [1, 2], partitionEpoch: 8 });
    expect(log.highWatermark).toBe(20);
  });

  it('asks to take back a follower that caught up, counting it for the high watermark meanwhile', async () => {
    const { log, partition, requests, answerAll } = setup();
    log.logEndOffset = 10;
    partition.applyState(leaderState({ isr: [1, 2] }));
    partition.recordFollowerFetch(2, 10, 10);
    expect(log.highWatermark).toBe(10);
    partition.recordFollowerFetch(3, 10, 10);
    expect(requests.map((r) => r.newIsr)).toEqual([[1, 2, 3]]);
    log.logEndOffset = 12;
    partition.recordFollowerFetch(2, 12, 12);
    expect(log.highWatermark).toBe(10);
    await answerAll();
    expect(partition.state.isr).toEqual([1, 2, 3]);
  });

  it('keeps one request in flight at a time', () => {
    const { clock, log, partition, requests } = setup();
    log.logEndOffset = 10;
    partition.applyState(leaderState());
    clock.advance(LAG + 1);
    partition.maybeChangeIsr();
    partition.maybeChangeIsr();
    expect(requests).toHaveLength(1);
  });

  it('leaves the ISR alone after a refusal until a newer state comes', async () => {
    const { clock, log, partition, requests, answerAll } = setup({
      answer: () => ({ ok: false, errorCode: ErrorCode.INVALID_UPDATE_VERSION, errorMessage: 'stale' }),
    });
    log.logEndOffset = 10;
    partition.applyState(leaderState());
    clock.advance(LAG + 1);
    partition.maybeChangeIsr();
    await answerAll();
    partition.maybeChangeIsr();
    expect(requests).toHaveLength(1);
    expect(partition.state.isr).toEqual([1, 2, 3]);
    partition.applyState(leaderState({ partitionEpoch: 8 }));
    partition.maybeChangeIsr();
    expect(requests).toHaveLength(2);
  });

  it('ignores an answer overtaken by a newer image', async () => {
    const { clock, log, partition, answerAll } = setup();
    log.logEndOffset = 10;
    partition.applyState(leaderState());
    clock.advance(LAG + 1);
    partition.maybeChangeIsr();
    partition.applyState(leaderState({ partitionEpoch: 9, isr: [1, 3] }));
    await answerAll();
    expect(partition.state).toMatchObject({ partitionEpoch: 9, isr: [1, 3] });
  });
});

describe('replication > partition > states from the controller', () => {
  it('ignores a state older than the one it holds', () => {
    const { partition } = setup();
    partition.applyState(leaderState({ leaderEpoch: 5, partitionEpoch: 10 }));
    expect(partition.applyState(leaderState({ leaderEpoch: 4, partitionEpoch: 11 }))).toBe('unchanged');
    expect(partition.applyState(leaderState({ leaderEpoch: 5, partitionEpoch: 10, isr: [1] }))).toBe(
      'unchanged',
    );
    expect(partition.state.leaderEpoch).toBe(5);
  });

  it('follows a new leader at every new leader epoch', () => {
    const { partition } = setup();
    expect(partition.applyState(leaderState({ leader: 2 }))).toBe('became-follower');
    expect(partition.applyState(leaderState({ leader: 2, partitionEpoch: 8, isr: [1, 2] }))).toBe('updated');
    expect(partition.applyState(leaderState({ leader: 3, leaderEpoch: 4, partitionEpoch: 9 }))).toBe(
      'became-follower',
    );
  });

  it('takes a follower’s high watermark from the leader, capped at its own log end', () => {
    const { log, partition } = setup();
    partition.applyState(leaderState({ leader: 2 }));
    log.logEndOffset = 7;
    partition.followLeaderHighWatermark(10);
    expect(log.highWatermark).toBe(7);
  });
});
