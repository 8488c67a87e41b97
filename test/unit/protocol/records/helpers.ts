import { crc32c } from '@node-rs/crc32';
import { RecordBatchError } from '../../../../src/protocol/records/index.ts';

/** Runs `fn` and returns the RecordBatchError it throws; fails the test on anything else. */
export function batchError(fn: () => unknown): RecordBatchError {
  try {
    fn();
  } catch (e) {
    if (e instanceof RecordBatchError) return e;
    throw new Error(`expected a RecordBatchError, got ${String(e)}`, { cause: e });
  }
  throw new Error('expected a RecordBatchError, but nothing was thrown');
}

export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Deterministic noise (a linear congruential generator), so failures reproduce. */
export function noise(n: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    buf[i] = x >>> 24;
  }
  return buf;
}

/** Recomputes the CRC of the batch that fills `buf`, so a deliberate change survives validation. */
export function resign(buf: Buffer): Buffer {
  buf.writeUInt32BE(crc32c(buf.subarray(21)), 17);
  return buf;
}
