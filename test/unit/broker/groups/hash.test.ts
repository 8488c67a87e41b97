import { describe, expect, it } from '@jest/globals';
import { javaStringHashCode, offsetsPartitionFor } from '../../../../src/broker/groups/hash.ts';

/** [group id, Java's String.hashCode, partition of 50, partition of 16], computed with Java 21. */
const JAVA: Array<[string, number, number, number]> = [
  ['', 0, 0, 0],
  ['a', 97, 47, 1],
  ['group', 98629247, 47, 15],
  ['my-consumer-group', 1513705513, 13, 9],
  // Hashes to Integer.MIN_VALUE, whose Math.abs stays negative: Kafka's Utils.abs makes it 0.
  ['polygenelubricants', -2147483648, 0, 0],
  ['Aa', 2112, 12, 0],
  ['BB', 2112, 12, 0],
  ['été', 227742, 42, 14],
  // Outside the BMP: Java hashes the two UTF-16 code units of the surrogate pair.
  ['😀-grp', 928360827, 27, 11],
  ['console-consumer-12345', 158455506, 6, 2],
  ['kafkajs-group-中文', 2138806310, 10, 6],
];

describe('offsets partition of a group', () => {
  it.each(JAVA)('%j hashes as Java does and lands where Kafka puts it', (id, hash, of50, of16) => {
    expect(javaStringHashCode(id)).toBe(hash);
    expect(offsetsPartitionFor(id, 50)).toBe(of50);
    expect(offsetsPartitionFor(id, 16)).toBe(of16);
  });
});
