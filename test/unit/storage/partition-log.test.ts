import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../src/common/clock.ts';
import { decodeRecords } from '../../../src/protocol/records/index.ts';
import type { PartitionLog } from '../../../src/storage/partition-log.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP } from '../../../src/storage/partition-log.ts';
import { batchBasesIn, makeBatch, offsetsIn, openLog, readAll, tempDir } from './fixtures/helpers.ts';

let dir: ReturnType<typeof tempDir>;
let log: PartitionLog | undefined;

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await log?.close();
  log = undefined;
  dir.cleanup();
});

describe('partition log > append', () => {
  it('assigns consecutive offsets from the log end and stamps the leader epoch', async () => {
    log = await openLog(dir.path);
    const a = await log.append(makeBatch({ count: 3 }), { leaderEpoch: 5 });
    const b = await log.append(makeBatch({ count: 2 }), { leaderEpoch: 5 });
    expect([a.baseOffset, a.lastOffset, b.baseOffset, b.lastOffset]).toEqual([0, 2, 3, 4]);
    expect(log.logEndOffset).toBe(5);
    const batches = decodeRecords((await log.read(0, { maxBytes: 1 << 20 })).records);
    expect(batches.map((x) => [x.baseOffset, x.partitionLeaderEpoch])).toEqual([
      [0, 5],
      [3, 5],
    ]);
  });

  it('returns the append time from its clock', async () => {
    const clock = new FakeClock(42_000);
    log = await openLog(dir.path, { clock });
    expect((await log.append(makeBatch(), { leaderEpoch: 0 })).appendTime).toBe(42_000);
  });

  it('writes concurrent appends in the order they were called', async () => {
    log = await openLog(dir.path);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => log!.append(makeBatch({ count: i + 1 }), { leaderEpoch: 0 })),
    );
    let next = 0;
    for (const [i, r] of results.entries()) {
      expect(r.baseOffset).toBe(next);
      next += i + 1;
      expect(r.lastOffset).toBe(next - 1);
    }
    expect(offsetsIn(await readAll(log))).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('refuses a batch whose CRC does not match, with CORRUPT_MESSAGE', async () => {
    log = await openLog(dir.path);
    const bad = makeBatch();
    bad[bad.length - 1] ^= 0xff;
    await expect(log.append(bad, { leaderEpoch: 0 })).rejects.toMatchObject({ errorCode: 2 });
    expect(log.logEndOffset).toBe(0);
  });

  it('records a new leader epoch with the offset it starts at', async () => {
    log = await openLog(dir.path);
    await log.append(makeBatch({ count: 2 }), { leaderEpoch: 1 });
    await log.append(makeBatch({ count: 2 }), { leaderEpoch: 3 });
    await log.append(makeBatch({ count: 2 }), { leaderEpoch: 3 });
    expect(log.leaderEpochs).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 2 },
    ]);
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 2 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, endOffset: 2 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 6 });
  });

  it('keeps a follower’s offsets and epochs as the leader wrote them', async () => {
    const leaderDir = tempDir();
    const leader = await openLog(leaderDir.path);
    await leader.append(makeBatch({ count: 3 }), { leaderEpoch: 7 });
    await leader.append(makeBatch({ count: 1 }), { leaderEpoch: 8 });
    const fetched = (await leader.read(0, { maxBytes: 1 << 20 })).records;
    await leader.close();
    leaderDir.cleanup();

    log = await openLog(dir.path);
    const r = await log.appendAsFollower(Buffer.from(fetched));
    expect([r.baseOffset, r.lastOffset]).toEqual([0, 3]);
    expect(log.leaderEpochs).toEqual([
      { epoch: 7, startOffset: 0 },
      { epoch: 8, startOffset: 3 },
    ]);
    expect((await log.read(0, { maxBytes: 1 << 20 })).records.equals(fetched)).toBe(true);
  });
});

