/**
 * File names inside a partition directory. Segment files are named by their base offset, zero-padded
 * to 20 digits so that a plain directory listing sorts them in offset order (as Kafka names them).
 */
export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
/** A rewritten segment still being written by the cleaner: never trusted, deleted on start-up. */
export const CLEANED_SUFFIX = '.cleaned';
/** A complete rewritten segment waiting to replace the original: completed on start-up. */
export const SWAP_SUFFIX = '.swap';
/** A segment removed from the log, unlinked once no read holds it. */
export const DELETED_SUFFIX = '.deleted';

export const CLEAN_SHUTDOWN_FILE = 'clean-shutdown';
export const RECOVERY_POINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_FILE = 'log-start-offset-checkpoint';
export const LEADER_EPOCH_FILE = 'leader-epoch-checkpoint';

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

export function segmentPath(dir: string, baseOffset: number, suffix: string): string {
  return `${dir}/${segmentName(baseOffset)}${suffix}`;
}

/** The base offset a file name carries, or null when it is not a segment file with that suffix. */
export function parseSegmentName(fileName: string, suffix: string): number | null {
  if (!fileName.endsWith(suffix)) return null;
  const stem = fileName.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  return Number(stem);
}

/** `<topic>-<partition>`; topic names may themselves contain '-', the partition is after the last. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const i = name.lastIndexOf('-');
  if (i <= 0) return null;
  const digits = name.slice(i + 1);
  if (!/^\d+$/.test(digits)) return null;
  return { topic: name.slice(0, i), partition: Number(digits) };
}
