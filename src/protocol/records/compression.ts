import { constants as bufferConstants } from 'node:buffer';
import zlib from 'node:zlib';
import { corrupt, RecordBatchError, tooLarge } from './errors.ts';
import { lz4Compress, lz4Decompress } from './lz4.ts';
import { snappyCompress, snappyDecompress } from './snappy.ts';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** The codec's id in bits 0-2 of a batch's attributes. */
export const COMPRESSION_CODES: { readonly [C in Compression]: number } = {
  none: 0,
  gzip: 1,
  snappy: 2,
  lz4: 3,
  zstd: 4,
};

const CODECS: readonly Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** The codec for an attribute id (0-4), or undefined for the ids 5-7 no codec has. */
export function compressionFromCode(code: number): Compression | undefined {
  return CODECS[code];
}

/**
 * Default ceiling on what one batch may decompress to: 64 MiB. A producer's batch is capped by
 * max.message.bytes (1 MiB by default, rarely set past 16 MiB), and real payloads compress 2-10×,
 * so legitimate batches stay well below; a decompression bomb (a few KiB of zeros claiming
 * gigabytes) is refused at the limit instead of taking the heap. Callers that decode bigger
 * batches on purpose pass their own `maxBytes`.
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export interface DecompressOptions {
  /** Largest output accepted; more is a MESSAGE_TOO_LARGE RecordBatchError. */
  maxBytes?: number;
}

export function compress(codec: Compression, data: Buffer): Buffer {
  switch (codec) {
    case 'none':
      return data;
    case 'gzip':
      return zlib.gzipSync(data);
    case 'snappy':
      return snappyCompress(data);
    case 'lz4':
      return lz4Compress(data);
    case 'zstd':
      return zlib.zstdCompressSync(data);
  }
}

/**
 * Decompresses one batch payload without ever holding more than `maxBytes` of output. Every
 * failure is a RecordBatchError: CORRUPT_MESSAGE for undecodable data, MESSAGE_TOO_LARGE past the
 * limit. Error positions are offsets into `data`.
 */
export function decompress(codec: Compression, data: Buffer, options: DecompressOptions = {}): Buffer {
  return decompressAt(codec, data, maxBytesOf(options), 0);
}

/** As decompress, for a payload that starts at byte `base` of the caller's buffer. */
export function decompressAt(codec: Compression, data: Buffer, maxBytes: number, base: number): Buffer {
  switch (codec) {
    case 'none':
      if (data.length > maxBytes)
        throw tooLarge(`${data.length} bytes exceed the limit of ${maxBytes}`, base);
      return data;
    case 'snappy':
      return snappyDecompress(data, maxBytes, base);
    case 'lz4':
      return lz4Decompress(data, maxBytes, base);
    case 'gzip':
      return inflate(codec, () => zlib.gunzipSync(data, { maxOutputLength: maxBytes }), maxBytes, base);
    case 'zstd':
      return inflate(
        codec,
        () => zlib.zstdDecompressSync(data, { maxOutputLength: maxBytes }),
        maxBytes,
        base,
      );
  }
}

export function maxBytesOf(options: DecompressOptions): number {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > bufferConstants.MAX_LENGTH) {
    throw new RangeError(
      `maxBytes must be an integer from 1 to ${bufferConstants.MAX_LENGTH}, got ${maxBytes}`,
    );
  }
  return maxBytes;
}

/** zlib's maxOutputLength stops inflating at the limit; its errors become ours. */
function inflate(codec: Compression, run: () => Buffer, maxBytes: number, base: number): Buffer {
  try {
    return run();
  } catch (e) {
    if (e instanceof RecordBatchError) throw e;
    if ((e as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw tooLarge(`${codec} data decompresses to more than the limit of ${maxBytes} bytes`, base);
    }
    throw corrupt(`invalid ${codec} data: ${(e as Error).message}`, base, e);
  }
}
