import { describe, expect, it } from '@jest/globals';
import { LeaderEpochCache } from '../../../src/storage/leader-epoch-cache.ts';
import { OffsetIndex } from '../../../src/storage/offset-index.ts';
import { TimeIndex } from '../../../src/storage/time-index.ts';

describe('offset index', () => {
  const index = new OffsetIndex(100);
  for (const [o, p] of [
    [110, 4096],
    [120, 8192],
    [130, 12288],
  ])
    index.append(o, p);

  it('finds the greatest entry at or below the target', () => {
    expect(index.lookup(120)).toEqual({ offset: 120, position: 8192 });
    expect(index.lookup(129)).toEqual({ offset: 120, position: 8192 });
    expect(index.lookup(10_000)).toEqual({ offset: 130, position: 12288 });
  });

  it('answers the segment start below its first entry and below its base offset', () => {
    expect(index.lookup(109)).toEqual({ offset: 100, position: 0 });
    expect(index.lookup(5)).toEqual({ offset: 100, position: 0 });
  });

  it('survives a round trip through its bytes and truncates at an offset', () => {
    const copy = new OffsetIndex(100, index.toBuffer());
    copy.truncateTo(120);
    expect(copy.entries).toBe(1);
    expect(copy.lookup(125)).toEqual({ offset: 110, position: 4096 });
  });

  it('refuses entries that do not increase', () => {
    expect(() => index.append(125, 20000)).toThrow();
  });
});

describe('time index', () => {
  it('points a timestamp lookup at the last entry strictly before it', () => {
    const t = new TimeIndex(0);
    t.maybeAppend(1000, 10);
    t.maybeAppend(900, 20); // not an increase: ignored
    t.maybeAppend(2000, 30);
    expect(t.entries).toBe(2);
    expect(t.lookup(500)).toBe(0);
    expect(t.lookup(1500)).toBe(10);
    expect(t.lookup(2000)).toBe(10);
    expect(t.lookup(2001)).toBe(30);
  });
});

describe('leader epoch cache', () => {
  it('answers OffsetsForLeaderEpoch and follows truncation at both ends', () => {
    const c = new LeaderEpochCache();
    c.assign(1, 0);
    c.assign(3, 50);
    c.assign(4, 80);
    expect(c.endOffsetFor(2, 100)).toEqual({ epoch: 1, endOffset: 50 });
    expect(c.endOffsetFor(4, 100)).toEqual({ epoch: 4, endOffset: 100 });
    expect(c.endOffsetFor(0, 100)).toEqual({ epoch: -1, endOffset: -1 });
    c.truncateFromEnd(60);
    expect(c.entries).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 50 },
    ]);
    c.truncateFromStart(55);
    expect(c.entries).toEqual([{ epoch: 3, startOffset: 55 }]);
  });
});
