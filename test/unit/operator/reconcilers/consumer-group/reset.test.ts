import { describe, expect, it } from '@jest/globals';
import type { OffsetReset } from '../../../../../src/operator/api/consumer-group.ts';
import {
  groupBecameActive,
  resetOutcome,
  resetScope,
  resetTargets,
  type ResetScopeInput,
} from '../../../../../src/operator/reconcilers/consumer-group/reset.ts';
import { committed, group, NOW, offsets } from './fixtures.ts';

const TOPICS = new Map([
  ['orders', [0, 1, 2]],
  ['audit', [0]],
]);

function scope(reset: OffsetReset | undefined, over: Partial<ResetScopeInput> = {}) {
  return resetScope({
    reset,
    previous: undefined,
    group: group('Empty'),
    committed: committed(['orders', 0, 5], ['audit', 0, 3]),
    topics: TOPICS,
    nowMs: NOW,
    ...over,
  });
}

const earliest: OffsetReset = { requestId: 'r1', to: 'earliest' };

describe('consumer group > offset reset > scope', () => {
  it('does nothing without a request', () => {
    expect(scope(undefined)).toEqual({ kind: 'none' });
  });

  it('does nothing for a request already carried out, succeeded or failed', () => {
    for (const state of ['Succeeded', 'Failed'] as const) {
      expect(scope(earliest, { previous: { requestId: 'r1', state } })).toEqual({ kind: 'none' });
    }
  });

  it('waits while the group has members, naming them', () => {
    const s = scope(earliest, { group: group('Stable', 2) });
    expect(s.kind).toBe('pending');
    const status = (s as { status: { state: string; message: string } }).status;
    expect(status.state).toBe('Pending');
    expect(status.message).toContain('the 2 active members of group billing (Stable)');
    expect(status.message).toContain('billing-0-a1b2 (client billing-0 on /10.0.0.1)');
    expect(status.message).toContain('billing-1-a1b2');
  });

  it('keeps the time a pending request started waiting', () => {
    const previous = {
      requestId: 'r1',
      state: 'Pending' as const,
      lastTransitionTime: '2024-01-01T00:00:00Z',
    };
    const s = scope(earliest, { group: group('PreparingRebalance', 1), previous });
    expect((s as { status: { lastTransitionTime: string } }).status.lastTransitionTime).toBe(
      '2024-01-01T00:00:00Z',
    );
  });

  it('runs a pending request once the group is empty', () => {
    const previous = { requestId: 'r1', state: 'Pending' as const };
    expect(scope(earliest, { previous }).kind).toBe('run');
  });

  it('moves every partition the group has offsets for when no topic is named', () => {
    expect(scope(earliest)).toEqual({
      kind: 'run',
      partitions: [
        { topic: 'audit', partition: 0 },
        { topic: 'orders', partition: 0 },
      ],
    });
  });

  it('moves every partition of a named topic, or only those named', () => {
    expect(scope({ ...earliest, topics: [{ name: 'orders' }] })).toMatchObject({
      partitions: [0, 1, 2].map((partition) => ({ topic: 'orders', partition })),
    });
    expect(scope({ ...earliest, topics: [{ name: 'orders', partitions: [2, 1] }] })).toMatchObject({
      partitions: [1, 2].map((partition) => ({ topic: 'orders', partition })),
    });
  });

  it('runs for a group Kafka does not have yet (Dead): the commit creates it', () => {
    const s = scope({ ...earliest, topics: [{ name: 'audit' }] }, { group: group('Dead'), committed: [] });
    expect(s.kind).toBe('run');
  });

  it('fails a request for a topic the cluster does not have', () => {
    const s = scope({ ...earliest, topics: [{ name: 'nope' }] });
    expect(s).toMatchObject({ kind: 'failed', status: { state: 'Failed', requestId: 'r1' } });
    expect((s as { status: { message: string } }).status.message).toContain('topic nope does not exist');
  });

  it('fails a request for partitions the topic does not have', () => {
    const s = scope({ ...earliest, topics: [{ name: 'orders', partitions: [1, 7] }] });
    expect((s as { status: { message: string } }).status.message).toContain(
      'topic orders has no partition 7 (it has 3)',
    );
  });

  it('fails a request naming no topic for a group without offsets', () => {
    const s = scope(earliest, { committed: [] });
    expect((s as { status: { message: string } }).status.message).toContain('name the topics');
  });
});

describe('consumer group > offset reset > targets', () => {
  const parts = [
    { topic: 'orders', partition: 0 },
    { topic: 'orders', partition: 1 },
  ];
  const log = {
    start: offsets(['orders', 0, 10], ['orders', 1, 0]),
    end: offsets(['orders', 0, 100], ['orders', 1, 50]),
  };
  const targets = (reset: OffsetReset, atTime?: Map<string, bigint>) =>
    resetTargets(reset, parts, { ...log, atTime }).map((t) => Number(t.offset));

  it('moves to the log start or the log end', () => {
    expect(targets(earliest)).toEqual([10, 0]);
    expect(targets({ requestId: 'r', to: 'latest' })).toEqual([100, 50]);
  });

  it('clamps an explicit offset into the log', () => {
    expect(targets({ requestId: 'r', to: 'offset', offset: 5 })).toEqual([10, 5]);
    expect(targets({ requestId: 'r', to: 'offset', offset: 70 })).toEqual([70, 50]);
  });

  it('moves to the first offset at the timestamp, or to the log end when no record is that late', () => {
    const reset: OffsetReset = { requestId: 'r', to: 'timestamp', timestamp: '2024-05-01T00:00:00Z' };
    expect(targets(reset, offsets(['orders', 0, 42], ['orders', 1, -1]))).toEqual([42, 50]);
  });
});

describe('consumer group > offset reset > outcome', () => {
  const targets = committed(['orders', 0, 10], ['orders', 1, 0]);

  it('succeeds naming what moved where', () => {
    const errors = targets.map((t) => ({ ...t, errorCode: 0 }));
    const s = resetOutcome(earliest, 'billing', targets, errors, undefined, NOW);
    expect(s).toMatchObject({
      requestId: 'r1',
      state: 'Succeeded',
      lastTransitionTime: '2024-05-01T12:00:00Z',
    });
    expect(s.message).toContain('reset 2 partitions of group billing to the earliest offset');
    expect(s.message).toContain('orders-0 → 10, orders-1 → 0');
  });

  it('fails naming each partition the coordinator refused and why', () => {
    const errors = [
      { topic: 'orders', partition: 0, errorCode: 0 },
      { topic: 'orders', partition: 1, errorCode: 3 },
    ];
    const s = resetOutcome(earliest, 'billing', targets, errors, undefined, NOW);
    expect(s.state).toBe('Failed');
    expect(s.message).toContain('refused 1 of 2 partitions (orders-1: UNKNOWN_TOPIC_OR_PARTITION)');
  });

  it('tells a refusal because members joined from other refusals', () => {
    expect(groupBecameActive(25)).toBe(true); // UNKNOWN_MEMBER_ID
    expect(groupBecameActive(27)).toBe(true); // REBALANCE_IN_PROGRESS
    expect(groupBecameActive(3)).toBe(false);
  });
});
