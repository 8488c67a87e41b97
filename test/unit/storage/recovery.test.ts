import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  appendFileSync,
  existsSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
  copyFileSync,
} from 'node:fs';
import { Registry } from 'prom-client';
import { FakeClock } from '../../../src/common/clock.ts';
import { storageMetrics } from '../../../src/storage/metrics.ts';
import { PartitionLog } from '../../../src/storage/partition-log.ts';
import { FLUSH_EVERY_BATCH } from '../../../src/storage/config.ts';
import { CountingFs } from './fixtures/counting-fs.ts';
import { makeBatch, offsetsIn, readAll, tempDir } from './fixtures/helpers.ts';

let dir: ReturnType<typeof tempDir>;
const opened: PartitionLog[] = [];

beforeEach(() => {
  dir = tempDir();
});
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close().catch(() => undefined);
  dir.cleanup();
});

const segmentFiles = (): string[] =>
  readdirSync(dir.path)
    .filter((n) => n.endsWith('.log'))
    .sort();

async function open(
  opts: { fs?: CountingFs; registry?: Registry; segmentBytes?: number } = {},
): Promise<PartitionLog> {
  const log = await PartitionLog.open({
    dir: dir.path,
    topic: 'orders',
    partition: 0,
    fs: opts.fs,
    clock: new FakeClock(1_700_000_000_000),
    metrics: opts.registry ? storageMetrics(opts.registry) : undefined,
    config: { segmentBytes: opts.segmentBytes ?? 4000, indexIntervalBytes: 256, flush: FLUSH_EVERY_BATCH },
  });
  opened.push(log);
  return log;
}

/** Appends `n` batches of 2 records; the log is left open, as a process killed with -9 leaves it. */
async function fill(log: PartitionLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await log.append(makeBatch({ count: 2, valueBytes: 200 }), { leaderEpoch: 1 });
}

