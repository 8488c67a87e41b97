/**
 * Idempotent producers, per partition (Kafka's ProducerStateManager and ProducerAppendInfo): for each
 * producer id, its epoch and the sequence and offset ranges of its last five batches. A produced
 * batch is admitted only when it continues its producer's sequence; a retry of one of the last five
 * is answered with the offsets the original got, and nothing is appended twice.
 *
 * Rules, as Kafka 3.9/4.x applies them to a client's batch:
 * - a retry of a retained batch (same epoch, same first and last sequence) is a duplicate — checked
 *   before anything else; modern Kafka answers it with the original offsets and no error
 *   (DUPLICATE_SEQUENCE_NUMBER is never sent);
 * - an epoch below the producer's is INVALID_PRODUCER_EPOCH (since Kafka 2.7; PRODUCER_FENCED is the
 *   transaction coordinator's answer, not the partition's);
 * - a higher epoch (the client bumped it, KIP-360) must start again at sequence 0, else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER; its earlier batches are forgotten;
 * - the same epoch must continue at the last sequence + 1 (wrapping from Int32 max to 0), else
 *   OUT_OF_ORDER_SEQUENCE_NUMBER;
 * - a producer id with no state here (new, expired, or all its data deleted) is accepted at any
 *   sequence: UNKNOWN_PRODUCER_ID is no longer answered (KIP-360).
 *
 * Appends are pipelined, so a batch is admitted (and counted in its producer's sequence) before its
 * append completes: the next request of the same producer sees it at once. `Reservation.complete`
 * fills in its offsets; `abort` takes it back when the append failed. A retry that arrives while the
 * original is still being written waits for it (`kind: 'wait'`).
 *
 * Pure state, no I/O and no clock of its own: ./producer-state-manager.ts loads, snapshots and
 * expires it; the produce path calls `admit` synchronously just before queueing the append, so
 * admission order is append order.
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import { isControlBatch } from '../protocol/records/index.ts';

export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
/** Batches remembered per producer: Kafka's NUM_BATCHES_TO_RETAIN, the idempotent client's in-flight limit. */
export const RETAINED_BATCHES = 5;
const INT32_MAX = 0x7fffffff;

/** What the produce path knows of a batch before it is appended (a BatchHeader fits). */
export interface ProducedBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
}

export type AppendSettled = { ok: true } | { ok: false; errorCode: number };

export interface ProducerBatch {
  firstSeq: number;
  lastSeq: number;
  /** -1 until its append completes. */
  baseOffset: number;
  lastOffset: number;
  /** Its max timestamp as written (the append time on a LogAppendTime topic). */
  timestamp: number;
  /** While its append is in flight: settles with how it went. */
  pending: Promise<AppendSettled> | null;
}

export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first; at most RETAINED_BATCHES. */
  batches: ProducerBatch[];
  /** When it last wrote here, by the broker's clock; what expiry counts from. */
  lastTimestamp: number;
}

export interface Reservation {
  /** The append succeeded: record where it landed. */
  complete(result: { baseOffset: number; lastOffset: number; timestamp: number }): void;
  /** The append failed: forget the batch, and the epoch bump it brought if nothing else holds it. */
  abort(errorCode: number): void;
}

export type Admission =
  | { kind: 'append'; reservation: Reservation }
  /** A retry of a batch already written: answer with its offsets, append nothing. */
  | { kind: 'duplicate'; batch: ProducerBatch }
  /** A retry of a batch still being written: wait for it, then answer as it went. */
  | { kind: 'wait'; batch: ProducerBatch; settled: Promise<AppendSettled> }
  | { kind: 'reject'; errorCode: number; message: string };

/** The sequence of a batch's last record: Kafka's DefaultRecordBatch.incrementSequence. */
export function lastSequence(baseSequence: number, lastOffsetDelta: number): number {
  if (baseSequence > INT32_MAX - lastOffsetDelta) return lastOffsetDelta - (INT32_MAX - baseSequence) - 1;
  return baseSequence + lastOffsetDelta;
}

/** Whether `next` follows `last`; sequences wrap from Int32 max to 0. */
export function inSequence(last: number, next: number): boolean {
  return next === last + 1 || (next === 0 && last === INT32_MAX);
}

/** A producer's state as a snapshot holds it: completed batches only. */
export interface ProducerSnapshotEntry {
  producerId: number;
  epoch: number;
  lastTimestamp: number;
  batches: Array<Omit<ProducerBatch, 'pending'>>;
}

