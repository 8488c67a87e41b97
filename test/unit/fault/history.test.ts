/**
 * The history checker the replication tests judge clusters with (history.ts): each kind of problem
 * it must report, and a clean history it must pass.
 */
import { describe, expect, it } from '@jest/globals';
import { History } from '../../fault/history.ts';

/** A history where producer p sent ids r0..r(n-1) to partition 0, each acknowledged at its index. */
function acknowledged(n: number): History {
  const h = new History();
  for (let i = 0; i < n; i++) {
    h.send({ id: `r${i}`, producer: 'p', seq: i, partition: 0 });
    h.ack(`r${i}`, 0, i);
  }
  return h;
}

const kinds = (h: History) => h.check().problems.map((p) => p.kind);

describe('replication > history checker', () => {
  it('passes a history where every acknowledged record was read where it was acknowledged, in order', () => {
    const h = acknowledged(3);
    h.send({ id: 'unacked', producer: 'p', seq: 3, partition: 0 });
    h.fail('unacked', 'timed out');
    for (let i = 0; i < 3; i++) h.read(`r${i}`, 0, i);
    h.read('r1', 0, 1); // a redelivery of the same position is no duplicate
    expect(h.check()).toEqual({ sent: 4, acknowledged: 3, failed: 1, read: 3, commits: 0, problems: [] });
  });

  it('reports an acknowledged record never read as lost', () => {
    const h = acknowledged(2);
    h.read('r0', 0, 0);
    expect(h.check().problems).toEqual([{ kind: 'lost', detail: 'r1 acknowledged at 0@1, never read' }]);
  });

  it('reports a record read at two offsets as a duplicate', () => {
    const h = acknowledged(2);
    h.read('r0', 0, 0);
    h.read('r1', 0, 1);
    h.read('r1', 0, 2);
    expect(kinds(h)).toEqual(['duplicate']);
  });

  it('reports a record read at another offset than acknowledged', () => {
    const h = acknowledged(1);
    h.read('r0', 0, 5);
    expect(h.check().problems).toEqual([
      { kind: 'offset-mismatch', detail: 'r0 acknowledged at 0@0, read at 0@5' },
    ]);
  });

  it("reports one producer's records stored out of send order, even unacknowledged ones", () => {
    const h = new History();
    h.send({ id: 'a', producer: 'p', seq: 0, partition: 0 });
    h.send({ id: 'b', producer: 'p', seq: 1, partition: 0 });
    h.read('b', 0, 0);
    h.read('a', 0, 1);
    expect(kinds(h)).toEqual(['order']);
  });

  it('does not order records of different producers or partitions against each other', () => {
    const h = new History();
    h.send({ id: 'p1', producer: 'one', seq: 1, partition: 0 });
    h.send({ id: 'p0', producer: 'two', seq: 0, partition: 0 });
    h.send({ id: 'q0', producer: 'one', seq: 0, partition: 1 });
    h.read('p1', 0, 0);
    h.read('p0', 0, 1);
    h.read('q0', 1, 0);
    expect(h.check().problems).toEqual([]);
  });

  it('reports two records read at one offset as a conflict', () => {
    const h = acknowledged(2);
    h.read('r0', 0, 0);
    h.read('r1', 0, 0);
    expect(kinds(h)).toContain('conflict');
  });

  it('reports a record nobody sent', () => {
    const h = new History();
    h.read('ghost', 0, 0);
    expect(kinds(h)).toEqual(['unknown']);
  });

  it("reports a group's committed offset going back, per partition", () => {
    const h = new History();
    h.commit('g', 0, 10);
    h.commit('g', 1, 3);
    h.commit('g', 0, 10);
    h.commit('g', 0, 12);
    h.commit('g', 1, 2);
    expect(h.check().problems).toEqual([
      { kind: 'commit-regression', detail: 'group g partition 1: committed 2 after 3' },
    ]);
  });
});