async function truncatedBytes(registry: Registry, kind: string): Promise<number> {
  const m = await registry.getSingleMetric('tributary_storage_recovery_truncated_bytes_total')!.get();
  return m.values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

describe('partition log > recovery', () => {
  it('after a clean shutdown, trusts the files and reads almost nothing', async () => {
    const first = await open();
    await fill(first, 60);
    const bytes = readAll(first);
    const before = await bytes;
    await first.close();
    const fs = new CountingFs();
    const log = await open({ fs });
    expect(log.logEndOffset).toBe(120);
    expect(fs.bytesRead).toBeLessThan(2000);
    expect((await readAll(log)).equals(before)).toBe(true);
    expect(existsSync(`${dir.path}/clean-shutdown`)).toBe(false);
  });

  it('after a crash, re-validates only what follows the recovery point', async () => {
    const first = await open({ segmentBytes: 1 << 20 });
    await fill(first, 60);
    await first.flush(); // checkpoints the recovery point at offset 120
    await fill(first, 3);
    const fs = new CountingFs();
    const log = await open({ fs, segmentBytes: 1 << 20 });
    expect(log.logEndOffset).toBe(126);
    expect(fs.bytesRead).toBeLessThan(6000);
    expect(offsetsIn(await readAll(log))).toHaveLength(126);
  });

  it('after a crash, rebuilds indexes from the log rather than trusting them', async () => {
    const first = await open();
    await fill(first, 30);
    for (const name of readdirSync(dir.path).filter((n) => n.endsWith('.index'))) {
      writeFileSync(`${dir.path}/${name}`, Buffer.alloc(64, 0xab));
    }
    writeFileSync(`${dir.path}/recovery-point-offset-checkpoint`, '0\n0 0 0\n');
    const log = await open();
    expect(log.logEndOffset).toBe(60);
    for (let o = 0; o < 60; o += 7) {
      expect(offsetsIn((await log.read(o, { maxBytes: 1 })).records)[0]).toBe(o - (o % 2));
    }
  });

  it('cuts a torn final write silently and accepts appends at the right offset', async () => {
    const registry = new Registry();
    const first = await open();
    await fill(first, 5);
    const active = segmentFiles().at(-1)!;
    appendFileSync(`${dir.path}/${active}`, makeBatch({ count: 3 }).subarray(0, 40));
    const log = await open({ registry });
    expect(log.logEndOffset).toBe(10);
    expect(await truncatedBytes(registry, 'torn')).toBe(40);
    expect(await truncatedBytes(registry, 'corrupt')).toBe(0);
    expect((await log.append(makeBatch(), { leaderEpoch: 1 })).baseOffset).toBe(10);
  });

  it('cuts a zero-filled tail as a torn write', async () => {
    const registry = new Registry();
    const first = await open();
    await fill(first, 5);
    appendFileSync(`${dir.path}/${segmentFiles().at(-1)!}`, Buffer.alloc(4096));
    const log = await open({ registry });
    expect(log.logEndOffset).toBe(10);
    expect(await truncatedBytes(registry, 'torn')).toBe(4096);
  });

  it('detects a flipped byte in the active segment by CRC and cuts there', async () => {
    const registry = new Registry();
    const first = await open({ segmentBytes: 1 << 20 });
    await fill(first, 10);
    const path = `${dir.path}/${segmentFiles().at(-1)!}`;
    const size = statSync(path).size;
    const batchSize = size / 10;
    const bytes = readFileSync(path);
    bytes[Math.floor(batchSize * 7 + batchSize / 2)] ^= 0x01;
    writeFileSync(path, bytes);
    writeFileSync(`${dir.path}/recovery-point-offset-checkpoint`, '0\n0 0 0\n');
    const log = await open({ registry, segmentBytes: 1 << 20 });
    expect(log.logEndOffset).toBe(14);
    expect(await truncatedBytes(registry, 'corrupt')).toBe(size - batchSize * 7);
    expect((await log.append(makeBatch(), { leaderEpoch: 1 })).baseOffset).toBe(14);
  });

  it('opens offline on corruption inside a closed segment, naming the file, and deletes nothing', async () => {
    // Cutting there (Kafka's way) would delete the acknowledged records after it and every later
    // segment; the log refuses service instead (TRIB_STORAGE_CORRUPT) and keeps its files.
    const registry = new Registry();
    const first = await open();
    await fill(first, 40);
    const files = segmentFiles();
    expect(files.length).toBeGreaterThan(3);
    const victim = `${dir.path}/${files[1]}`;
    const bytes = readFileSync(victim);
    const sizes = files.map((f) => statSync(`${dir.path}/${f}`).size);
    bytes[100] ^= 0xff;
    writeFileSync(victim, bytes);
    writeFileSync(`${dir.path}/recovery-point-offset-checkpoint`, '0\n0 0 0\n');
    const log = await open({ registry });
    expect(log.offline).toBe(true);
    await expect(log.read(0, { maxBytes: 100 })).rejects.toMatchObject({
      code: 'TRIB_STORAGE_OFFLINE',
      cause: expect.objectContaining({
        code: 'TRIB_STORAGE_CORRUPT',
        params: expect.objectContaining({ path: victim, position: expect.any(Number) }),
      }),
    });
    await log.close();
    expect(segmentFiles()).toEqual(files);
    expect(files.map((f) => statSync(`${dir.path}/${f}`).size)).toEqual(sizes);
    expect(await truncatedBytes(registry, 'corrupt')).toBe(0);
    expect((await open()).offline).toBe(true);
  });

  it('finishes a compaction swap that a crash interrupted and discards half-written rewrites', async () => {
    const first = await open();
    await fill(first, 40);
    await first.close();
    const files = segmentFiles();
    copyFileSync(`${dir.path}/${files[0]}`, `${dir.path}/${files[0]}.swap`);
    writeFileSync(`${dir.path}/${files[1]}.cleaned`, 'half');
    const log = await open();
    expect(readdirSync(dir.path).some((n) => n.endsWith('.swap') || n.endsWith('.cleaned'))).toBe(false);
    expect(offsetsIn(await readAll(log))).toHaveLength(80);
  });
});
