import { describe, expect, it } from '@jest/globals';
import { appendRuns } from '../../../../src/broker/replication/append-runs.ts';
import { encodeBatch } from '../../../../src/protocol/records/index.ts';

/** Batches of `sizes[i]` value bytes each, at consecutive offsets. */
function batches(...sizes: number[]): Buffer[] {
  return sizes.map((n, i) =>
    encodeBatch({
      baseOffset: i,
      partitionLeaderEpoch: 3,
      records: [{ value: Buffer.alloc(n, i), timestamp: 1 }],
    }),
  );
}

describe('replication > a follower’s append of a fetch, in runs that fit a segment', () => {
  it('appends a fetch that fits in one run', () => {
    const bs = batches(10, 20, 30);
    const fetched = Buffer.concat(bs);
    expect(appendRuns(fetched, fetched.length)).toEqual([fetched]);
  });

  it('cuts a fetch larger than a segment at batch boundaries, each run at most a segment, nothing lost', () => {
    const bs = batches(100, 100, 100, 100, 100);
    const fetched = Buffer.concat(bs);
    const segmentBytes = 2 * bs[0]!.length + 10;
    const runs = appendRuns(fetched, segmentBytes);
    expect(runs.map((r) => r.length)).toEqual([2, 2, 1].map((n) => n * bs[0]!.length));
    expect(Buffer.concat(runs).equals(fetched)).toBe(true);
    for (const r of runs) expect(r.length).toBeLessThanOrEqual(segmentBytes);
  });

  it('gives a batch larger than a segment a run of its own', () => {
    const bs = batches(10, 500, 10);
    const runs = appendRuns(Buffer.concat(bs), bs[0]!.length + 5);
    expect(runs).toEqual(bs);
  });

  it('leaves out a batch the fetch cut short', () => {
    const bs = batches(10, 10);
    const fetched = Buffer.concat([bs[0]!, bs[1]!.subarray(0, bs[1]!.length - 1)]);
    expect(appendRuns(fetched, 1 << 20)).toEqual([bs[0]]);
  });

  it('has nothing to append from an empty fetch', () => {
    expect(appendRuns(Buffer.alloc(0), 4096)).toEqual([]);
  });
});
