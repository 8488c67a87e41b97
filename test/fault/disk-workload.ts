/**
 * The client side of the disk fault tests: a kafkajs producer's sends recorded as acknowledged (with
 * their offsets) or in doubt (an error came back: the record may or may not be in the log), the Kafka
 * error a failed send carried, and a partition's log read back judged against that record: nothing
 * acknowledged missing or moved, nothing there that was never sent.
 */
import type { Producer } from 'kafkajs';

/** Every send to one partition of a topic, by outcome. */
export class SendLog {
  readonly topic: string;
  /** Acknowledged: offset → value. */
  readonly acked = new Map<number, string>();
  /** Sends that failed: value → the Kafka error type (e.g. KAFKA_STORAGE_ERROR) or the message. */
  readonly failed = new Map<string, string>();
  #next = 0;

  constructor(topic: string) {
    this.topic = topic;
  }

  /** Sends one record to partition 0; returns the Kafka error type when it failed, null when acked. */
  async send(producer: Producer, value = `${this.topic}-${this.#next++}`): Promise<string | null> {
    try {
      const [meta] = await producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ value, partition: 0 }],
      });
      this.acked.set(Number(meta.baseOffset), value);
      return null;
    } catch (err) {
      const type = kafkaErrorType(err) ?? (err as Error).message;
      this.failed.set(value, type);
      return type;
    }
  }

  async sendMany(producer: Producer, n: number): Promise<string[]> {
    const errors: string[] = [];
    for (let i = 0; i < n; i++) {
      const e = await this.send(producer);
      if (e !== null) errors.push(e);
    }
    return errors;
  }

  /** Judges a partition's records as read back, in offset order. */
  judge(records: ReadonlyArray<{ offset: bigint | number; value: Buffer | string | null }>): Verdict {
    const seen = new Map(records.map((r) => [Number(r.offset), r.value?.toString() ?? '']));
    const verdict: Verdict = { lost: [], moved: [], neverSent: [], inDoubtPresent: [] };
    for (const [offset, value] of this.acked) {
      const got = seen.get(offset);
      if (got === undefined) verdict.lost.push(offset);
      else if (got !== value) verdict.moved.push(offset);
    }
    for (const [offset, value] of seen) {
      if (this.acked.get(offset) === value) continue;
      if (this.failed.has(value)) verdict.inDoubtPresent.push(offset);
      else verdict.neverSent.push(offset);
    }
    return verdict;
  }
}

export interface Verdict {
  /** Acknowledged offsets with no record. */
  lost: number[];
  /** Acknowledged offsets holding another record. */
  moved: number[];
  /** Offsets holding a record no send produced (or an acknowledged one at a second offset). */
  neverSent: number[];
  /** Offsets holding a record whose send failed: allowed (in doubt), reported for the figures. */
  inDoubtPresent: number[];
}

/** The Kafka error type (kafkajs's `type`, e.g. KAFKA_STORAGE_ERROR) in an error or its causes. */
export function kafkaErrorType(err: unknown): string | null {
  for (let e = err as { type?: unknown; cause?: unknown; originalError?: unknown } | undefined; e;) {
    if (typeof e.type === 'string' && e.type !== 'UNKNOWN') return e.type;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return null;
}
