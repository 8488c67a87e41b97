/**
 * Batches trusted at start-up without being read (a clean shutdown, or segments below the recovery
 * point) are checked when first served: a bad one takes the log offline with TRIB_STORAGE_CORRUPT
 * naming the file and position, instead of going to clients (or being cut with what follows it).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { FLUSH_EVERY_BATCH } from '../../../src/storage/config.ts';
import type { PartitionLog } from '../../../src/storage/partition-log.ts';
import { UncheckedRange, findCorruptBatch } from '../../../src/storage/read-check.ts';
import { makeBatch, offsetsIn, openLog, readAll, tempDir } from './fixtures/helpers.ts';

let dir: ReturnType<typeof tempDir>;
const logs: PartitionLog[] = [];

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close().catch(() => undefined);
  dir.cleanup();
});

const config = { segmentBytes: 4000, indexIntervalBytes: 256, flush: FLUSH_EVERY_BATCH };

async function open(): Promise<PartitionLog> {
  const log = await openLog(dir.path, { config });
  logs.push(log);
  return log;
}

/** 40 batches of 2 records over several segments, closed cleanly; returns the segment files. */
async function writeCleanLog(): Promise<string[]> {
  const log = await open();
  for (let i = 0; i < 40; i++) await log.append(makeBatch({ count: 2, valueBytes: 200 }), { leaderEpoch: 1 });
  await log.close();
  return readdirSync(dir.path)
    .filter((n) => n.endsWith('.log'))
    .sort();
}

describe('partition log > checks of batches read back from disk', () => {
  it('serves a sound log read after a clean shutdown, twice', async () => {
    await writeCleanLog();
    const log = await open();
    expect(offsetsIn(await readAll(log))).toHaveLength(80);
    expect(offsetsIn(await readAll(log))).toHaveLength(80);
    expect(log.offline).toBe(false);
  });

  it('takes the log offline when a read reaches a flipped byte in a closed segment', async () => {
    const files = await writeCleanLog();
    const victim = `${dir.path}/${files[1]}`;
    const bytes = readFileSync(victim);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    writeFileSync(victim, bytes);
    const log = await open();
    expect(log.offline).toBe(false);
    // Reading forward: every batch before the bad one is served, then the read that starts at it fails.
    const served: number[] = [];
    let err: unknown = null;
    for (let offset = 0; err === null && offset < log.logEndOffset;) {
      try {
        const got = offsetsIn((await log.read(offset, { maxBytes: 1000 })).records);
        served.push(...got);
        offset = got[got.length - 1] + 1;
      } catch (e) {
        err = e;
      }
    }
    expect(served.length).toBeGreaterThan(Number(files[1].slice(0, 20)));
    expect(served).toEqual([...Array(served.length).keys()]);
    expect(err).toMatchObject({
      code: 'TRIB_STORAGE_OFFLINE',
      cause: expect.objectContaining({
        code: 'TRIB_STORAGE_CORRUPT',
        params: expect.objectContaining({ path: victim, position: expect.any(Number) }),
      }),
    });
    expect(log.offline).toBe(true);
    await expect(log.append(makeBatch(), { leaderEpoch: 1 })).rejects.toMatchObject({
      code: 'TRIB_STORAGE_OFFLINE',
    });
  });

  it('takes the log offline when ListOffsets by timestamp reaches a corrupt batch', async () => {
    const first = await open();
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 40; i++) {
      await first.append(makeBatch({ count: 2, valueBytes: 200, timestamp: t0 + 10 * i }), {
        leaderEpoch: 1,
      });
    }
    await first.close();
    const files = readdirSync(dir.path)
      .filter((n) => n.endsWith('.log'))
      .sort();
    const victim = `${dir.path}/${files[1]}`;
    const bytes = readFileSync(victim);
    // The second batch of the segment: its records, past the 61-byte header.
    const second = 12 + bytes.readInt32BE(8);
    bytes[second + 100] ^= 0xff;
    writeFileSync(victim, bytes);
    const log = await open();
    const batchIndex = Number(files[1].slice(0, 20)) / 2 + 1;
    await expect(log.offsetForTimestamp(t0 + 10 * batchIndex)).rejects.toMatchObject({
      code: 'TRIB_STORAGE_OFFLINE',
      cause: expect.objectContaining({ code: 'TRIB_STORAGE_CORRUPT' }),
    });
    expect(log.offline).toBe(true);
  });

  it('finds a length that runs past the segment and a bad CRC, and nothing in checked bytes', () => {
    const a = makeBatch({ count: 2 });
    const b = makeBatch({ count: 3 });
    const both = Buffer.concat([a, b]);
    expect(findCorruptBatch(both, 0, new UncheckedRange(both.length), both.length)).toBeNull();
    const badCrc = Buffer.from(both);
    badCrc[a.length + b.length - 1] ^= 1;
    expect(findCorruptBatch(badCrc, 0, new UncheckedRange(both.length), both.length)).toMatchObject({
      position: a.length,
      reason: expect.stringContaining('CRC'),
    });
    const checked = new UncheckedRange(both.length);
    checked.checked(0, both.length);
    expect(findCorruptBatch(badCrc, 0, checked, both.length)).toBeNull();
    const longLength = Buffer.from(both);
    longLength.writeInt32BE(1 << 20, a.length + 8);
    expect(findCorruptBatch(longLength, 0, new UncheckedRange(both.length), both.length)).toMatchObject({
      position: a.length,
      reason: expect.stringContaining('runs past the end'),
    });
  });
});
