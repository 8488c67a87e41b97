import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import lz4 from 'lz4-napi';
import snappy from 'snappy';
import {
  COMPRESSION_CODES,
  compress,
  compressionFromCode,
  decompress,
  KafkaErrorCode,
  type Compression,
} from '../../../../src/protocol/records/index.ts';
import { batchError, hex, noise } from './helpers.ts';

const CODECS: Compression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];
const XERIAL_HEADER = hex('82 534e4150505900 00000001 00000001');

function compressible(n: number): Buffer {
  const buf = Buffer.alloc(n);
  for (let i = 0; i < n; i++) buf[i] = (i % 251) ^ (i >> 12);
  return buf;
}

describe('compression > codecs', () => {
  it('maps attribute ids to codecs and back', () => {
    for (const codec of CODECS) expect(compressionFromCode(COMPRESSION_CODES[codec])).toBe(codec);
    expect(compressionFromCode(5)).toBeUndefined();
  });

  it.each(CODECS)('%s round-trips empty, small, random and compressible data', (codec) => {
    for (const data of [Buffer.alloc(0), Buffer.from('x'), randomBytes(70_000), compressible(300_000)]) {
      expect(decompress(codec, compress(codec, data)).equals(data)).toBe(true);
    }
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'] as const)(
    '%s refuses undecodable data as CORRUPT_MESSAGE',
    (codec) => {
      const good = compress(codec, compressible(10_000));
      for (const bad of [noise(64), noise(3000, 7), good.subarray(0, good.length >> 1), hex('01')]) {
        expect(batchError(() => decompress(codec, bad)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
      }
    },
  );

  it.each(CODECS)('%s refuses output above maxBytes as MESSAGE_TOO_LARGE', (codec) => {
    const packed = compress(codec, Buffer.alloc(4 * 1024 * 1024));
    expect(decompress(codec, packed, { maxBytes: 4 * 1024 * 1024 }).length).toBe(4 * 1024 * 1024);
    const e = batchError(() => decompress(codec, packed, { maxBytes: 1024 * 1024 }));
    expect(e.errorCode).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
  });

  it('wants a positive integer maxBytes', () => {
    for (const maxBytes of [0, -1, 1.5, Number.NaN]) {
      expect(() => decompress('gzip', compress('gzip', Buffer.from('x')), { maxBytes })).toThrow(RangeError);
    }
  });
});

describe('compression > snappy', () => {
  it('writes the xerial framing Kafka writes, in 32 KiB blocks', () => {
    const out = compress('snappy', compressible(100 * 1024));
    expect(out.subarray(0, 16).equals(XERIAL_HEADER)).toBe(true);
    let blocks = 0;
    for (let at = 16; at < out.length; at += 4 + out.readInt32BE(at)) blocks++;
    expect(blocks).toBe(4);
  });

  it('reads a xerial stream built by hand, one literal block', () => {
    // Raw snappy of "hello": uvarint length 5, literal tag (5 - 1) << 2, the bytes.
    const stream = Buffer.concat([XERIAL_HEADER, hex('00000007 05 10'), Buffer.from('hello')]);
    expect(decompress('snappy', stream).toString()).toBe('hello');
  });

  it('reads the bare raw snappy librdkafka may send', () => {
    expect(decompress('snappy', hex('05 10 68656c6c6f')).toString()).toBe('hello');
    const data = compressible(50_000);
    expect(decompress('snappy', snappy.compressSync(data)).equals(data)).toBe(true);
  });

  it('reads concatenated xerial streams, as snappy-java does', () => {
    const a = compressible(40_000);
    const b = Buffer.from('tail');
    const out = decompress('snappy', Buffer.concat([compress('snappy', a), compress('snappy', b)]));
    expect(out.equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('reads a xerial header with no blocks as empty', () => {
    expect(decompress('snappy', XERIAL_HEADER).length).toBe(0);
  });

  it('refuses a block length that overruns the stream or a truncated header', () => {
    for (const bad of [
      Buffer.concat([XERIAL_HEADER, hex('00000100 05 10')]),
      Buffer.concat([XERIAL_HEADER, hex('000000')]),
      Buffer.concat([XERIAL_HEADER, hex('ffffffff')]),
      XERIAL_HEADER.subarray(0, 12),
    ]) {
      expect(batchError(() => decompress('snappy', bad)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('refuses a declared length no snappy block of that size can expand to', () => {
    // Six bytes claiming 2^32 - 1 bytes of output.
    expect(batchError(() => decompress('snappy', hex('ffffffff0f 00'))).errorCode).toBe(
      KafkaErrorCode.CORRUPT_MESSAGE,
    );
  });

  it('refuses xerial blocks adding up past the limit before decompressing them', () => {
    const raw = snappy.compressSync(Buffer.alloc(1024 * 1024));
    const block = Buffer.concat([Buffer.alloc(4), raw]);
    block.writeInt32BE(raw.length, 0);
    const stream = Buffer.concat([XERIAL_HEADER, block, block, block]);
    expect(decompress('snappy', stream).length).toBe(3 * 1024 * 1024);
    const e = batchError(() => decompress('snappy', stream, { maxBytes: 2 * 1024 * 1024 }));
    expect(e.errorCode).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
  });

  it('refuses a block whose content does not match its declared length', () => {
    const stream = Buffer.concat([XERIAL_HEADER, hex('00000007 06 10'), Buffer.from('hello')]);
    expect(batchError(() => decompress('snappy', stream)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
  });
});

describe('compression > lz4', () => {
  it('writes one LZ4 frame', () => {
    expect(compress('lz4', Buffer.from('abc')).readUInt32LE(0)).toBe(0x184d2204);
  });

  it('reads frames with block and content checksums', () => {
    const data = compressible(200_000);
    const frame = lz4.compressFrameSync(data, { blockChecksums: true, contentChecksum: true });
    expect(decompress('lz4', frame).equals(data)).toBe(true);
  });

  it('reads concatenated frames and skips skippable ones', () => {
    const skippable = hex('5a2a4d18 03000000 aabbcc');
    const stream = Buffer.concat([
      compress('lz4', Buffer.from('ab')),
      skippable,
      compress('lz4', Buffer.from('cd')),
    ]);
    expect(decompress('lz4', stream).toString()).toBe('abcd');
  });

  it('refuses trailing bytes, a truncated end mark and an unknown magic', () => {
    const frame = compress('lz4', compressible(1000));
    for (const bad of [
      Buffer.concat([frame, hex('00')]),
      frame.subarray(0, frame.length - 2),
      Buffer.concat([hex('02214c18'), frame.subarray(4)]),
    ]) {
      expect(batchError(() => decompress('lz4', bad)).errorCode).toBe(KafkaErrorCode.CORRUPT_MESSAGE);
    }
  });

  it('refuses a frame declaring a content size above the limit', () => {
    // FLG: version 01, independent blocks, content size; BD: 64 KiB blocks; content size 2^40.
    const frame = hex('04224d18 68 40 0000000000010000 00 00000000');
    expect(batchError(() => decompress('lz4', frame)).errorCode).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
  });

  it('bounds the output by the blocks before decompressing', () => {
    // Uncompressed blocks (high bit set) of 60 KiB each: 20 of them make 1.2 MB.
    const block = Buffer.concat([hex('00f00080'), Buffer.alloc(0xf000)]);
    const frame = Buffer.concat([
      hex('04224d18 60 40 82'),
      ...Array.from({ length: 20 }, () => block),
      hex('00000000'),
    ]);
    expect(decompress('lz4', frame).length).toBe(20 * 0xf000);
    const e = batchError(() => decompress('lz4', frame, { maxBytes: 1_000_000 }));
    expect(e.errorCode).toBe(KafkaErrorCode.MESSAGE_TOO_LARGE);
  });
});
