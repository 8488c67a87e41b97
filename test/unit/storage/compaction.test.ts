import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readdirSync } from 'node:fs';
import { FakeClock } from '../../../src/common/clock.ts';
import { decodeRecords } from '../../../src/protocol/records/index.ts';
import type { PartitionLog } from '../../../src/storage/partition-log.ts';
import { makeBatch, openLog, readAll, tempDir } from './fixtures/helpers.ts';

let dir: ReturnType<typeof tempDir>;
let log: PartitionLog | undefined;
const DAY = 86_400_000;
const T0 = 1_700_000_000_000;

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  await log?.close();
  log = undefined;
  dir.cleanup();
});

function records(blob: Buffer): Array<[number, string | null, string | null]> {
  return decodeRecords(blob).flatMap((b) =>
    b.records.map((r): [number, string | null, string | null] => [
      r.offset,
      r.key?.toString() ?? null,
      r.value?.toString() ?? null,
    ]),
  );
}

async function compactedLog(
  clock: FakeClock,
  policy: 'compact' | 'compact,delete' = 'compact',
): Promise<PartitionLog> {
  const l = await openLog(dir.path, { clock, config: { cleanupPolicy: policy, segmentBytes: 300 } });
  const writes: Array<[string, string | null]> = [
    ['a', 'a1'],
    ['b', 'b1'],
    ['a', 'a2'],
    ['c', 'c1'],
    ['b', null],
    ['a', 'a3'],
    ['d', 'd1'],
    ['c', 'c2'],
    ['e', 'e1'],
  ];
  for (const [k, v] of writes)
    await l.append(makeBatch({ keys: [k], values: [v], timestamp: T0 }), { leaderEpoch: 0 });
  return l;
}

describe('partition log > compaction', () => {
  it('keeps the latest record per key in closed segments, with offsets preserved', async () => {
    const clock = new FakeClock(T0);
    log = await compactedLog(clock);
    const before = records(await readAll(log));
    const result = await log.compact();
    expect(result.recordsRemoved).toBeGreaterThan(0);
    const after = records(await readAll(log));
    // Every record kept is byte-for-byte the one written at that offset.
    for (const r of after) expect(before).toContainEqual(r);
    const keys = after.map((r) => r[1]);
    expect(keys.filter((k) => k === 'a')).toHaveLength(1);
    expect(after.find((r) => r[1] === 'a')).toEqual([5, 'a', 'a3']);
    expect(after.find((r) => r[1] === 'b')).toEqual([4, 'b', null]); // tombstone still within delete.retention.ms
    expect(log.logEndOffset).toBe(9);
    expect((await log.append(makeBatch({ keys: ['z'] }), { leaderEpoch: 0 })).baseOffset).toBe(9);
  });

  it('removes tombstones once their segment is older than delete.retention.ms', async () => {
    const clock = new FakeClock(T0 + 2 * DAY);
    log = await compactedLog(clock);
    await log.compact();
    const after = records(await readAll(log));
    expect(after.some((r) => r[1] === 'b')).toBe(false);
  });

  it('never touches the active segment', async () => {
    const clock = new FakeClock(T0);
    log = await compactedLog(clock);
    const activeBefore = (await log.read(8, { maxBytes: 1 << 20 })).records;
    await log.compact();
    expect((await log.read(8, { maxBytes: 1 << 20 })).records.equals(activeBefore)).toBe(true);
  });

  it('keeps a rewritten batch’s first and last offsets', async () => {
    const clock = new FakeClock(T0);
    log = await openLog(dir.path, { clock, config: { cleanupPolicy: 'compact', segmentBytes: 200 } });
    await log.append(makeBatch({ keys: ['x', 'y', 'x'], values: ['1', '2', '3'] }), { leaderEpoch: 0 });
    await log.append(makeBatch({ keys: ['y'], values: ['4'] }), { leaderEpoch: 0 });
    await log.append(makeBatch({ keys: ['w'], values: ['5'] }), { leaderEpoch: 0 });
    await log.compact();
    const [first] = decodeRecords((await log.read(0, { maxBytes: 1 << 20 })).records);
    expect([first.baseOffset, first.baseOffset + first.lastOffsetDelta]).toEqual([0, 2]);
    expect(first.records.map((r) => r.offset)).toEqual([2]);
  });

  it('survives a restart with the compacted segments and no leftovers', async () => {
    const clock = new FakeClock(T0);
    log = await compactedLog(clock);
    await log.compact();
    const after = await readAll(log);
    await log.close();
    log = await openLog(dir.path, { clock, config: { cleanupPolicy: 'compact', segmentBytes: 300 } });
    expect((await readAll(log)).equals(after)).toBe(true);
    expect(readdirSync(dir.path).filter((n) => /cleaned|swap|deleted/.test(n))).toEqual([]);
  });

  it('lets appends proceed while it runs', async () => {
    const clock = new FakeClock(T0);
    log = await compactedLog(clock);
    const compacting = log.compact();
    const appended = await log.append(makeBatch({ keys: ['q'] }), { leaderEpoch: 0 });
    await compacting;
    expect(appended.baseOffset).toBe(9);
    expect(records(await readAll(log)).at(-1)).toEqual([9, 'q', 'vvvvvvvvvv']);
  });
});
