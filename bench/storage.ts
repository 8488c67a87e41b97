/**
 * Storage engine benchmark: append, sequential read and recovery, each printed beside the raw speed
 * of the same volume measured in the same run with plain `fs`.
 *
 *   node bench/storage.ts [--quick] [--dir <data dir>]
 *
 * "After kill -9" is measured by abandoning an open log in-process (no close, no clean-shutdown
 * marker): the files are then exactly as a SIGKILL leaves them, since the page cache survives the
 * process. Recovery must scan only the unflushed tail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeBatch } from '../src/protocol/records/index.ts';
import type { FlushPolicy } from '../src/storage/config.ts';
import { DEFAULT_LOG_CONFIG, FLUSH_EVERY_BATCH } from '../src/storage/config.ts';
import { PartitionLog } from '../src/storage/partition-log.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const dirArg = args.indexOf('--dir') >= 0 ? args[args.indexOf('--dir') + 1] : tmpdir();
const root = mkdtempSync(join(dirArg, 'tributary-bench-'));
const MiB = 1024 * 1024;
const APPEND_BYTES = quick ? 32 * MiB : 512 * MiB;
const FSYNC_BYTES = quick ? 8 * MiB : 64 * MiB;
const RECOVERY_BYTES = quick ? 64 * MiB : 1024 * MiB;
const TAIL_BYTES = quick ? 8 * MiB : 64 * MiB;

/** A pool of distinct 16 KiB batches of 1 KiB records: the log stamps offsets into each in place. */
function batchPool(n: number): Buffer[] {
  const records = Array.from({ length: 15 }, (_, i) => ({
    key: Buffer.from(`key-${i}`),
    value: Buffer.alloc(1024, i),
    timestamp: Date.now(),
  }));
  return Array.from({ length: n }, () => encodeBatch({ records }));
}
const pool = batchPool(256);
const batchSize = pool[0].length;

const mbps = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000);
const fmt = (n: number): string => n.toFixed(1).padStart(8);
const rows: string[] = [];
function report(name: string, value: string, raw: string, ratio?: number): void {
  const line = `${name.padEnd(44)} ${value.padStart(14)}   raw ${raw.padStart(14)}${ratio === undefined ? '' : `   ${(ratio * 100).toFixed(0)} %`}`;
  rows.push(line);
  console.log(line);
}

/** Plain sequential writes of `chunk` bytes each, fsync after each when asked, and once at the end. */
async function rawWrite(bytes: number, opts: { chunk: number; fsyncEach: boolean }): Promise<number> {
  const path = join(root, `raw-${Math.random()}`);
  const fh = await open(path, 'w');
  const buf = Buffer.alloc(opts.chunk, 7);
  const started = performance.now();
  for (let pos = 0; pos < bytes; pos += opts.chunk) {
    await fh.write(buf, 0, opts.chunk, pos);
    if (opts.fsyncEach) await fh.datasync();
  }
  await fh.datasync();
  const ms = performance.now() - started;
  await fh.close();
  rmSync(path);
  return mbps(bytes, ms);
}

async function rawRead(path: string, bytes: number): Promise<number> {
  const fh = await open(path, 'r');
  const buf = Buffer.allocUnsafe(MiB);
  const started = performance.now();
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, MiB, pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
  }
  const ms = performance.now() - started;
  await fh.close();
  return mbps(Math.min(pos, bytes), ms);
}

async function openLog(name: string, flush: FlushPolicy, segmentBytes = 256 * MiB): Promise<PartitionLog> {
  return PartitionLog.open({
    dir: join(root, name),
    topic: name,
    partition: 0,
    config: { flush, segmentBytes },
  });
}

/** Appends `bytes` to each log with `inFlight` appends outstanding per log; returns MiB/s overall. */
async function appendTo(logs: PartitionLog[], bytes: number, inFlight: number): Promise<number> {
  const perLog = Math.ceil(bytes / logs.length / batchSize);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    logs.flatMap((log) =>
      Array.from({ length: inFlight }, async () => {
        for (let sent = 0; sent < perLog / inFlight; sent++) {
          await log.append(pool[next++ % pool.length], { leaderEpoch: 0 });
        }
      }),
    ),
  );
  await Promise.all(logs.map((l) => l.flush()));
  return mbps(bytes, performance.now() - started);
}

