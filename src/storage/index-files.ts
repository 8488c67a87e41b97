/**
 * A segment's index files on disk: read back when a closed segment's indexes are needed again, and
 * written incrementally (only the entries added since the last write) at checkpoints and rolls.
 */
import type { Fs } from './fs.ts';
import { writeFully } from './fs.ts';
import { INDEX_SUFFIX, TIME_INDEX_SUFFIX } from './names.ts';
import { OffsetIndex } from './offset-index.ts';
import { SegmentIndexes } from './segment-indexes.ts';
import { TimeIndex } from './time-index.ts';

async function readOptional(fs: Fs, path: string): Promise<Buffer | undefined> {
  return (await fs.stat(path)) ? fs.readFile(path) : undefined;
}

/** Either file may be missing (a segment that never reached a checkpoint); its index starts empty. */
export async function readIndexFiles(opts: {
  fs: Fs;
  pathOf: (suffix: string) => string;
  baseOffset: number;
  intervalBytes: number;
}): Promise<SegmentIndexes> {
  return new SegmentIndexes({
    baseOffset: opts.baseOffset,
    intervalBytes: opts.intervalBytes,
    offsets: new OffsetIndex(opts.baseOffset, await readOptional(opts.fs, opts.pathOf(INDEX_SUFFIX))),
    times: new TimeIndex(opts.baseOffset, await readOptional(opts.fs, opts.pathOf(TIME_INDEX_SUFFIX))),
  });
}

/** Writes `data` from entry `from` on, cuts the file after it, syncs; returns the entry count. */
export async function writeIndexTail(
  fs: Fs,
  path: string,
  data: Buffer,
  at: { entrySize: number; from: number },
): Promise<number> {
  const f = await fs.open(path, 'write');
  try {
    const start = at.from * at.entrySize;
    if (data.length > start) await writeFully(f, [data.subarray(start)], start);
    await f.truncate(data.length);
    await f.sync();
  } finally {
    await f.close();
  }
  return data.length / at.entrySize;
}
