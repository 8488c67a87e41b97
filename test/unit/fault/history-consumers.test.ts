/**
 * The history checker on consumer groups (history-consumers.ts): members that go back, commits not
 * honoured after a rebalance, two owners of a partition in one generation — and the redelivery a
 * rebalance legitimately causes, from the committed offset.
 */
import { describe, expect, it } from '@jest/globals';
import { History } from '../../fault/history.ts';

/** 2026-12-05 08:00:00.000 UTC */
const T = Date.UTC(2026, 11, 5, 8);

/**
 * Ten records r0..r9 at offsets 0..9 of partition 0, and four s0..s3 at 0..3 of partition 1: sent,
 * and acknowledged when `acked` (then the test must read them all).
 */
function produced(acked = false): History {
  const h = new History();
  for (let i = 0; i < 10; i++) {
    h.send({ id: `r${i}`, producer: 'p', seq: i }, T);
    if (acked) h.ack(`r${i}`, 0, i, T);
  }
  for (let i = 0; i < 4; i++) {
    h.send({ id: `s${i}`, producer: 'q', seq: i }, T);
    if (acked) h.ack(`s${i}`, 1, i, T);
  }
  return h;
}

/** Member `member` of group g consumes offsets `from`..`to` (inclusive) of partition 0, 1 ms apart. */
function consume(
  h: History,
  o: { member: string; generation: number; from: number; to: number; at: number },
) {
  for (let offset = o.from; offset <= o.to; offset++) {
    const { member, generation } = o;
    h.consumed({ group: 'g', member, generation, partition: 0, offset, id: `r${offset}`, at: o.at + offset });
  }
}

