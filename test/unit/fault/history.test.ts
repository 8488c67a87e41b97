/**
 * The history checker the fault and replication tests judge clusters with (history.ts), on the log
 * itself: each kind of problem about records it must report, and the cases it must allow (records
 * in doubt read or not, a non-idempotent producer's duplicates). Consumer groups: history-consumers.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { History } from '../../fault/history.ts';

/** A history where producer p sent ids r0..r(n-1) to partition 0, each acknowledged at its index. */
function acknowledged(n: number): History {
  const h = new History();
  for (let i = 0; i < n; i++) {
    h.send({ id: `r${i}`, producer: 'p', seq: i, partition: 0 }, T + i);
    h.ack(`r${i}`, 0, i, T + i);
  }
  return h;
}

/** 2026-12-05 08:00:00.000 UTC */
const T = Date.UTC(2026, 11, 5, 8);

describe('fault > history checker > records', () => {
  it('passes a history where every acknowledged record was read where it was acknowledged, in order', () => {
    const h = acknowledged(3);
    h.send({ id: 'unacked', producer: 'p', seq: 3, partition: 0 });
    h.fail('unacked', 'timed out');
    for (let i = 0; i < 3; i++) h.read(`r${i}`, 0, i);
    h.read('r1', 0, 1); // a redelivery of the same position is no duplicate
    expect(h.check()).toEqual({
      sent: 4,
      acknowledged: 3,
      failed: 1,
      inDoubt: 1,
      unanswered: 0,
      failedDefinitely: 0,
      read: 3,
      redelivered: 0,
      consumed: 0,
      reconsumed: 0,
      assignments: 0,
      commits: 0,
      problems: [],
    });
  });

  it('reports an acknowledged record never read as lost', () => {
    const h = acknowledged(2);
    h.read('r0', 0, 0);
    expect(h.check().problems).toEqual([
      { kind: 'lost', detail: 'r1 acknowledged at 0@1 (08:00:00.001), never read' },
    ]);
  });

  it('reports a record read at two offsets as a duplicate', () => {
    const h = acknowledged(2);
    h.read('r0', 0, 0);
    h.read('r1', 0, 1);
    h.read('r1', 0, 2);
    expect(h.check().problems).toEqual([{ kind: 'duplicate', detail: 'r1 (producer p) read at 0@1, 0@2' }]);
  });

  it('reports a record read at another offset than acknowledged', () => {
    const h = acknowledged(1);
    h.read('r0', 0, 5);
    expect(h.check().problems).toEqual([
      { kind: 'offset-mismatch', detail: 'r0 acknowledged at 0@0 (08:00:00.000), read at 0@5' },
    ]);
  });

  it("reports one producer's records stored out of send order, even unacknowledged ones", () => {
    const h = new History();
    h.send({ id: 'a', producer: 'p', seq: 0, partition: 0 });
    h.send({ id: 'b', producer: 'p', seq: 1, partition: 0 });
    h.read('b', 0, 0);
    h.read('a', 0, 1);
    expect(h.check().problems).toEqual([
      { kind: 'order', detail: 'producer/partition p/0: a (sent 0) at 1 after b (sent 1) at 0' },
    ]);
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
    h.read('r1', 0, 1);
    expect(h.check().problems).toEqual([{ kind: 'conflict', detail: '0@0 read as r0 and as r1' }]);
  });

  it('reports a record nobody sent', () => {
    const h = new History();
    h.read('ghost', 0, 3);
    expect(h.check().problems).toEqual([{ kind: 'unknown', detail: 'ghost read at 0@3' }]);
  });

  it("reports a group's committed offset going back, per partition", () => {
    const h = new History();
    h.commit('g', 0, 10, { at: T });
    h.commit('g', 1, 3, { at: T + 1 });
    h.commit('g', 0, 10, { at: T + 2 });
    h.commit('g', 0, 12, { at: T + 3 });
    h.commit('g', 1, 2, { at: T + 4 });
    expect(h.check().problems).toEqual([
      {
        kind: 'commit-regression',
        detail: 'group g partition 1: committed 2 (08:00:00.004) after 3 (08:00:00.001)',
      },
    ]);
  });

  it('allows records in doubt, failed or never answered, to be read or not', () => {
    const h = acknowledged(1);
    for (const [seq, id] of ['timeout', 'disconnect', 'silent', 'silent-unread'].entries())
      h.send({ id, producer: 'p', seq: seq + 1, partition: 0 });
    h.fail('timeout', 'timed out');
    h.fail('disconnect', 'connection closed', { at: T });
    h.read('r0', 0, 0);
    h.read('timeout', 0, 1);
    h.read('silent', 0, 2);
    const report = h.check();
    expect(report.problems).toEqual([]);
    expect([report.failed, report.inDoubt, report.unanswered, report.failedDefinitely]).toEqual([2, 4, 2, 0]);
  });

  it('reports a record read whose send definitely failed, with the failure', () => {
    const h = acknowledged(1);
    h.send({ id: 'refused', producer: 'p', seq: 1, partition: 0 });
    h.fail('refused', 'NOT_ENOUGH_REPLICAS', { definite: true, at: T + 5 });
    h.read('r0', 0, 0);
    h.read('refused', 0, 1);
    expect(h.check().problems).toEqual([
      {
        kind: 'unacknowledged-read',
        detail: 'refused failed definitely (08:00:00.005: NOT_ENOUGH_REPLICAS), read at 0@1',
      },
    ]);
    expect(h.check().failedDefinitely).toBe(1);
  });

  it("counts a non-idempotent producer's record stored twice as redelivered, not a duplicate", () => {
    const h = new History();
    h.send({ id: 'a', producer: 'p', seq: 0, idempotent: false });
    h.send({ id: 'b', producer: 'p', seq: 1, idempotent: false });
    h.ack('a', 0, 1); // the retry's acknowledgement
    h.ack('b', 0, 2);
    for (const [offset, id] of ['a', 'a', 'b'].entries()) h.read(id, 0, offset);
    const report = h.check();
    expect(report.problems).toEqual([]);
    expect(report.redelivered).toBe(1);
  });

  it("reports a key's acknowledged records stored out of send order, naming them", () => {
    const h = new History();
    h.send({ id: 'k1', producer: 'p', seq: 0, key: 'user-7' });
    h.send({ id: 'other', producer: 'p', seq: 1, key: 'user-8' });
    h.send({ id: 'k2', producer: 'p', seq: 2, key: 'user-7' });
    h.ack('k2', 1, 0);
    h.ack('other', 1, 1);
    h.ack('k1', 1, 2);
    for (const [offset, id] of ['k2', 'other', 'k1'].entries()) h.read(id, 1, offset);
    expect(h.check().problems).toEqual([
      { kind: 'key-order', detail: 'producer p key "user-7": k1 (sent 0) at 1@2 after k2 (sent 2) at 1@0' },
    ]);
  });

  it("reports a key's acknowledged records stored in two partitions", () => {
    const h = new History();
    h.send({ id: 'k1', producer: 'p', seq: 0, key: 'user-7' });
    h.send({ id: 'k2', producer: 'p', seq: 1, key: 'user-7' });
    h.ack('k1', 0, 0);
    h.ack('k2', 1, 0);
    h.read('k1', 0, 0);
    h.read('k2', 1, 0);
    expect(h.check().problems).toEqual([
      {
        kind: 'key-order',
        detail: 'producer p key "user-7": acknowledged in 2 partitions (k1 in 0, k2 in 1)',
      },
    ]);
  });

  it('does not order keyed records of one producer across keys, nor across producers', () => {
    const h = new History();
    h.send({ id: 'x', producer: 'p', seq: 1, key: 'a' });
    h.send({ id: 'y', producer: 'p', seq: 0, key: 'b' });
    h.send({ id: 'z', producer: 'q', seq: 0, key: 'a' });
    for (const [offset, id] of ['x', 'y', 'z'].entries()) {
      h.ack(id, 0, offset);
      h.read(id, 0, offset);
    }
    expect(h.check().problems).toEqual([]);
  });
});
