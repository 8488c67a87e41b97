/**
 * A controller: keys from informers' events go into a {@link WorkQueue}; N workers take them and
 * call `reconcile(key)`, which reads the caches, makes the world match, and may ask to be called
 * again later (`requeueAfterMs`). A thrown error retries the key with per-key exponential backoff;
 * a {@link TerminalError} does not (the object must change before trying again makes sense).
 *
 * A controller can be started again after it stops (leadership comes and goes): each start makes a
 * fresh queue and queues every object its informers already hold, so a new leader revisits
 * everything. `stop()` stops handing out keys and waits for reconciles in flight to finish.
 */

import type { Registry } from 'prom-client';
import type { Clock } from '../../common/clock.ts';
import { systemClock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import type { BackoffOptions } from './backoff.ts';
import type { Informer } from './informer.ts';
import { runtimeMetrics, queueHooks, type RuntimeMetrics } from './metrics.ts';
import { objectKey, type KubeObject } from './objects.ts';
import { WorkQueue } from './queue.ts';

export interface ReconcileResult {
  /** Reconcile this key again after this long even if nothing changes (polling something outside). */
  readonly requeueAfterMs?: number;
}

export interface ReconcileContext {
  /** Logger with `kind` and `key`. */
  readonly log: Logger;
  /** Consecutive failures of this key before this attempt (0 on a first try or after a success). */
  readonly failures: number;
}

export type Reconcile = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

/**
 * Thrown by a reconcile to say that retrying cannot help (an invalid spec, say): logged and
 * counted, not retried. The key is reconciled again when its object changes.
 */
export class TerminalError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'TerminalError';
  }
}

export interface ControllerOptions {
  /** The kind it reconciles (`Cluster`); names it in logs and metrics. */
  readonly kind: string;
  readonly reconcile: Reconcile;
  /** Keys reconciled at once (2); never the same key twice at once. */
  readonly workers?: number;
  readonly backoff?: BackoffOptions;
  readonly clock?: Clock;
  readonly log?: Logger;
  readonly registry?: Registry;
}

/** Maps an informer's object to the keys it should wake; `undefined` or `[]` for none. */
export type KeysOf<T> = (obj: T) => string | readonly string[] | undefined;

interface Source {
  readonly informer: Informer<KubeObject>;
  readonly keysOf: KeysOf<KubeObject>;
}

export class Controller {
  readonly kind: string;
  readonly #reconcile: Reconcile;
  readonly #workers: number;
  readonly #options: ControllerOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: RuntimeMetrics | undefined;
  readonly #sources: Source[] = [];
  #queue: WorkQueue<string> | undefined;
  #running: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    if (!(Number.isInteger(options.workers ?? 2) && (options.workers ?? 2) >= 1)) {
      throw new RangeError(`a controller needs at least one worker, got ${options.workers}`);
    }
    this.kind = options.kind;
    this.#reconcile = options.reconcile;
    this.#workers = options.workers ?? 2;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? silentLogger).child({ controller: options.kind });
    this.#metrics = options.registry ? runtimeMetrics(options.registry) : undefined;
  }

  /**
   * Queues the keys `keysOf` gives for every object `informer` adds, updates or deletes (by
   * default the object's own key). Returns a function that stops it.
   */
  watch<T extends KubeObject>(informer: Informer<T>, keysOf: KeysOf<T> = objectKey): () => void {
    const source = { informer, keysOf } as unknown as Source;
    this.#sources.push(source);
    const enqueue = (obj: T): void => this.#enqueueKeys(keysOf(obj));
    const off = informer.on({ add: enqueue, update: (_old, obj) => enqueue(obj), delete: enqueue });
    return () => {
      off();
      this.#sources.splice(this.#sources.indexOf(source), 1);
    };
  }

  /** Queues `key` (ignored while stopped). */
  enqueue(key: string): void {
    this.#queue?.add(key);
  }

  /** Queues `key` after `ms` (ignored while stopped). */
  enqueueAfter(key: string, ms: number): void {
    this.#queue?.addAfter(key, ms);
  }

  get running(): boolean {
    return this.#queue !== undefined;
  }

  /** The current queue, while running (tests and metrics look at it). */
  get queue(): WorkQueue<string> | undefined {
    return this.#queue;
  }

  start(): void {
    if (this.#queue) return;
    const queue = new WorkQueue<string>({
      clock: this.#clock,
      backoff: this.#options.backoff,
      hooks: this.#metrics ? queueHooks(this.#metrics, this.kind) : undefined,
    });
    this.#queue = queue;
    for (const { informer, keysOf } of this.#sources) {
      for (const obj of informer.store.list()) this.#enqueueKeys(keysOf(obj));
    }
    this.#running = Array.from({ length: this.#workers }, () => this.#work(queue));
    this.#log.info({ workers: this.#workers }, 'Controller started');
  }

  /** Stops taking keys and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    const queue = this.#queue;
    if (!queue) return;
    this.#queue = undefined;
    queue.shutDown();
    await Promise.all(this.#running);
    this.#running = [];
    this.#log.info('Controller stopped');
  }

  #enqueueKeys(keys: string | readonly string[] | undefined): void {
    if (keys === undefined) return;
    if (typeof keys === 'string') this.enqueue(keys);
    else for (const key of keys) this.enqueue(key);
  }

  async #work(queue: WorkQueue<string>): Promise<void> {
    for (let key = await queue.get(); key !== undefined; key = await queue.get()) {
      try {
        await this.#process(queue, key);
      } finally {
        queue.done(key);
      }
    }
  }

  async #process(queue: WorkQueue<string>, key: string): Promise<void> {
    const log = this.#log.child({ key });
    const started = this.#clock.now();
    const labels = { kind: this.kind };
    let result: ReconcileResult | void;
    try {
      result = await this.#reconcile(key, { log, failures: queue.failures(key) });
    } catch (err) {
      this.#metrics?.reconcileErrors.inc(labels);
      if (err instanceof TerminalError) {
        queue.forget(key);
        this.#metrics?.reconciles.inc({ ...labels, result: 'terminal' });
        log.error({ err: err.cause }, 'Reconcile failed; not retrying until the object changes');
      } else {
        queue.addRateLimited(key);
        this.#metrics?.reconciles.inc({ ...labels, result: 'error' });
        log.warn({ err, failures: queue.failures(key) }, 'Reconcile failed; retrying with backoff');
      }
      return;
    } finally {
      this.#metrics?.reconcileSeconds.observe(labels, (this.#clock.now() - started) / 1000);
    }
    queue.forget(key);
    const requeueAfterMs = result?.requeueAfterMs;
    if (requeueAfterMs !== undefined) queue.addAfter(key, requeueAfterMs);
    this.#metrics?.reconciles.inc({
      ...labels,
      result: requeueAfterMs === undefined ? 'success' : 'requeue',
    });
  }
}
