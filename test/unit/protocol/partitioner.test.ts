import { createRequire } from 'node:module';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { murmur2, partitionForKey, toPositive } from '../../../src/protocol/partitioner.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
/** A key too long to write out: byte i is (i * 31 + 7) & 0xff. */
const longPattern = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

const PARTITION_COUNTS = [1, 3, 7, 16, 100];

/**
 * Produced by the Java client itself, not by this implementation: a throwaway program (not kept in
 * the repository) on Java 17 against org.apache.kafka:kafka-clients:3.9.1 from Maven Central printed
 * `Utils.murmur2(key)` and `BuiltInPartitioner.partitionForKey(key, n)` for each n in
 * PARTITION_COUNTS. The keys cover every tail length (0–3 bytes after the 4-byte blocks), UTF-8
 * multibyte text, bytes ≥ 0x80 (which Java sees as negative `byte`s) and keys of hundreds of bytes.
 */
const JAVA_VECTORS: readonly {
  label: string;
  key: Uint8Array;
  murmur2: number;
  partitions: readonly number[];
}[] = [
  { label: 'empty', key: hex(''), murmur2: 275646681, partitions: [0, 0, 2, 9, 81] },
  { label: 'ascii 1 bytes', key: hex('61'), murmur2: -1563381124, partitions: [0, 1, 5, 12, 24] },
  { label: 'ascii 2 bytes', key: hex('6162'), murmur2: 316155434, partitions: [0, 2, 0, 10, 34] },
  { label: 'ascii 3 bytes', key: hex('616263'), murmur2: 479470107, partitions: [0, 0, 4, 11, 7] },
  { label: 'ascii 4 bytes', key: hex('61626364'), murmur2: -1323649548, partitions: [0, 2, 5, 4, 0] },
  { label: 'ascii 5 bytes', key: hex('6162636465'), murmur2: 461995741, partitions: [0, 1, 4, 13, 41] },
  { label: 'ascii 6 bytes', key: hex('616263646566'), murmur2: 1870650108, partitions: [0, 0, 5, 12, 8] },
  { label: 'ascii 7 bytes', key: hex('61626364656667'), murmur2: -346467175, partitions: [0, 1, 4, 9, 73] },
  {
    label: 'ascii 8 bytes',
    key: hex('6162636465666768'),
    murmur2: -955427363,
    partitions: [0, 0, 0, 13, 85],
  },
  {
    label: 'ascii 9 bytes',
    key: hex('616263646566676869'),
    murmur2: -619679810,
    partitions: [0, 0, 1, 14, 38],
  },
  {
    label: 'ascii 10 bytes',
    key: hex('6162636465666768696a'),
    murmur2: 8205847,
    partitions: [0, 1, 6, 7, 47],
  },
  {
    label: 'ascii 11 bytes',
    key: hex('6162636465666768696a6b'),
    murmur2: -232389549,
    partitions: [0, 2, 2, 3, 99],
  },
  {
    label: 'ascii 12 bytes',
    key: hex('6162636465666768696a6b6c'),
    murmur2: -535286937,
    partitions: [0, 2, 6, 7, 11],
  },
  { label: 'ascii hello', key: hex('68656c6c6f'), murmur2: 2132663229, partitions: [0, 0, 4, 13, 29] },
  { label: 'ascii kafka', key: hex('6b61666b61'), murmur2: -798503068, partitions: [0, 1, 3, 4, 80] },
  {
    label: 'ascii tributary',
    key: hex('747269627574617279'),
    murmur2: 77843494,
    partitions: [0, 1, 1, 6, 94],
  },
  { label: 'ascii order-42', key: hex('6f726465722d3432'), murmur2: 501153024, partitions: [0, 0, 1, 0, 24] },
  {
    label: 'ascii user:1234567890',
    key: hex('757365723a31323334353637383930'),
    murmur2: 1084400573,
    partitions: [0, 2, 4, 13, 73],
  },
  { label: 'utf8 ü', key: hex('c3bc'), murmur2: 1419834458, partitions: [0, 2, 0, 10, 58] },
  { label: 'utf8 café', key: hex('636166c3a9'), murmur2: -1358007374, partitions: [0, 0, 6, 2, 74] },
  {
    label: 'utf8 日本語',
    key: hex('e697a5e69cace8aa9e'),
    murmur2: 1431860170,
    partitions: [0, 1, 6, 10, 70],
  },
  {
    label: 'utf8 🚀 launch',
    key: hex('f09f9a80206c61756e6368'),
    murmur2: -1476899679,
    partitions: [0, 2, 6, 1, 69],
  },
  {
    label: 'utf8 Привет',
    key: hex('d09fd180d0b8d0b2d0b5d182'),
    murmur2: -282391137,
    partitions: [0, 2, 2, 15, 11],
  },
  { label: '0x80', key: hex('80'), murmur2: 857690492, partitions: [0, 2, 1, 12, 92] },
  { label: '0xff', key: hex('ff'), murmur2: -311467685, partitions: [0, 0, 5, 11, 63] },
  { label: '0xff x2', key: hex('ffff'), murmur2: -1642832928, partitions: [0, 2, 0, 0, 20] },
  { label: '0xff x3', key: hex('ffffff'), murmur2: 1548199422, partitions: [0, 0, 0, 14, 22] },
  { label: '0xff x4', key: hex('ffffffff'), murmur2: 644171429, partitions: [0, 2, 6, 5, 29] },
  { label: '0xff x5', key: hex('ffffffffff'), murmur2: -363838622, partitions: [0, 0, 2, 2, 26] },
  { label: '0x00 x4', key: hex('00000000'), murmur2: 850957120, partitions: [0, 1, 6, 0, 20] },
  { label: 'high bytes 7', key: hex('8081fe7fc3a990'), murmur2: -112272783, partitions: [0, 2, 2, 1, 65] },
  {
    label: 'high bytes 10',
    key: hex('deadbeefcafebabe8001'),
    murmur2: -192582606,
    partitions: [0, 2, 3, 2, 42],
  },
  {
    label: 'long 1001 bytes ((i * 31 + 7) & 0xff)',
    key: longPattern(1001),
    murmur2: 1872886761,
    partitions: [0, 0, 4, 9, 61],
  },
  {
    label: 'ascii 440 bytes (a sentence x10)',
    key: utf8('the quick brown fox jumps over the lazy dog '.repeat(10)),
    murmur2: 891941869,
    partitions: [0, 1, 0, 13, 69],
  },
];