export class PartitionProducerState {
  readonly #producers = new Map<number, ProducerEntry>();
  /** For each reservation in flight, the log end when it was admitted: its batch lands at or above. */
  readonly #inFlight = new Map<ProducerBatch, number>();
  readonly #partition: string;

  /** `partition` ("topic-0") names the partition in error messages, as Kafka's do. */
  constructor(partition: string, entries: readonly ProducerSnapshotEntry[] = []) {
    this.#partition = partition;
    for (const e of entries) {
      this.#producers.set(e.producerId, {
        producerId: e.producerId,
        epoch: e.epoch,
        lastTimestamp: e.lastTimestamp,
        batches: e.batches.map((b) => ({ ...b, pending: null })),
      });
    }
  }

  get producerCount(): number {
    return this.#producers.size;
  }

  entry(producerId: number): Readonly<ProducerEntry> | undefined {
    return this.#producers.get(producerId);
  }

  /**
   * Decides what to do with a client's batch of producer `b.producerId` (≥ 0). On 'append' the batch
   * now counts as the producer's latest: the caller must queue its append before yielding, and
   * settle the reservation when the append does. `logEnd` is the log end offset now.
   */
  admit(b: ProducedBatch, now: number, logEnd: number): Admission {
    const lastSeq = lastSequence(b.baseSequence, b.lastOffsetDelta);
    const entry = this.#producers.get(b.producerId);
    if (entry) {
      if (b.producerEpoch === entry.epoch) {
        const dup = entry.batches.find((x) => x.firstSeq === b.baseSequence && x.lastSeq === lastSeq);
        if (dup) {
          entry.lastTimestamp = Math.max(entry.lastTimestamp, now);
          return dup.pending
            ? { kind: 'wait', batch: dup, settled: dup.pending }
            : { kind: 'duplicate', batch: dup };
        }
      }
      const refusal = this.#check(entry, b);
      if (refusal) return refusal;
    }
    return { kind: 'append', reservation: this.#reserve(entry, b, lastSeq, now, logEnd) };
  }

  #check(entry: ProducerEntry, b: ProducedBatch): Admission | null {
    const where = `producer ${b.producerId} in partition ${this.#partition}`;
    if (b.producerEpoch < entry.epoch) {
      return {
        kind: 'reject',
        errorCode: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `Epoch of ${where} is ${b.producerEpoch}, which is smaller than the last seen epoch ${entry.epoch}`,
      };
    }
    if (b.producerEpoch > entry.epoch) {
      if (b.baseSequence === 0 || entry.epoch === NO_PRODUCER_EPOCH) return null;
      return {
        kind: 'reject',
        errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `Invalid sequence number for new epoch of ${where}: ${b.producerEpoch} (request epoch), ${b.baseSequence} (seq. number), ${entry.epoch} (current producer epoch)`,
      };
    }
    const last = entry.batches.at(-1)?.lastSeq ?? NO_SEQUENCE;
    if (inSequence(last, b.baseSequence)) return null;
    return {
      kind: 'reject',
      errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `Out of order sequence number for ${where}: ${b.baseSequence} (incoming seq. number), ${last} (current end sequence number)`,
    };
  }

  #reserve(
    existing: ProducerEntry | undefined,
    b: ProducedBatch,
    lastSeq: number,
    now: number,
    logEnd: number,
  ): Reservation {
    const entry: ProducerEntry = existing ?? {
      producerId: b.producerId,
      epoch: b.producerEpoch,
      batches: [],
      lastTimestamp: now,
    };
    if (!existing) this.#producers.set(b.producerId, entry);
    const before = { epoch: entry.epoch, batches: entry.batches };
    if (b.producerEpoch !== entry.epoch) {
      entry.epoch = b.producerEpoch;
      entry.batches = [];
    }
    const settled = Promise.withResolvers<AppendSettled>();
    const batch: ProducerBatch = {
      firstSeq: b.baseSequence,
      lastSeq,
      baseOffset: -1,
      lastOffset: -1,
      timestamp: -1,
      pending: settled.promise,
    };
    entry.batches.push(batch);
    if (entry.batches.length > RETAINED_BATCHES) entry.batches.shift();
    entry.lastTimestamp = Math.max(entry.lastTimestamp, now);
    this.#inFlight.set(batch, logEnd);
    let done = false;
    return {
      complete: (result) => {
        if (done) return;
        done = true;
        batch.baseOffset = result.baseOffset;
        batch.lastOffset = result.lastOffset;
        batch.timestamp = result.timestamp;
        batch.pending = null;
        this.#inFlight.delete(batch);
        settled.resolve({ ok: true });
      },
      abort: (errorCode) => {
        if (done) return;
        done = true;
        this.#inFlight.delete(batch);
        batch.pending = null;
        const i = entry.batches.indexOf(batch);
        if (i >= 0) entry.batches.splice(i, 1);
        // Undo the epoch bump this batch brought, unless a later batch of the new epoch holds it.
        if (entry.epoch !== before.epoch && entry.batches.length === 0) {
          entry.epoch = before.epoch;
          entry.batches = before.batches;
        }
        if (!existing && entry.batches.length === 0 && this.#producers.get(entry.producerId) === entry) {
          this.#producers.delete(entry.producerId);
        }
        settled.resolve({ ok: false, errorCode });
      },
    };
  }

  /**
   * Replays a batch read back from the log (loading after a restart). Nothing is checked: the log is
   * the truth. Batches the state already holds (a snapshot overlapping the replay) are skipped.
   */
  replay(
    h: {
      producerId: number;
      producerEpoch: number;
      baseSequence: number;
      baseOffset: number;
      lastOffsetDelta: number;
      maxTimestamp: number;
      attributes: number;
    },
    now: number,
  ): void {
    if (h.producerId < 0) return;
    const lastOffset = h.baseOffset + h.lastOffsetDelta;
    // A timestamp from the producer's clock may be far off; expiry must not count from the future.
    const seen = h.maxTimestamp >= 0 ? Math.min(h.maxTimestamp, now) : now;
    let entry = this.#producers.get(h.producerId);
    if (!entry) {
      entry = { producerId: h.producerId, epoch: h.producerEpoch, batches: [], lastTimestamp: seen };
      this.#producers.set(h.producerId, entry);
    }
    if (h.producerEpoch < entry.epoch) return;
    if (h.producerEpoch > entry.epoch) {
      entry.epoch = h.producerEpoch;
      entry.batches = [];
    }
    entry.lastTimestamp = Math.max(entry.lastTimestamp, seen);
    // Transaction markers carry the producer's epoch but no sequence.
    if (isControlBatch(h.attributes)) return;
    const last = entry.batches.at(-1);
    if (last && lastOffset <= last.lastOffset) return;
    entry.batches.push({
      firstSeq: h.baseSequence,
      lastSeq: lastSequence(h.baseSequence, h.lastOffsetDelta),
      baseOffset: h.baseOffset,
      lastOffset,
      timestamp: h.maxTimestamp,
      pending: null,
    });
    if (entry.batches.length > RETAINED_BATCHES) entry.batches.shift();
  }

  /**
   * Forgets producers silent for `maxIdleMs` (producer.id.expiration.ms) and returns how many; a
   * producer with an append in flight stays.
   */
  expire(now: number, maxIdleMs: number): number {
    let removed = 0;
    for (const [id, e] of this.#producers) {
      if (now - e.lastTimestamp < maxIdleMs || e.batches.some((b) => b.pending)) continue;
      this.#producers.delete(id);
      removed++;
    }
    return removed;
  }

  /**
   * The lowest offset an admitted batch whose append has not completed can land at (Infinity when
   * none is in flight). Every idempotent batch below it is reflected in `snapshotEntries()`.
   */
  inFlightFloor(): number {
    let floor = Infinity;
    for (const logEnd of this.#inFlight.values()) floor = Math.min(floor, logEnd);
    return floor;
  }

  /**
   * What a snapshot keeps: every producer with at least one completed batch, with those batches. A
   * producer whose only batches are in flight is left out; the log replay after the snapshot's
   * offset brings it back if its batch was written.
   */
  snapshotEntries(): ProducerSnapshotEntry[] {
    const out: ProducerSnapshotEntry[] = [];
    for (const e of this.#producers.values()) {
      const batches = e.batches
        .filter((b) => b.pending === null)
        .map(({ firstSeq, lastSeq, baseOffset, lastOffset, timestamp }) => ({
          firstSeq,
          lastSeq,
          baseOffset,
          lastOffset,
          timestamp,
        }));
      if (batches.length === 0) continue;
      out.push({ producerId: e.producerId, epoch: e.epoch, lastTimestamp: e.lastTimestamp, batches });
    }
    return out;
  }
}
