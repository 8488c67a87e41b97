import snappy from 'snappy';
import { corrupt, tooLarge } from './errors.ts';

/*
 * Kafka's Java client writes snappy inside snappy-java's "xerial" stream framing:
 *
 *   magic "\x82SNAPPY\x00" | version int32 | compatible version int32 | (length int32 | raw snappy block)*
 *
 * librdkafka writes either that or one bare raw-snappy block, so reading accepts both. The
 * compression itself is the `snappy` package's; only the framing is ours.
 */

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;
const XERIAL_VERSION = 1;
/** snappy-java's default block size, so our streams look like Kafka's own. */
const XERIAL_BLOCK_SIZE = 32 * 1024;
/*
 * Snappy's densest element is a copy of 64 bytes in a 3-byte tag, so no block expands more than
 * ~21×. A preamble claiming more is forged or damaged: corrupt, not merely too large.
 */
const MAX_RATIO = 22;

export function snappyCompress(data: Buffer): Buffer {
  const blocks: Buffer[] = [];
  let size = XERIAL_HEADER_SIZE;
  for (let at = 0; at < data.length; at += XERIAL_BLOCK_SIZE) {
    const block = snappy.compressSync(data.subarray(at, at + XERIAL_BLOCK_SIZE));
    blocks.push(block);
    size += 4 + block.length;
  }
  const out = Buffer.allocUnsafe(size);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(XERIAL_VERSION, 8);
  out.writeInt32BE(XERIAL_VERSION, 12);
  let at = XERIAL_HEADER_SIZE;
  for (const block of blocks) {
    out.writeInt32BE(block.length, at);
    at += 4 + block.copy(out, at + 4);
  }
  return out;
}

/** `base` is where `data` starts in the caller's buffer, so error positions are the caller's. */
export function snappyDecompress(data: Buffer, maxBytes: number, base: number): Buffer {
  if (!startsWithXerialMagic(data, 0)) {
    const size = rawLength(data, 0, data.length, base);
    if (size > maxBytes) throw overLimit(size, maxBytes, base);
    return rawBlock(data, size, base);
  }

  // First pass: walk the frames and add up the sizes each raw block declares, so a hostile stream
  // is refused before anything is allocated.
  const blocks: Array<{ start: number; end: number; size: number }> = [];
  let total = 0;
  let at = 0;
  while (at < data.length) {
    // snappy-java reads concatenated streams, each with its own header; a block length can never
    // start with 0x82 (it would be negative), so the magic is unambiguous here.
    if (startsWithXerialMagic(data, at)) {
      if (data.length - at < XERIAL_HEADER_SIZE) throw corrupt('truncated xerial snappy header', base + at);
      at += XERIAL_HEADER_SIZE;
      continue;
    }
    if (data.length - at < 4) throw corrupt('truncated xerial snappy block length', base + at);
    const length = data.readInt32BE(at);
    const start = at + 4;
    if (length < 0 || length > data.length - start) {
      throw corrupt(
        `xerial snappy block of ${length} bytes overruns the ${data.length - start} that remain`,
        base + at,
      );
    }
    const size = rawLength(data, start, start + length, base);
    total += size;
    if (total > maxBytes) throw overLimit(total, maxBytes, base + at);
    blocks.push({ start, end: start + length, size });
    at = start + length;
  }

  if (blocks.length === 1) return rawBlock(data.subarray(blocks[0]!.start, blocks[0]!.end), total, base);
  const out = Buffer.allocUnsafe(total);
  let written = 0;
  for (const { start, end, size } of blocks) {
    written += rawBlock(data.subarray(start, end), size, base + start).copy(out, written);
  }
  return out;
}

function startsWithXerialMagic(data: Buffer, at: number): boolean {
  return data.length - at >= XERIAL_MAGIC.length && data.compare(XERIAL_MAGIC, 0, 8, at, at + 8) === 0;
}

/** The uncompressed length a raw snappy block declares in its leading uvarint. */
function rawLength(data: Buffer, start: number, end: number, base: number): number {
  let value = 0;
  for (let i = 0, at = start; i < 5; i++, at++) {
    if (at >= end) throw corrupt('truncated snappy length preamble', base + start);
    const b = data[at]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (value > (end - start) * MAX_RATIO) {
        throw corrupt(
          `snappy block of ${end - start} bytes cannot hold the ${value} it declares`,
          base + start,
        );
      }
      return value;
    }
  }
  throw corrupt('snappy length preamble longer than 5 bytes', base + start);
}

function rawBlock(block: Buffer, size: number, base: number): Buffer {
  let out: string | Buffer;
  try {
    out = snappy.uncompressSync(block);
  } catch (e) {
    throw corrupt(`invalid snappy data: ${(e as Error).message}`, base, e);
  }
  if (!Buffer.isBuffer(out) || out.length !== size) {
    throw corrupt(`snappy block declared ${size} bytes but decompressed to ${out.length}`, base);
  }
  return out;
}

function overLimit(size: number, maxBytes: number, position: number): Error {
  return tooLarge(`snappy data decompresses to ${size} bytes, above the limit of ${maxBytes}`, position);
}