describe('partitioner > murmur2', () => {
  it.each(JAVA_VECTORS)('matches the Java client for $label', ({ key, murmur2: expected }) => {
    expect(murmur2(key)).toBe(expected);
  });

  it('returns a signed 32-bit integer, as Java does', () => {
    expect(murmur2(hex('61'))).toBe(-1563381124);
  });

  it('does not depend on where the key sits in its buffer', () => {
    const backing = new Uint8Array([0xaa, 0x61, 0x62, 0x63, 0x64, 0x65, 0xbb]);
    expect(murmur2(backing.subarray(1, 6))).toBe(murmur2(hex('6162636465')));
  });
});

describe('partitioner > partitionForKey', () => {
  it.each(JAVA_VECTORS)('places $label where the Java client does', ({ key, partitions }) => {
    expect(PARTITION_COUNTS.map((n) => partitionForKey(key, n))).toEqual(partitions);
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 31])('rejects a partition count of %p', (count) => {
    expect(() => partitionForKey(hex('61'), count)).toThrow(RangeError);
  });
});

describe('partitioner > toPositive', () => {
  it('clears only the sign bit', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-2147483648)).toBe(0);
    expect(toPositive(-1563381124)).toBe(584102524);
    expect(toPositive(12345)).toBe(12345);
  });
});

describe('partitioner > agreement with kafkajs', () => {
  // kafkajs's default partitioner hashes with its own BigInt-based port of the Java code; a second,
  // separately written implementation catches mistakes the fixed vectors happen not to reach.
  const require = createRequire(import.meta.url);
  const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
    key: Buffer,
  ) => number;

  it('computes the same hash for any byte string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(murmur2(bytes)).toBe(kafkajsMurmur2(Buffer.from(bytes)));
      }),
      { numRuns: 2000 },
    );
  });

  it('computes the same hash for UTF-8 text keys', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 64 }), (text) => {
        const bytes = Buffer.from(text, 'utf8');
        expect(murmur2(bytes)).toBe(kafkajsMurmur2(bytes));
      }),
    );
  });
});