describe('fault > history checker > consumer groups', () => {
  it('passes a rebalance that redelivers from the committed offset', () => {
    const h = produced(true);
    h.assigned({ group: 'g', member: 'a', generation: 1, partitions: [0, 1], at: T + 100 });
    consume(h, { member: 'a', generation: 1, from: 0, to: 6, at: T + 100 });
    h.commit('g', 0, 4, { member: 'a', generation: 1, at: T + 110 });
    for (let i = 0; i < 4; i++)
      h.consumed({
        group: 'g',
        member: 'a',
        generation: 1,
        partition: 1,
        offset: i,
        id: `s${i}`,
        at: T + 111,
      });
    // b joins: a keeps partition 1, b takes partition 0 from offset 4 and reads 4..6 again.
    h.assigned({ group: 'g', member: 'a', generation: 2, partitions: [1], at: T + 200 });
    h.assigned({ group: 'g', member: 'b', generation: 2, partitions: [0], at: T + 200 });
    consume(h, { member: 'b', generation: 2, from: 4, to: 9, at: T + 200 });
    h.commit('g', 0, 10, { member: 'b', generation: 2, at: T + 300 });
    h.commit('g', 1, 4, { member: 'a', generation: 2, at: T + 300 });
    const report = h.check();
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ consumed: 17, reconsumed: 3, assignments: 3, commits: 3, read: 14 });
  });

  it('reports a member reading an offset again within one generation', () => {
    const h = produced();
    h.assigned({ group: 'g', member: 'a', generation: 1, partitions: [0], at: T + 100 });
    consume(h, { member: 'a', generation: 1, from: 0, to: 9, at: T + 100 });
    h.consumed({ group: 'g', member: 'a', generation: 1, partition: 0, offset: 9, id: 'r9', at: T + 120 });
    expect(h.check().problems).toEqual([
      {
        kind: 'consumer-backwards',
        detail:
          'group g member a generation 1 partition 0: r9 at 9 (08:00:00.120) after r9 at 9 (08:00:00.109)',
      },
    ]);
  });

  it('reports a member starting a newly assigned partition below what the group had committed', () => {
    const h = produced();
    h.assigned({ group: 'g', member: 'a', generation: 1, partitions: [0], at: T + 100 });
    consume(h, { member: 'a', generation: 1, from: 0, to: 6, at: T + 100 });
    h.commit('g', 0, 7, { member: 'a', generation: 1, at: T + 110 });
    h.assigned({ group: 'g', member: 'b', generation: 2, partitions: [0], at: T + 200 });
    consume(h, { member: 'b', generation: 2, from: 5, to: 9, at: T + 200 });
    expect(h.check().problems).toEqual([
      {
        kind: 'consumer-backwards',
        detail:
          'group g member b: first read 0@5 (r5, 08:00:00.205) after its assignment (08:00:00.200), below offset 7 committed (08:00:00.110)',
      },
    ]);
  });

  it('judges a commit after the assignment only against later assignments', () => {
    const h = produced();
    h.assigned({ group: 'g', member: 'a', generation: 1, partitions: [0], at: T + 100 });
    h.assigned({ group: 'g', member: 'b', generation: 1, partitions: [1], at: T + 100 });
    h.commit('g', 0, 7, { at: T + 101 }); // e.g. an admin reset, after a fetched its position
    consume(h, { member: 'a', generation: 1, from: 0, to: 9, at: T + 100 });
    expect(h.check().problems).toEqual([]);
  });

  it('takes the events of one millisecond in the order they were recorded', () => {
    const h = produced();
    const at = T + 100;
    h.assigned({ group: 'g', member: 'a', generation: 1, partitions: [0], at });
    for (let offset = 0; offset < 7; offset++)
      h.consumed({ group: 'g', member: 'a', generation: 1, partition: 0, offset, id: `r${offset}`, at });
    h.commit('g', 0, 7, { member: 'a', generation: 1, at });
    h.assigned({ group: 'g', member: 'a', generation: 2, partitions: [0], at });
    for (let offset = 7; offset < 10; offset++)
      h.consumed({ group: 'g', member: 'a', generation: 2, partition: 0, offset, id: `r${offset}`, at });
    expect(h.check().problems).toEqual([]);
  });

  it('reports two members assigned one partition in one generation', () => {
    const h = produced();
    h.assigned({ group: 'g', member: 'a', generation: 3, partitions: [0, 1], at: T + 100 });
    h.assigned({ group: 'g', member: 'b', generation: 3, partitions: [1], at: T + 101 });
    h.assigned({ group: 'g', member: 'b', generation: 4, partitions: [0], at: T + 200 });
    h.assigned({ group: 'other', member: 'c', generation: 3, partitions: [0], at: T + 100 });
    expect(h.check().problems).toEqual([
      {
        kind: 'split-ownership',
        detail:
          'group g generation 3 partition 1: owned by a (assigned 08:00:00.100), b (assigned 08:00:00.101)',
      },
    ]);
  });

  it('reports two members committing one partition in one generation', () => {
    const h = produced();
    h.commit('g', 0, 3, { member: 'a', generation: 5, at: T + 100 });
    h.commit('g', 0, 4, { member: 'a', generation: 5, at: T + 101 });
    h.commit('g', 0, 5, { member: 'b', generation: 5, at: T + 102 });
    h.commit('g', 0, 6, { member: 'b', generation: 6, at: T + 103 });
    expect(h.check().problems).toEqual([
      {
        kind: 'split-ownership',
        detail:
          'group g generation 5 partition 0: owned by a (committed 3 08:00:00.100), b (committed 5 08:00:00.102)',
      },
    ]);
  });

  it('does not compare assignments whose generation the client did not know', () => {
    const h = produced();
    h.assigned({ group: 'g', member: 'a', partitions: [0], at: T + 100 });
    h.assigned({ group: 'g', member: 'b', partitions: [0], at: T + 100 });
    expect(h.check().problems).toEqual([]);
  });

  it('judges consumed records as reads: at the acknowledged offset, and sent by someone', () => {
    const h = produced(true);
    h.assigned({ group: 'g', member: 'a', generation: 1, partitions: [0, 1], at: T + 100 });
    consume(h, { member: 'a', generation: 1, from: 0, to: 9, at: T + 100 });
    for (let i = 0; i < 4; i++)
      h.consumed({ group: 'g', member: 'a', generation: 1, partition: 1, offset: i, id: `s${3 - i}` });
    h.consumed({ group: 'g', member: 'a', generation: 1, partition: 1, offset: 4, id: 'ghost' });
    expect(
      h
        .check()
        .problems.map((p) => p.kind)
        .sort(),
    ).toEqual([
      'offset-mismatch',
      'offset-mismatch',
      'offset-mismatch',
      'offset-mismatch',
      'order',
      'order',
      'order',
      'unknown',
    ]);
  });
});
