import type { Fs } from './fs.ts';
import { writeFileAtomic } from './fs.ts';

/**
 * Small text checkpoint files beside a partition's segments, each replaced atomically. A version
 * line first, so a future format can be told apart; a file that does not parse is treated as absent
 * (the safe reading for both: recover from the start, keep the first segment's base offset).
 */
const VERSION = '0';

export interface RecoveryPoint {
  /** Every offset below this is on the device. */
  offset: number;
  /** The segment holding `offset` and the byte where it starts, so recovery can resume there. */
  segmentBaseOffset: number;
  position: number;
}

async function readLines(fs: Fs, path: string): Promise<string[] | null> {
  if (!(await fs.stat(path))) return null;
  const lines = (await fs.readFile(path)).toString('utf8').split('\n');
  return lines[0] === VERSION ? lines.slice(1).filter((l) => l.length > 0) : null;
}

function parseInts(line: string | undefined, count: number): number[] | null {
  const parts = (line ?? '').split(' ');
  if (parts.length !== count || !parts.every((p) => /^-?\d+$/.test(p))) return null;
  return parts.map(Number);
}

export async function readRecoveryPoint(fs: Fs, path: string): Promise<RecoveryPoint | null> {
  const lines = await readLines(fs, path);
  const v = lines && parseInts(lines[0], 3);
  return v ? { offset: v[0], segmentBaseOffset: v[1], position: v[2] } : null;
}

export function writeRecoveryPoint(fs: Fs, path: string, rp: RecoveryPoint): Promise<void> {
  return writeFileAtomic(fs, path, `${VERSION}\n${rp.offset} ${rp.segmentBaseOffset} ${rp.position}\n`);
}

export async function readOffset(fs: Fs, path: string): Promise<number | null> {
  const lines = await readLines(fs, path);
  const v = lines && parseInts(lines[0], 1);
  return v ? v[0] : null;
}

export function writeOffset(fs: Fs, path: string, offset: number): Promise<void> {
  return writeFileAtomic(fs, path, `${VERSION}\n${offset}\n`);
}

/** Kafka's leader-epoch-checkpoint layout: version, count, then `epoch startOffset` per line. */
export async function readEpochEntries(
  fs: Fs,
  path: string,
): Promise<Array<{ epoch: number; startOffset: number }>> {
  const lines = await readLines(fs, path);
  if (!lines) return [];
  const count = Number(lines[0]);
  const entries: Array<{ epoch: number; startOffset: number }> = [];
  for (const line of lines.slice(1, 1 + count)) {
    const v = parseInts(line, 2);
    if (!v) return [];
    entries.push({ epoch: v[0], startOffset: v[1] });
  }
  return entries.length === count ? entries : [];
}

export function writeEpochEntries(
  fs: Fs,
  path: string,
  entries: ReadonlyArray<{ epoch: number; startOffset: number }>,
): Promise<void> {
  const body = entries.map((e) => `${e.epoch} ${e.startOffset}\n`).join('');
  return writeFileAtomic(fs, path, `${VERSION}\n${entries.length}\n${body}`);
}
