/**
 * Which offsets partition a group lives on. Every client and broker must agree on it (the
 * coordinator of a group is the leader of that partition), so it is Kafka's own rule exactly:
 * `Utils.abs(groupId.hashCode()) % partitions`, with Java's String.hashCode over UTF-16 code units
 * and Kafka's abs, which maps Integer.MIN_VALUE to 0 rather than leaving it negative.
 */

/** Java's `String.hashCode()`: s[0]·31^(n−1) + … + s[n−1], in 32-bit two's complement. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  // charCodeAt gives UTF-16 code units, as Java's char does (a surrogate pair counts twice).
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's `Utils.abs`: Math.abs, except that Integer.MIN_VALUE (which has no positive) gives 0. */
export function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The offsets partition holding `groupId`'s metadata and committed offsets. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  return kafkaAbs(javaStringHashCode(groupId)) % partitions;
}
