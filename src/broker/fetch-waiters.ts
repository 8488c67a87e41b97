/**
 * Long-polling fetches park here (Kafka's fetch purgatory). A Fetch that found fewer than minBytes
 * opens a FetchWait on the partitions it reads; the wait wakes its owner when one of them gets
 * newly committed data (the replica manager reports each high-watermark move) — or, for a
 * follower's fetch, which reads to the log end, any new data at all — when maxWaitMs has
 * passed on the injected clock, or when the connection closes. The owner decides what a wake-up
 * means (re-reading, counting bytes) and closes the wait when done, so nothing outlives it: no
 * timer, no abort listener, no registration.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../common/clock.ts';
import type { AppendListener } from './replica-manager.ts';

/** Where high-watermark moves come from (ReplicaManager in the broker, a stand-in in tests). */
export interface AppendSource {
  onAppend(listener: AppendListener): () => void;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/**
 * What woke a wait. `aborted` wins over `expired`, which wins over `moved`: once the connection is
 * gone nothing else matters, and once time is up the owner answers with a final read anyway.
 */
export type WaitEvent =
  { kind: 'moved'; partitions: TopicPartition[] } | { kind: 'expired' } | { kind: 'aborted' };

/** Topic names cannot hold ':', so this key is unambiguous. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

export interface FetchWaitersOptions {
  clock: Clock;
  source: AppendSource;
  registry: Registry;
}

export class FetchWaiters {
  readonly #clock: Clock;
  readonly #byPartition = new Map<string, Set<FetchWait>>();
  readonly #open = new Set<FetchWait>();
  readonly #gauge: Gauge;
  readonly #unsubscribe: () => void;

  constructor(o: FetchWaitersOptions) {
    this.#clock = o.clock;
    this.#gauge = new Gauge({
      name: 'tributary_broker_fetch_waiting_requests',
      help: 'Fetch requests waiting for data (long polls below their minBytes).',
      registers: [o.registry],
    });
    this.#unsubscribe = o.source.onAppend((topic, partition, moved) => {
      const waits = this.#byPartition.get(partitionKey(topic, partition));
      if (!waits) return;
      for (const w of waits) {
        // A consumer cannot read past the high watermark: a longer log alone gives it nothing.
        if (moved === 'log-end' && !w.readsToLogEnd) continue;
        w.moved({ topic, partition });
      }
    });
  }

  /** Fetches waiting now. */
  get waiting(): number {
    return this.#open.size;
  }

  /**
   * Starts waiting on `partitions` for at most `maxWaitMs`. The caller must `close()` the wait
   * (in a `finally`), whatever woke it.
   */
  wait(
    partitions: readonly TopicPartition[],
    o: { maxWaitMs: number; signal: AbortSignal; readsToLogEnd?: boolean },
  ): FetchWait {
    const w = new FetchWait({
      clock: this.#clock,
      maxWaitMs: o.maxWaitMs,
      signal: o.signal,
      readsToLogEnd: o.readsToLogEnd ?? false,
      onClose: () => this.#remove(w, partitions),
    });
    if (w.closed) return w;
    this.#open.add(w);
    this.#gauge.inc();
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      let set = this.#byPartition.get(key);
      if (!set) {
        set = new Set();
        this.#byPartition.set(key, set);
      }
      set.add(w);
    }
    return w;
  }

  /**
   * Expires every open wait, so parked fetches answer now, and stops listening for appends. For a
   * broker shutting down: connections drain faster when no fetch sits out its maxWaitMs.
   */
  close(): void {
    this.#unsubscribe();
    for (const w of [...this.#open]) w.expire();
  }

  #remove(w: FetchWait, partitions: readonly TopicPartition[]): void {
    if (!this.#open.delete(w)) return;
    this.#gauge.dec();
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      const set = this.#byPartition.get(key);
      if (!set) continue;
      set.delete(w);
      if (set.size === 0) this.#byPartition.delete(key);
    }
  }
}

type State = 'waiting' | 'expired' | 'aborted' | 'closed';

/** One parked fetch. Moves that arrive while its owner is busy are kept for the next `next()`. */
export class FetchWait {
  /** A follower's fetch: woken by appends, not only by high-watermark moves. */
  readonly readsToLogEnd: boolean;
  readonly #clock: Clock;
  readonly #signal: AbortSignal;
  readonly #onClose: () => void;
  readonly #onAbort = () => this.#end('aborted');
  readonly #moved = new Map<string, TopicPartition>();
  #state: State = 'waiting';
  #timer: TimerHandle | null = null;
  #wake: (() => void) | null = null;

  constructor(o: {
    clock: Clock;
    maxWaitMs: number;
    signal: AbortSignal;
    onClose: () => void;
    readsToLogEnd?: boolean;
  }) {
    this.readsToLogEnd = o.readsToLogEnd ?? false;
    this.#clock = o.clock;
    this.#signal = o.signal;
    this.#onClose = o.onClose;
    if (o.signal.aborted) {
      this.#state = 'closed';
      return;
    }
    o.signal.addEventListener('abort', this.#onAbort, { once: true });
    this.#timer = o.clock.setTimeout(() => {
      this.#timer = null;
      this.#end('expired');
    }, o.maxWaitMs);
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Records that `tp` has new committed data (also for moves the owner saw itself). */
  moved(tp: TopicPartition): void {
    if (this.#state !== 'waiting') return;
    this.#moved.set(partitionKey(tp.topic, tp.partition), tp);
    this.#poke();
  }

  /** Ends the wait as if maxWaitMs had passed. */
  expire(): void {
    this.#end('expired');
  }

  /** The next reason to look again; resolves at once when one is already pending. */
  async next(): Promise<WaitEvent> {
    for (;;) {
      const event = this.#take();
      if (event) return event;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Cancels the timer and the abort listener and unregisters; safe to call twice. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#release();
    this.#poke();
    this.#onClose();
  }

  #take(): WaitEvent | null {
    switch (this.#state) {
      case 'aborted':
      case 'closed':
        return { kind: 'aborted' };
      case 'expired':
        return { kind: 'expired' };
      case 'waiting': {
        if (this.#moved.size === 0) return null;
        const partitions = [...this.#moved.values()];
        this.#moved.clear();
        return { kind: 'moved', partitions };
      }
    }
  }

  #end(state: 'expired' | 'aborted'): void {
    if (this.#state !== 'waiting') return;
    this.#state = state;
    this.#release();
    this.#poke();
  }

  #release(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#signal.removeEventListener('abort', this.#onAbort);
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

export interface ByteCount {
  /** Bytes the fetch already holds. */
  bytes: number;
  minBytes: number;
  /**
   * Counts the bytes a moved partition has gained since last counted (within what the fetch may
   * take from it); null when it can no longer be read as before, which ends the wait.
   */
  grow(tp: TopicPartition): Promise<number | null>;
}

/**
 * Waits until the fetch's partitions have gained enough bytes to reach minBytes, a partition
 * fails to read, or the wait expires: then the owner reads again and answers ('ready'). 'aborted'
 * when the connection closed and there is no one to answer.
 */
export async function waitForBytes(wait: FetchWait, count: ByteCount): Promise<'ready' | 'aborted'> {
  let total = count.bytes;
  for (;;) {
    const event = await wait.next();
    if (event.kind === 'aborted') return 'aborted';
    if (event.kind === 'expired') return 'ready';
    for (const tp of event.partitions) {
      const grown = await count.grow(tp);
      if (grown === null) return 'ready';
      total += grown;
    }
    if (total >= count.minBytes) return 'ready';
  }
}
