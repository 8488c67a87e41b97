/**
 * A group's committed offsets, and Kafka's rule for when they expire (KIP-211, KIP-496).
 *
 * Offsets expire `offsets.retention.minutes` after a base time, or at the expire timestamp an
 * OffsetCommit v2–v4 gave them:
 * - a group that has used the group protocol and is now Empty: counted from when it became empty,
 *   so a consumer group idle for the retention period loses its offsets, not one merely slow to commit;
 * - a Stable consumer group: only offsets of topics no member subscribes to any more, counted from
 *   their commit;
 * - a group that never used the group protocol (a "simple" consumer committing with generation -1):
 *   counted from each commit;
 * - otherwise (a rebalance in progress, a group of another protocol type) nothing expires.
 */

export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** Only from OffsetCommit v2–v4 with an explicit retention time. */
  expireTimestamp: number | null;
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

export class OffsetTable {
  readonly #byTopic = new Map<string, Map<number, CommittedOffset>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(topic: string, partition: number): CommittedOffset | undefined {
    return this.#byTopic.get(topic)?.get(partition);
  }

  set(topic: string, partition: number, value: CommittedOffset): void {
    let partitions = this.#byTopic.get(topic);
    if (!partitions) {
      partitions = new Map();
      this.#byTopic.set(topic, partitions);
    }
    if (!partitions.has(partition)) this.#size++;
    partitions.set(partition, value);
  }

  delete(topic: string, partition: number): boolean {
    const partitions = this.#byTopic.get(topic);
    if (!partitions?.delete(partition)) return false;
    this.#size--;
    if (partitions.size === 0) this.#byTopic.delete(topic);
    return true;
  }

  clear(): void {
    this.#byTopic.clear();
    this.#size = 0;
  }

  topics(): string[] {
    return [...this.#byTopic.keys()];
  }

  /** A topic's committed partitions, in partition order. */
  partitions(topic: string): Array<[number, CommittedOffset]> {
    return [...(this.#byTopic.get(topic) ?? [])].sort((a, b) => a[0] - b[0]);
  }

  *entries(): IterableIterator<TopicPartitionRef & { value: CommittedOffset }> {
    for (const [topic, partitions] of this.#byTopic) {
      for (const [partition, value] of partitions) yield { topic, partition, value };
    }
  }
}

export interface ExpiryInput {
  offsets: OffsetTable;
  state: string;
  /** null for a group that never used the group protocol. */
  protocolType: string | null;
  /** When the group entered its current state. */
  stateTimestamp: number;
  /** The topics the members subscribe to; null when unknown. */
  subscribedTopics: ReadonlySet<string> | null;
  now: number;
  retentionMs: number;
}

/** The offsets of a group that have expired by now, per the rule at the top of this file. */
export function expiredOffsets(g: ExpiryInput): TopicPartitionRef[] {
  let base: ((o: CommittedOffset) => number) | null = null;
  let keep: ReadonlySet<string> = new Set();
  if (g.protocolType !== null && g.state === 'Empty') {
    base = () => g.stateTimestamp;
  } else if (g.protocolType === 'consumer' && g.subscribedTopics !== null && g.state === 'Stable') {
    base = (o) => o.commitTimestamp;
    keep = g.subscribedTopics;
  } else if (g.protocolType === null) {
    base = (o) => o.commitTimestamp;
  }
  if (base === null) return [];
  const expired: TopicPartitionRef[] = [];
  for (const { topic, partition, value } of g.offsets.entries()) {
    if (keep.has(topic)) continue;
    const due =
      value.expireTimestamp !== null ? g.now >= value.expireTimestamp : g.now - base(value) >= g.retentionMs;
    if (due) expired.push({ topic, partition });
  }
  return expired;
}
