import { describe, expect, it } from '@jest/globals';
import { epochEnd, offsetAfter } from '../../../src/broker/fetch-reader.ts';
import { encodeBatch } from '../../../src/protocol/records/index.ts';

describe('fetch reader > where a leader epoch ends', () => {
  // Epoch 1 from offset 0, epoch 3 from 10, epoch 4 from 25; the log ends at 40.
  const entries = [
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 10 },
    { epoch: 4, startOffset: 25 },
  ];

  it('ends the latest epoch at the log end', () => {
    expect(epochEnd(entries, 4, 40, 4)).toEqual({ epoch: 4, endOffset: 40 });
  });

  it('ends an older epoch where the next begins, naming the last epoch at or below it', () => {
    expect(epochEnd(entries, 4, 40, 1)).toEqual({ epoch: 1, endOffset: 10 });
    expect(epochEnd(entries, 4, 40, 2)).toEqual({ epoch: 1, endOffset: 10 });
    expect(epochEnd(entries, 4, 40, 3)).toEqual({ epoch: 3, endOffset: 25 });
  });

  it('answers an epoch older than every entry with the first entry’s start', () => {
    expect(epochEnd(entries.slice(1), 4, 40, 0)).toEqual({ epoch: 0, endOffset: 10 });
  });

  it('knows the current leader epoch before anything is written in it', () => {
    expect(epochEnd([], 0, 0, 0)).toEqual({ epoch: 0, endOffset: 0 });
    expect(epochEnd(entries, 6, 40, 6)).toEqual({ epoch: 6, endOffset: 40 });
    // The epoch written last now ends where the leader's own epoch began: the log end.
    expect(epochEnd(entries, 6, 40, 4)).toEqual({ epoch: 4, endOffset: 40 });
    expect(epochEnd(entries, 6, 40, 5)).toEqual({ epoch: 4, endOffset: 40 });
  });

  it('cannot place an epoch newer than the leader’s, or none', () => {
    expect(epochEnd(entries, 4, 40, 5)).toEqual({ epoch: -1, endOffset: -1 });
    expect(epochEnd(entries, 4, 40, -1)).toEqual({ epoch: -1, endOffset: -1 });
  });
});

describe('fetch reader > the offset after what was read', () => {
  const batch = (baseOffset: number, n: number) =>
    encodeBatch({
      baseOffset,
      records: Array.from({ length: n }, (_, i) => ({ value: Buffer.from(`v${i}`) })),
    });

  it('is the offset after the last record of the last batch', () => {
    expect(offsetAfter(Buffer.concat([batch(5, 3), batch(8, 2)]), 5)).toBe(10);
  });

  it('is the fetch offset when nothing was read', () => {
    expect(offsetAfter(Buffer.alloc(0), 7)).toBe(7);
  });
});