describe('partition log > segments', () => {
  it('rolls a new segment when the next batch would pass segment.bytes', async () => {
    log = await openLog(dir.path, { config: { segmentBytes: 1000 } });
    for (let i = 0; i < 10; i++) await log.append(makeBatch({ valueBytes: 300 }), { leaderEpoch: 0 });
    expect(log.segmentCount).toBe(5);
    expect(offsetsIn(await readAll(log))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('rolls a new segment once the active one is segment.ms old', async () => {
    const clock = new FakeClock(1_700_000_000_000);
    log = await openLog(dir.path, { clock, config: { segmentMs: 60_000 } });
    await log.append(makeBatch(), { leaderEpoch: 0 });
    clock.advance(30_000);
    await log.append(makeBatch(), { leaderEpoch: 0 });
    expect(log.segmentCount).toBe(1);
    clock.advance(30_000);
    await log.append(makeBatch(), { leaderEpoch: 0 });
    expect(log.segmentCount).toBe(2);
  });
});

describe('partition log > read', () => {
  it('returns the batch holding the offset first, even from its middle', async () => {
    log = await openLog(dir.path);
    await log.append(makeBatch({ count: 5 }), { leaderEpoch: 0 });
    await log.append(makeBatch({ count: 5 }), { leaderEpoch: 0 });
    expect(batchBasesIn((await log.read(7, { maxBytes: 1 << 20 })).records)).toEqual([5]);
    expect(batchBasesIn((await log.read(3, { maxBytes: 1 << 20 })).records)).toEqual([0, 5]);
  });

  it('returns whole batches only, but always at least one', async () => {
    log = await openLog(dir.path);
    for (let i = 0; i < 3; i++) await log.append(makeBatch({ valueBytes: 500 }), { leaderEpoch: 0 });
    const one = (await log.read(0, { maxBytes: 10 })).records;
    expect(batchBasesIn(one)).toEqual([0]);
    const two = (await log.read(0, { maxBytes: one.length * 2 + 10 })).records;
    expect(batchBasesIn(two)).toEqual([0, 1]);
  });

  it('reads across segment boundaries', async () => {
    log = await openLog(dir.path, { config: { segmentBytes: 700, indexIntervalBytes: 100 } });
    for (let i = 0; i < 12; i++)
      await log.append(makeBatch({ count: 2, valueBytes: 100 }), { leaderEpoch: 0 });
    expect(log.segmentCount).toBeGreaterThan(3);
    for (let from = 0; from < 24; from++) {
      const got = offsetsIn((await log.read(from, { maxBytes: 1 << 20 })).records);
      expect(got[got.length - 1]).toBe(23);
      expect(got[0]).toBe(from - (from % 2));
    }
  });

  it('is empty at the log end and refuses offsets outside the log with OFFSET_OUT_OF_RANGE', async () => {
    log = await openLog(dir.path);
    await log.append(makeBatch({ count: 2 }), { leaderEpoch: 0 });
    expect((await log.read(2, { maxBytes: 100 })).records.length).toBe(0);
    await expect(log.read(3, { maxBytes: 100 })).rejects.toMatchObject({ errorCode: 1 });
  });

  it('stops at the high watermark for high-watermark isolation', async () => {
    log = await openLog(dir.path);
    for (let i = 0; i < 4; i++) await log.append(makeBatch({ count: 2 }), { leaderEpoch: 0 });
    expect(log.updateHighWatermark(4)).toBe(4);
    const got = await log.read(0, { maxBytes: 1 << 20, isolation: 'high-watermark' });
    expect(offsetsIn(got.records)).toEqual([0, 1, 2, 3]);
    expect(got.highWatermark).toBe(4);
    expect(log.updateHighWatermark(100)).toBe(8);
  });
});

describe('partition log > offsets for timestamps', () => {
  it('finds the first record at or after a timestamp, across segments', async () => {
    log = await openLog(dir.path, { config: { segmentBytes: 400, indexIntervalBytes: 64 } });
    for (let i = 0; i < 10; i++)
      await log.append(makeBatch({ count: 3, timestamp: 1000 + i * 10 }), { leaderEpoch: 2 });
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(await log.offsetForTimestamp(1000)).toEqual({ offset: 0, timestamp: 1000, leaderEpoch: 2 });
    expect(await log.offsetForTimestamp(1031)).toEqual({ offset: 10, timestamp: 1031, leaderEpoch: 2 });
    expect(await log.offsetForTimestamp(1035)).toEqual({ offset: 12, timestamp: 1040, leaderEpoch: 2 });
    expect(await log.offsetForTimestamp(5000)).toBeNull();
    expect((await log.offsetForTimestamp(LATEST_TIMESTAMP))?.offset).toBe(30);
    expect((await log.offsetForTimestamp(EARLIEST_TIMESTAMP))?.offset).toBe(0);
    expect(await log.offsetForTimestamp(MAX_TIMESTAMP)).toMatchObject({ offset: 29, timestamp: 1092 });
  });
});

describe('partition log > truncation', () => {
  it('truncates inside the active segment', async () => {
    log = await openLog(dir.path);
    for (let i = 0; i < 5; i++) await log.append(makeBatch({ count: 2 }), { leaderEpoch: 0 });
    await log.truncateTo(6);
    expect(log.logEndOffset).toBe(6);
    expect(offsetsIn(await readAll(log))).toEqual([0, 1, 2, 3, 4, 5]);
    const next = await log.append(makeBatch(), { leaderEpoch: 0 });
    expect(next.baseOffset).toBe(6);
  });

  it('removes the whole batch holding a mid-batch target', async () => {
    log = await openLog(dir.path);
    for (let i = 0; i < 3; i++) await log.append(makeBatch({ count: 4 }), { leaderEpoch: 0 });
    await log.truncateTo(6);
    expect(log.logEndOffset).toBe(4);
  });

  it('truncates across segments and drops the epochs that started after the cut', async () => {
    log = await openLog(dir.path, { config: { segmentBytes: 500 } });
    for (let i = 0; i < 10; i++)
      await log.append(makeBatch({ count: 2, valueBytes: 100 }), { leaderEpoch: i < 5 ? 1 : 2 });
    const before = log.segmentCount;
    await log.truncateTo(5 * 2);
    expect(log.segmentCount).toBeLessThan(before);
    expect(log.logEndOffset).toBe(10);
    expect(log.leaderEpochs).toEqual([{ epoch: 1, startOffset: 0 }]);
    expect(offsetsIn(await readAll(log))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await log.append(makeBatch({ count: 2 }), { leaderEpoch: 3 })).baseOffset).toBe(10);
    expect(offsetsIn(await readAll(log))).toHaveLength(12);
  });

  it('empties the log and restarts it at an offset', async () => {
    log = await openLog(dir.path);
    await log.append(makeBatch({ count: 3 }), { leaderEpoch: 0 });
    await log.truncateFullyAndStartAt(100);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([100, 100]);
    expect((await log.append(makeBatch(), { leaderEpoch: 0 })).baseOffset).toBe(100);
  });
});

describe('partition log > delete records', () => {
  it('moves the log start offset and deletes the segments wholly below it', async () => {
    log = await openLog(dir.path, { config: { segmentBytes: 500 } });
    for (let i = 0; i < 10; i++)
      await log.append(makeBatch({ count: 2, valueBytes: 100 }), { leaderEpoch: 0 });
    log.updateHighWatermark(20);
    const before = log.segmentCount;
    expect(await log.deleteRecordsBefore(9)).toBe(9);
    expect(log.logStartOffset).toBe(9);
    expect(log.segmentCount).toBeLessThan(before);
    await expect(log.read(8, { maxBytes: 100 })).rejects.toMatchObject({ errorCode: 1 });
    expect(offsetsIn((await log.read(9, { maxBytes: 100 })).records)[0]).toBe(8);
  });

  it('refuses to delete past the high watermark', async () => {
    log = await openLog(dir.path);
    await log.append(makeBatch({ count: 2 }), { leaderEpoch: 0 });
    await expect(log.deleteRecordsBefore(2)).rejects.toMatchObject({ errorCode: 1 });
  });
});
