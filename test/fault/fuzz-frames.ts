/**
 * Structurally broken frames for the input fault injector: a well-formed request frame (size
 * prefix, header, body) damaged at the framing level, or a few of its body's bits flipped. The client half-closes after sending any of
 * them, so a broker waiting for bytes that never come sees the end of the stream rather than
 * waiting for its idle timeout.
 */
import type { Rng } from './fuzz-random.ts';

export const FRAME_FAULTS = [
  'truncated',
  'truncated-resized',
  'trailing-garbage',
  'size-larger',
  'size-smaller',
  'size-invalid',
  'unknown-api',
  'unsupported-version',
  'header-only',
  'short-header',
  'bit-flip',
] as const;
export type FrameFault = (typeof FRAME_FAULTS)[number];

/** API keys no schema defines. */
const UNDEFINED_API_KEYS = [-1, -32768, 99, 1000, 32767];
const ABSURD_VERSIONS = [-1, -32768, 100, 32767];

/** What the broker does not serve, for the header faults. */
export interface Unserved {
  /** Keys a schema defines but the broker does not advertise. */
  apiKeys: readonly number[];
  /** The versions just outside the served range of the case's API (e.g. min - 1, max + 1). */
  versions: readonly number[];
}

function withSize(body: Buffer, size = body.length): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(size);
  return Buffer.concat([prefix, body]);
}

/** `frame` includes its size prefix; the header is its `headerLength` bytes after the prefix. */
export function breakFrame(
  rng: Rng,
  fault: FrameFault,
  frame: Buffer,
  headerLength: number,
  unserved: Unserved,
): Buffer {
  const body = frame.subarray(4);
  switch (fault) {
    case 'truncated':
      // The size prefix promises more than arrives.
      return frame.subarray(0, rng.int(1, frame.length - 1));
    case 'truncated-resized':
      return withSize(body.subarray(0, rng.int(0, body.length - 1)));
    case 'trailing-garbage':
      return withSize(Buffer.concat([body, rng.bytes(rng.int(1, 64))]));
    case 'size-larger':
      return withSize(body, body.length + rng.pick([1, 2, 100, 65536]));
    case 'size-smaller':
      return withSize(body, Math.max(0, body.length - rng.int(1, Math.min(body.length, 16))));
    case 'size-invalid':
      return withSize(body, rng.pick([-1, -(2 ** 31), 2 ** 31 - 1, 100 * 1024 * 1024 + 1]));
    case 'unknown-api': {
      const copy = Buffer.from(frame);
      copy.writeInt16BE(rng.pick([...UNDEFINED_API_KEYS, ...unserved.apiKeys, ...unserved.apiKeys]), 4);
      return copy;
    }
    case 'unsupported-version': {
      const copy = Buffer.from(frame);
      copy.writeInt16BE(rng.pick([...ABSURD_VERSIONS, ...unserved.versions, ...unserved.versions]), 6);
      return copy;
    }
    case 'header-only':
      return withSize(body.subarray(0, headerLength));
    case 'short-header':
      return withSize(body.subarray(0, rng.int(0, Math.min(7, body.length))));
    case 'bit-flip': {
      // A few bits of the body changed: any value or prefix, anywhere, read as something else.
      const copy = Buffer.from(frame);
      const from = 4 + headerLength;
      for (let i = rng.int(1, 4); i > 0 && from < copy.length; i--) {
        const at = rng.int(from, copy.length - 1);
        copy[at] = copy[at]! ^ (1 << rng.int(0, 7));
      }
      return copy;
    }
  }
}