async function appendBench(
  partitions: number,
  flush: FlushPolicy,
  label: string,
  bytes: number,
): Promise<void> {
  // The disk's own sequential speed: 1 MiB writes, one fsync at the end.
  const raw = await rawWrite(bytes, { chunk: MiB, fsyncEach: false });
  const logs = await Promise.all(
    Array.from({ length: partitions }, (_, i) => openLog(`append-${label}-${partitions}-${i}`, flush)),
  );
  const speed = await appendTo(logs, bytes, Math.max(2, 16 / partitions));
  await Promise.all(logs.map((l) => l.close()));
  report(
    `append ${partitions} partition(s), flush ${label}`,
    `${fmt(speed)} MiB/s`,
    `${fmt(raw)} MiB/s`,
    speed / raw,
  );
  for (const l of logs) rmSync(l.dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  console.log(
    `# storage benchmark${quick ? ' (quick)' : ''}: ${batchSize}-byte batches of 1 KiB records, data in ${root}`,
  );
  const defaultFlush = DEFAULT_LOG_CONFIG.flush;
  await appendBench(1, defaultFlush, `default (${defaultFlush.ms} ms)`, APPEND_BYTES);
  await appendBench(8, defaultFlush, `default (${defaultFlush.ms} ms)`, APPEND_BYTES);
  const fsyncEach = await rawWrite(FSYNC_BYTES, { chunk: batchSize, fsyncEach: true });
  report('raw 16 KiB writes, fsync after each (reference)', `${fmt(fsyncEach)} MiB/s`, '');
  await appendBench(1, FLUSH_EVERY_BATCH, 'per-batch fsync', FSYNC_BYTES);
  await appendBench(8, FLUSH_EVERY_BATCH, 'per-batch fsync', FSYNC_BYTES);

  // A log of RECOVERY_BYTES for the read and recovery figures.
  const rssBefore = process.memoryUsage().rss;
  const big = await openLog('big', defaultFlush);
  await appendTo([big], RECOVERY_BYTES, 16);
  const firstSegment = join(big.dir, '00000000000000000000.log');

  let started = performance.now();
  let read = 0;
  for (let offset = 0; offset < big.logEndOffset;) {
    const r = await big.read(offset, { maxBytes: MiB });
    read += r.records.length;
    offset =
      r.records.readUInt32BE(r.records.length - batchSize) * 2 ** 32 +
      r.records.readUInt32BE(r.records.length - batchSize + 4) +
      15;
  }
  const readSpeed = mbps(read, performance.now() - started);
  const rawReadSpeed = await rawRead(firstSegment, 256 * MiB);
  report(
    `sequential read ${(read / MiB).toFixed(0)} MiB`,
    `${fmt(readSpeed)} MiB/s`,
    `${fmt(rawReadSpeed)} MiB/s`,
    readSpeed / rawReadSpeed,
  );
  await big.close();

  started = performance.now();
  const reopened = await openLog('big', defaultFlush);
  const cleanMs = performance.now() - started;
  report(
    `recovery of ${(RECOVERY_BYTES / MiB).toFixed(0)} MiB after clean shutdown`,
    `${cleanMs.toFixed(0)} ms`,
    '(floor 1000 ms)',
  );

  await reopened.close();

  // An unflushed tail, then the log abandoned as kill -9 would leave it.
  const crashing = await openLog('big', { messages: Infinity, ms: Infinity });
  for (let sent = 0; sent < TAIL_BYTES / batchSize; sent++)
    await crashing.append(pool[sent % pool.length], { leaderEpoch: 0 });
  const tailBytes = ((crashing.logEndOffset - crashing.recoveryPoint) / 15) * batchSize;
  started = performance.now();
  const recovered = await openLog('big', defaultFlush);
  const uncleanMs = performance.now() - started;
  report(
    `recovery after kill -9, ${(tailBytes / MiB).toFixed(0)} MiB unflushed tail`,
    `${uncleanMs.toFixed(0)} ms`,
    `(log ${(recovered.sizeInBytes() / MiB).toFixed(0)} MiB)`,
  );
  const rssAfter = process.memoryUsage().rss;
  report(
    'RSS growth while building, reading, recovering',
    `${((rssAfter - rssBefore) / MiB).toFixed(0)} MiB`,
    '',
  );
  await recovered.close();
}

try {
  await main();
} finally {
  rmSync(root, { recursive: true, force: true });
}
