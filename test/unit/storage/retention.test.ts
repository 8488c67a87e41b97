import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../src/common/clock.ts';
import type { LogConfig } from '../../../src/storage/config.ts';
import type { PartitionLog } from '../../../src/storage/partition-log.ts';
import { makeBatch, openLog, tempDir } from './fixtures/helpers.ts';

let dir: ReturnType<typeof tempDir>;
let log: PartitionLog | undefined;
const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await log?.close();
  log = undefined;
  dir.cleanup();
});

/** Ten segments of one 2-record batch each, the i-th stamped at T0 + i hours. */
async function tenSegments(config: Partial<LogConfig>, clock: FakeClock): Promise<PartitionLog> {
  const l = await openLog(dir.path, { clock, config: { segmentBytes: 400, ...config } });
  for (let i = 0; i < 10; i++)
    await l.append(makeBatch({ count: 2, valueBytes: 100, timestamp: T0 + i * HOUR }), { leaderEpoch: 0 });
  expect(l.segmentCount).toBe(10);
  return l;
}

describe('partition log > retention', () => {
  it('deletes whole segments older than retention.ms, from the start', async () => {
    const clock = new FakeClock(T0 + 10 * HOUR);
    log = await tenSegments({ retentionMs: 5.5 * HOUR }, clock);
    expect(await log.applyRetention()).toBe(5);
    expect(log.logStartOffset).toBe(10);
    expect(log.segmentCount).toBe(5);
  });

  it('never deletes the active segment, however old', async () => {
    const clock = new FakeClock(T0 + 100 * HOUR);
    log = await tenSegments({ retentionMs: HOUR }, clock);
    expect(await log.applyRetention()).toBe(9);
    expect(log.segmentCount).toBe(1);
    expect(log.logEndOffset).toBe(20);
  });

  it('deletes the oldest segments while the log is over retention.bytes', async () => {
    const clock = new FakeClock(T0);
    log = await tenSegments({}, clock);
    const perSegment = log.sizeInBytes() / 10;
    await log.close();
    log = await openLog(dir.path, { clock, config: { segmentBytes: 400, retentionBytes: perSegment * 3.5 } });
    expect(await log.applyRetention()).toBe(6);
    expect(log.sizeInBytes()).toBeLessThanOrEqual(perSegment * 4);
    expect(log.logStartOffset).toBe(12);
  });

  it('keeps everything under cleanup.policy compact', async () => {
    const clock = new FakeClock(T0 + 100 * HOUR);
    log = await tenSegments({ retentionMs: HOUR, cleanupPolicy: 'compact' }, clock);
    expect(await log.applyRetention()).toBe(0);
  });

  it('still deletes segments below the log start offset under compact', async () => {
    const clock = new FakeClock(T0);
    log = await tenSegments({ cleanupPolicy: 'compact' }, clock);
    log.updateHighWatermark(20);
    await log.deleteRecordsBefore(7);
    expect(log.segmentCount).toBe(7);
    expect(log.logStartOffset).toBe(7);
  });

  it('keeps serving a segment to a read that began before retention deleted it', async () => {
    const clock = new FakeClock(T0 + 100 * HOUR);
    log = await tenSegments({ retentionMs: HOUR }, clock);
    const reading = log.read(0, { maxBytes: 1 << 20 });
    const deleting = log.applyRetention();
    const [read] = await Promise.all([reading, deleting]);
    expect(read.records.length).toBeGreaterThan(0);
  });
});
