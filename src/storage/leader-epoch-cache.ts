/**
 * Epoch → first offset written in that epoch, as Kafka's LeaderEpochFileCache: what
 * OffsetsForLeaderEpoch answers from, so a follower of a new leader knows where to truncate.
 * Entries increase in both epoch and start offset. Pure state; the log persists it after a change.
 */
export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_OFFSET = -1;

export class LeaderEpochCache {
  #entries: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    this.#entries = entries.map((e) => ({ ...e }));
  }

  get entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  latestEpoch(): number {
    return this.#entries.length === 0 ? UNDEFINED_EPOCH : this.#entries[this.#entries.length - 1].epoch;
  }

  /**
   * Records that `epoch` starts at `startOffset`. Returns true when the cache changed. An entry that
   * contradicts a later one (a lower epoch, or an offset before an existing start) removes the
   * conflicting entries, as a log truncated and rewritten by a new leader would.
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0) return false;
    const last = this.#entries[this.#entries.length - 1];
    if (last && last.epoch === epoch && last.startOffset <= startOffset) return false;
    this.#entries = this.#entries.filter((e) => e.epoch < epoch && e.startOffset < startOffset);
    this.#entries.push({ epoch, startOffset });
    return true;
  }

  /**
   * For OffsetsForLeaderEpoch: the largest epoch ≤ `epoch` and the offset where the next epoch
   * starts (or `logEndOffset` for the latest epoch). Kafka's semantics, including undefined results.
   */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    const latest = this.latestEpoch();
    if (epoch === latest && latest !== UNDEFINED_EPOCH) return { epoch, endOffset: logEndOffset };
    let i = this.#entries.length - 1;
    while (i >= 0 && this.#entries[i].epoch > epoch) i--;
    // An epoch older than anything cached (or an empty cache): nothing is known about it.
    if (i < 0) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_OFFSET };
    const next = this.#entries[i + 1];
    return { epoch: this.#entries[i].epoch, endOffset: next ? next.startOffset : logEndOffset };
  }

  /** The log was truncated to end before `endOffset`: epochs starting at or after it go. */
  truncateFromEnd(endOffset: number): boolean {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.startOffset < endOffset);
    return this.#entries.length !== before;
  }

  /**
   * The log now starts at `startOffset`: entries wholly before it go, and the one that spans it is
   * moved up to start there.
   */
  truncateFromStart(startOffset: number): boolean {
    let changed = false;
    while (this.#entries.length > 1 && this.#entries[1].startOffset <= startOffset) {
      this.#entries.shift();
      changed = true;
    }
    const first = this.#entries[0];
    if (first && first.startOffset < startOffset) {
      this.#entries[0] = { epoch: first.epoch, startOffset };
      changed = true;
    }
    return changed;
  }
}
