/**
 * Key → partition mapping shared by the Java client, librdkafka's `murmur2_random` and kafkajs's
 * default partitioner: `(murmur2(key) & 0x7fffffff) % partitionCount`. Matching it bit for bit is
 * what lets a key produced by any of those clients and by us land on the same partition.
 *
 * The hash is MurmurHash2 (32-bit, little-endian 4-byte blocks) with Kafka's fixed seed 0x9747b28c,
 * returned signed as Java's `int` is. Off-the-shelf MurmurHash2 packages pick other seeds or return
 * it unsigned, and either is enough to send keys to the wrong partition.
 */

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/**
 * Kafka's murmur2 of `key`, as a signed 32-bit integer — the same value
 * `org.apache.kafka.common.utils.Utils.murmur2(byte[])` returns, including its sign.
 */
export function murmur2(key: Uint8Array): number {
  const length = key.length;
  // Java's `int` arithmetic wraps at 32 bits; `| 0` and Math.imul keep every step in that range so
  // no intermediate product loses low bits to float rounding.
  let h = (SEED ^ length) | 0;
  const blocksEnd = length & ~3;

  for (let i = 0; i < blocksEnd; i += 4) {
    let k = key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }

  // Java handles the tail with a falling-through switch: a 3-byte tail mixes all three bytes, then
  // multiplies once. The ifs below keep that order without fallthrough.
  const tail = length & 3;
  if (tail !== 0) {
    if (tail === 3) h ^= key[blocksEnd + 2] << 16;
    if (tail >= 2) h ^= key[blocksEnd + 1] << 8;
    h ^= key[blocksEnd];
    h = Math.imul(h, M);
  }

  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * Clears the sign bit, as Kafka's `Utils.toPositive` does. Not `Math.abs`: that would put n and -n
 * on the same partition, which Kafka does not, so keys would land elsewhere than Java puts them.
 */
export function toPositive(n: number): number {
  return n & 0x7fffffff;
}

/** The partition a keyed record goes to, in `[0, partitionCount)`. */
export function partitionForKey(key: Uint8Array, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 0x7fffffff) {
    throw new RangeError(`partitionCount must be an integer in [1, 2^31 - 1], got ${partitionCount}`);
  }
  return toPositive(murmur2(key)) % partitionCount;
}
