/**
 * Producer-state snapshots: `<20-digit offset>.snapshot` files in the partition's directory, beside
 * its segments (as Kafka names them). A snapshot at offset S holds the state of every idempotent
 * producer as of the log below S; loading reads the newest snapshot not beyond the log end and
 * replays the batches from S on.
 *
 * Text, one producer per line, with a CRC-32C of everything before the last line, so a damaged file
 * is told apart and skipped (the load then falls back to an older snapshot, or to the log's start):
 *
 *   0                                     format version
 *   <offset> <producers>
 *   <producerId> <epoch> <lastTimestamp> <firstSeq>,<lastSeq>,<baseOffset>,<lastOffset>,<timestamp> …
 *   crc <8 hex digits>
 *
 * Files are replaced atomically (temp file, fsync, rename); the two newest are kept.
 */
import { crc32c } from '@node-rs/crc32';
import type { Fs } from '../storage/fs.ts';
import { writeFileAtomic } from '../storage/fs.ts';
import { parseSegmentName, segmentPath } from '../storage/names.ts';
import type { ProducerSnapshotEntry } from './producer-state.ts';

export const SNAPSHOT_SUFFIX = '.snapshot';
const VERSION = '0';
/** Snapshots kept per partition: the newest, and one more in case the newest is unreadable. */
export const SNAPSHOTS_KEPT = 2;

export interface ProducerSnapshot {
  offset: number;
  entries: ProducerSnapshotEntry[];
}

export function encodeSnapshot(s: ProducerSnapshot): string {
  const lines = [VERSION, `${s.offset} ${s.entries.length}`];
  for (const e of s.entries) {
    const batches = e.batches.map(
      (b) => `${b.firstSeq},${b.lastSeq},${b.baseOffset},${b.lastOffset},${b.timestamp}`,
    );
    lines.push([e.producerId, e.epoch, e.lastTimestamp, ...batches].join(' '));
  }
  const body = lines.join('\n') + '\n';
  return `${body}crc ${crcHex(body)}\n`;
}

/** The snapshot in `text`, or null when it is damaged or of another format. */
export function decodeSnapshot(text: string): ProducerSnapshot | null {
  const crcAt = text.lastIndexOf('crc ');
  if (crcAt < 0 || text.slice(crcAt) !== `crc ${crcHex(text.slice(0, crcAt))}\n`) return null;
  const lines = text.slice(0, crcAt).split('\n');
  lines.pop();
  if (lines[0] !== VERSION) return null;
  const head = ints(lines[1]?.split(' ') ?? []);
  if (!head || head.length !== 2 || lines.length !== 2 + head[1]) return null;
  const entries: ProducerSnapshotEntry[] = [];
  for (const line of lines.slice(2)) {
    const [id, epoch, lastTimestamp, ...rest] = line.split(' ');
    const fields = ints([id ?? '', epoch ?? '', lastTimestamp ?? '']);
    if (!fields) return null;
    const batches: ProducerSnapshotEntry['batches'] = [];
    for (const b of rest) {
      const v = ints(b.split(','));
      if (!v || v.length !== 5) return null;
      batches.push({ firstSeq: v[0], lastSeq: v[1], baseOffset: v[2], lastOffset: v[3], timestamp: v[4] });
    }
    entries.push({ producerId: fields[0], epoch: fields[1], lastTimestamp: fields[2], batches });
  }
  return { offset: head[0], entries };
}

/** The offsets of the snapshots in `dir`, ascending. */
export async function listSnapshots(fs: Fs, dir: string): Promise<number[]> {
  return (await fs.readdir(dir))
    .map((n) => parseSegmentName(n, SNAPSHOT_SUFFIX))
    .filter((o): o is number => o !== null)
    .sort((a, b) => a - b);
}

/** Writes a snapshot and removes all but the newest SNAPSHOTS_KEPT. */
export async function writeSnapshot(fs: Fs, dir: string, s: ProducerSnapshot): Promise<void> {
  await writeFileAtomic(fs, segmentPath(dir, s.offset, SNAPSHOT_SUFFIX), encodeSnapshot(s));
  const all = await listSnapshots(fs, dir);
  for (const offset of all.slice(0, Math.max(0, all.length - SNAPSHOTS_KEPT))) {
    await fs.unlink(segmentPath(dir, offset, SNAPSHOT_SUFFIX));
  }
}

/**
 * The newest readable snapshot at or below `logEnd`, or null. Snapshots beyond the log end describe
 * batches the log no longer has (recovery cut them after a crash) and are deleted, so they cannot be
 * mistaken for the truth once new batches reach those offsets.
 */
export async function readLatestSnapshot(
  fs: Fs,
  dir: string,
  logEnd: number,
): Promise<{ snapshot: ProducerSnapshot | null; skipped: number[] }> {
  const skipped: number[] = [];
  const offsets = await listSnapshots(fs, dir);
  for (const offset of offsets.filter((o) => o > logEnd)) {
    await fs.unlink(segmentPath(dir, offset, SNAPSHOT_SUFFIX));
  }
  for (const offset of offsets.filter((o) => o <= logEnd).reverse()) {
    const s = decodeSnapshot((await fs.readFile(segmentPath(dir, offset, SNAPSHOT_SUFFIX))).toString('utf8'));
    if (s && s.offset === offset) return { snapshot: s, skipped };
    skipped.push(offset);
  }
  return { snapshot: null, skipped };
}

function crcHex(text: string): string {
  return crc32c(Buffer.from(text, 'utf8')).toString(16).padStart(8, '0');
}

function ints(parts: string[]): number[] | null {
  if (!parts.every((p) => /^-?\d+$/.test(p))) return null;
  const v = parts.map(Number);
  return v.every(Number.isSafeInteger) ? v : null;
}
