import lz4 from 'lz4-napi';
import { corrupt, tooLarge } from './errors.ts';

/*
 * Kafka's lz4 is the LZ4 *frame* format (one frame per batch, 64 KiB to 4 MiB blocks). lz4-napi
 * decompresses a frame but knows no limit and quietly stops after the first frame, so we walk the
 * frame structure ourselves first: it bounds the output before anything is decompressed and
 * rejects trailing or truncated bytes the library would ignore.
 */

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC = 0x184d2a50; // 0x184D2A50..0x184D2A5F: metadata frames a reader skips
const FLG_VERSION_MASK = 0xc0;
const FLG_VERSION_1 = 0x40;
const FLG_BLOCK_CHECKSUM = 0x10;
const FLG_CONTENT_SIZE = 0x08;
const FLG_CONTENT_CHECKSUM = 0x04;
const FLG_DICT_ID = 0x01;
const BLOCK_UNCOMPRESSED = 0x80000000;
/*
 * LZ4 cannot expand a compressed block more than 255:1 (each extra match-length byte adds at most
 * 255 output bytes), so a block's output is bounded by the smaller of this and the block maximum.
 */
const MAX_RATIO = 255;

export function lz4Compress(data: Buffer): Buffer {
  return lz4.compressFrameSync(data);
}

export function lz4Decompress(data: Buffer, maxBytes: number, base: number): Buffer {
  const frames: Buffer[] = [];
  let bound = 0;
  let at = 0;
  while (at < data.length) {
    if (data.length - at < 4) throw corrupt('truncated lz4 frame magic', base + at);
    const magic = data.readUInt32LE(at);
    if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
      if (data.length - at < 8) throw corrupt('truncated lz4 skippable frame', base + at);
      const size = data.readUInt32LE(at + 4);
      if (size > data.length - at - 8) throw corrupt('lz4 skippable frame overruns the data', base + at);
      at += 8 + size;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw corrupt(`not an lz4 frame (magic 0x${magic.toString(16)})`, base + at);
    const frame = walkFrame(data, at, maxBytes - bound, base);
    bound += frame.bound;
    frames.push(data.subarray(at, frame.end));
    at = frame.end;
  }
  if (frames.length === 0) throw corrupt('lz4 data holds no frame', base);

  const parts = frames.map((frame) => {
    try {
      return lz4.decompressFrameSync(frame);
    } catch (e) {
      throw corrupt(`invalid lz4 data: ${(e as Error).message}`, base, e);
    }
  });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** Checks one frame's structure; returns where it ends and a bound on what it decompresses to. */
function walkFrame(
  data: Buffer,
  start: number,
  budget: number,
  base: number,
): { end: number; bound: number } {
  if (data.length - start < 7) throw corrupt('truncated lz4 frame header', base + start);
  const flg = data[start + 4]!;
  const bd = data[start + 5]!;
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_1)
    throw corrupt('unsupported lz4 frame version', base + start);
  const blockSizeId = (bd >> 4) & 0x07;
  if (blockSizeId < 4) throw corrupt(`invalid lz4 block size id ${blockSizeId}`, base + start);
  const blockMax = 1 << (8 + 2 * blockSizeId); // 4 → 64 KiB … 7 → 4 MiB
  let at = start + 6;
  if (flg & FLG_CONTENT_SIZE) {
    if (data.length - at < 8) throw corrupt('truncated lz4 frame header', base + start);
    // A content size of 2^32 or more is over any limit we accept; only the low word matters then.
    if (data.readUInt32LE(at + 4) !== 0 || data.readUInt32LE(at) > budget) {
      throw tooLarge('lz4 frame declares a content size above the limit', base + start);
    }
    at += 8;
  }
  if (flg & FLG_DICT_ID) at += 4;
  at += 1; // header checksum, verified by the decompressor
  const checksumBytes = flg & FLG_BLOCK_CHECKSUM ? 4 : 0;

  let bound = 0;
  for (;;) {
    if (data.length - at < 4) throw corrupt('truncated lz4 frame: no end mark', base + at);
    const word = data.readUInt32LE(at);
    at += 4;
    if (word === 0) break;
    const size = (word & ~BLOCK_UNCOMPRESSED) >>> 0;
    if (size > blockMax)
      throw corrupt(`lz4 block of ${size} bytes exceeds the frame's ${blockMax}`, base + at - 4);
    if (size + checksumBytes > data.length - at) throw corrupt('truncated lz4 block', base + at - 4);
    bound += word & BLOCK_UNCOMPRESSED ? size : Math.min(blockMax, size * MAX_RATIO);
    if (bound > budget)
      throw tooLarge(`lz4 data may decompress to more than the limit of ${budget} bytes`, base + at - 4);
    at += size + checksumBytes;
  }
  if (flg & FLG_CONTENT_CHECKSUM) {
    if (data.length - at < 4) throw corrupt('truncated lz4 content checksum', base + at);
    at += 4;
  }
  return { end: at, bound };
}
