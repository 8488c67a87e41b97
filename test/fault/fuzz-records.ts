/**
 * Hostile `records` fields for the input fault injector: record batches that are valid (every
 * codec, odd producer ids and flags), or broken in one place — a wrong CRC, a batch length that
 * lies either way, an unknown magic or codec, a record count that lies, a truncated tail, garbage
 * behind a compressed flag, a decompression bomb. Where the damage is behind the CRC, the CRC is
 * recomputed half the time, so the broker's checks after it get exercised too.
 */
import { crc32c } from '@node-rs/crc32';
import { gzipSync } from 'node:zlib';
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  RECORD_BATCH_HEADER_SIZE as HEADER_SIZE,
} from '../../src/protocol/records/batch.ts';
import { encodeBatch, type Compression, type RecordInput } from '../../src/protocol/records/index.ts';
import type { Rng } from './fuzz-random.ts';
import { RECENT } from './fuzz-values.ts';

const CODECS: Compression[] = ['none', 'none', 'gzip', 'snappy', 'lz4', 'zstd'];

let bomb: Buffer | null = null;

/** 70 MiB of zeros, gzipped to about 70 KiB: more than any broker should inflate for one batch. */
function gzipBomb(): Buffer {
  bomb ??= gzipSync(Buffer.alloc(70 * 1024 * 1024), { level: 9 });
  return bomb;
}

function fixCrc(batch: Buffer): Buffer {
  if (batch.length >= HEADER_SIZE) {
    batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)), CRC_OFFSET);
  }
  return batch;
}

function validBatch(rng: Rng, producerIds: readonly number[], compression?: Compression): Buffer {
  const now = RECENT;
  const records: RecordInput[] = [];
  const n = rng.int(1, 5);
  for (let i = 0; i < n; i++) {
    records.push({
      key: rng.chance(0.3) ? null : rng.bytes(rng.int(0, 16)),
      value: rng.chance(0.1) ? null : rng.bytes(rng.int(0, 200)),
      headers: rng.chance(0.2) ? [{ key: 'h', value: rng.bytes(4) }] : [],
      timestamp: rng.pick([now, now, -1, 0, now + 86_400_000 * 365]),
    });
  }
  const idempotent = rng.chance(0.2);
  return encodeBatch({
    compression: compression ?? rng.pick(CODECS),
    records,
    producerId: idempotent ? rng.pick([...producerIds, ...producerIds, 0, 1000, 2 ** 40]) : -1,
    producerEpoch: idempotent ? rng.pick([0, 1, 32767]) : -1,
    baseSequence: idempotent ? rng.pick([0, 1, 2 ** 31 - 1]) : -1,
    transactional: idempotent && rng.chance(0.3),
    control: rng.chance(0.03),
    baseOffset: rng.chance(0.9) ? 0 : rng.pick([5, -1, 2 ** 40]),
  });
}

/** One batch broken in one place (a copy; `batch` is not changed). */
function broken(rng: Rng, input: Buffer): Buffer {
  const batch = Buffer.from(input);
  const refresh = rng.chance(0.5);
  const int32 = (at: number, v: number): Buffer => {
    batch.writeInt32BE(v, at);
    return refresh ? fixCrc(batch) : batch;
  };
  switch (rng.int(0, 10)) {
    case 0:
      batch.writeUInt32BE((batch.readUInt32BE(CRC_OFFSET) ^ (1 << rng.int(0, 31))) >>> 0, CRC_OFFSET);
      return batch;
    case 1: {
      const length = batch.readInt32BE(8);
      batch.writeInt32BE(rng.pick([length + 1, length - 1, -1, 0, 48, 2 ** 31 - 1, length + 10_000]), 8);
      return batch;
    }
    case 2:
      batch.writeInt8(rng.pick([0, 1, 3, -1]), 16);
      return batch;
    case 3:
      batch.writeInt16BE((batch.readInt16BE(21) & ~0x07) | rng.int(5, 7), 21);
      return refresh ? fixCrc(batch) : batch;
    case 4:
      return int32(57, rng.pick([-1, 0, 2 ** 31 - 1, batch.readInt32BE(57) + 1]));
    case 5:
      return int32(23, rng.pick([-1, 2 ** 31 - 1, 0]));
    case 6:
      return batch.subarray(0, rng.int(0, batch.length - 1));
    case 7: {
      if (batch.length > HEADER_SIZE) {
        const at = rng.int(HEADER_SIZE, batch.length - 1);
        batch[at] = batch[at]! ^ (1 << rng.int(0, 7));
      }
      return refresh ? fixCrc(batch) : batch;
    }
    case 8: {
      // A compressed flag over bytes no decompressor can read.
      const head = batch.subarray(0, HEADER_SIZE);
      const out = Buffer.concat([head, rng.bytes(rng.int(0, 300))]);
      out.writeInt32BE(out.length - 12, 8);
      out.writeInt16BE((out.readInt16BE(21) & ~0x07) | rng.int(1, 4), 21);
      return fixCrc(out);
    }
    case 9: {
      const payload = gzipBomb();
      const out = Buffer.concat([batch.subarray(0, HEADER_SIZE), payload]);
      out.writeInt32BE(out.length - 12, 8);
      out.writeInt16BE((out.readInt16BE(21) & ~0x07) | 1, 21);
      out.writeInt32BE(rng.pick([1, 2 ** 31 - 1]), 57);
      return fixCrc(out);
    }
    default:
      return int32(12, rng.pick([-1, 2 ** 31 - 1, 7]));
  }
}

/**
 * A `records` value: valid batches, broken ones, or bytes that are no batch at all. Idempotent
 * batches use one of `producerIds` (ids the broker handed out) as often as made-up ones.
 */
export function fuzzRecords(rng: Rng, producerIds: readonly number[] = []): Buffer {
  const roll = rng.next();
  if (roll < 0.35) return validBatch(rng, producerIds);
  if (roll < 0.75) return broken(rng, validBatch(rng, producerIds, rng.chance(0.7) ? 'none' : undefined));
  if (roll < 0.85) {
    return Buffer.concat([
      validBatch(rng, producerIds, 'none'),
      broken(rng, validBatch(rng, producerIds, 'none')),
    ]);
  }
  return rng.pick([Buffer.alloc(0), rng.bytes(rng.int(1, 11)), rng.bytes(rng.int(12, 200))]);
}
