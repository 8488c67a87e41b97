/**
 * An informer: keeps a {@link Store} in step with the API by listing, then watching from the
 * list's resourceVersion, and tells handlers what changed.
 *
 * It never stops for good (client-node's ListWatch gives up on some errors, leaving a cache that
 * silently stops changing):
 * - a watch the server closes cleanly is reopened from the last resourceVersion seen (bookmarks
 *   keep it fresh);
 * - a watch the server answers with 410 Gone (the resourceVersion is older than its history, as
 *   after an API server restart) means events were missed: list again at once;
 * - any other failure — the connection refused, reset, or silent for too long — lists again after a
 *   backoff that grows per consecutive failure and resets on a good list;
 * - every `resyncPeriodMs` it lists again regardless, replacing the cache and calling `update` for
 *   every object (changed or not), so a watch that stopped without a word is caught within one
 *   period and level-triggered controllers revisit everything.
 * A fresh list is diffed against the cache: objects gone meanwhile get `delete`, new ones `add`,
 * changed ones `update`.
 */

import type { Clock, TimerHandle } from '../../common/clock.ts';
import { systemClock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import { isGone } from './api-errors.ts';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { objectKey, resourceVersionOf, type KubeObject } from './objects.ts';
import { Store, type ReadonlyStore } from './store.ts';

export interface ListResult<T> {
  readonly items: T[];
  readonly resourceVersion: string;
}

export type WatchEvent<T> =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: T }
  | { readonly type: 'BOOKMARK'; readonly object: KubeObject }
  | { readonly type: 'ERROR'; readonly object: { code?: number; reason?: string; message?: string } };

/** Where an informer gets its objects: the API server, or a fake in unit tests. */
export interface ListerWatcher<T> {
  list(signal: AbortSignal): Promise<ListResult<T>>;
  /**
   * Watches from `resourceVersion`. `onClose` is called at most once, when the stream ends by
   * itself (with the error, if it failed); not after `stop()`.
   */
  watch(
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    onClose: (err?: unknown) => void,
  ): Promise<{ stop(): void }>;
}

export interface InformerHandlers<T> {
  add?(obj: T): void;
  /** Also called on every resync for objects that did not change (both with the same resourceVersion). */
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T> {
  /** For logs: usually the kind (`ConfigMap`). */
  readonly name: string;
  readonly source: ListerWatcher<T>;
  /** Full re-list period; 5 minutes unless given. 0 turns periodic re-lists off. */
  readonly resyncPeriodMs?: number;
  /** Delay before listing again after a failure; 500 ms doubling up to 30 s unless given. */
  readonly backoff?: BackoffOptions;
  readonly clock?: Clock;
  readonly log?: Logger;
}

/** A watch closed cleanly sooner than this counts as a failure (see `#onClose`). */
const MIN_WATCH_MS = 1000;

type State = 'new' | 'listing' | 'watching' | 'waiting' | 'stopped';

export class Informer<T extends KubeObject> {
  readonly name: string;
  readonly #store = new Store<T>();
  readonly #source: ListerWatcher<T>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #resyncPeriodMs: number;
  readonly #backoff: BackoffOptions;
  readonly #handlers = new Set<InformerHandlers<T>>();
  readonly #syncWaiters: (() => void)[] = [];

  #state: State = 'new';
  #synced = false;
  #failures = 0;
  #resourceVersion = '';
  /** Bumped whenever the current list or watch is abandoned, so its late callbacks are ignored. */
  #epoch = 0;
  #watch: { stop(): void } | undefined;
  #listAbort: AbortController | undefined;
  #retryTimer: TimerHandle | undefined;
  #resyncTimer: TimerHandle | undefined;
  #inflight: Promise<void> | undefined;
  #watchOpenedAt = 0;

  constructor(options: InformerOptions<T>) {
    this.name = options.name;
    this.#source = options.source;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.log ?? silentLogger).child({ informer: options.name });
    this.#resyncPeriodMs = options.resyncPeriodMs ?? 5 * 60_000;
    this.#backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 };
  }

  /** The cache. Read-only: change objects through the API and let the watch bring them back. */
  get store(): ReadonlyStore<T> {
    return this.#store;
  }

  /** True once the first list is in the cache (and stays true). */
  get hasSynced(): boolean {
    return this.#synced;
  }

  /** The resourceVersion the cache reflects. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Adds handlers; returns a function that removes them. Objects already cached are not replayed. */
  on(handlers: InformerHandlers<T>): () => void {
    this.#handlers.add(handlers);
    return () => this.#handlers.delete(handlers);
  }

  /** Resolves once {@link hasSynced}; rejects if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason ?? new Error(`stopped before ${this.name} synced`));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  start(): void {
    if (this.#state !== 'new') throw new Error(`informer ${this.name} was already started`);
    this.#relist(false);
  }

  /** Stops watching and re-listing, and waits for a list in progress to be abandoned. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#abandon();
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    await this.#inflight;
  }

  /** Ends whatever list, watch or wait is current. */
  #abandon(): void {
    this.#epoch++;
    this.#watch?.stop();
    this.#watch = undefined;
    this.#listAbort?.abort();
    this.#listAbort = undefined;
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #relist(resync: boolean): void {
    this.#abandon();
    this.#state = 'listing';
    const epoch = this.#epoch;
    const abort = new AbortController();
    this.#listAbort = abort;
    const run = async (): Promise<void> => {
      let result: ListResult<T>;
      try {
        result = await this.#source.list(abort.signal);
      } catch (err) {
        if (epoch === this.#epoch) this.#failed('list', err);
        return;
      }
      if (epoch !== this.#epoch) return;
      this.#listAbort = undefined;
      this.#failures = 0;
      this.#replace(result, resync);
      this.#armResync();
      await this.#startWatch(epoch);
    };
    const inflight: Promise<void> = run().finally(() => {
      if (this.#inflight === inflight) this.#inflight = undefined;
    });
    this.#inflight = inflight;
  }

  async #startWatch(epoch: number): Promise<void> {
    this.#state = 'watching';
    this.#watchOpenedAt = this.#clock.now();
    try {
      const watch = await this.#source.watch(
        this.#resourceVersion,
        (event) => {
          if (epoch === this.#epoch) this.#onEvent(event);
        },
        (err) => {
          if (epoch === this.#epoch) this.#onClose(err);
        },
      );
      if (epoch === this.#epoch) this.#watch = watch;
      else watch.stop();
    } catch (err) {
      if (epoch === this.#epoch) this.#failed('watch', err);
    }
  }

  #onEvent(event: WatchEvent<T>): void {
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const previous = this.#store.put(event.object);
        this.#resourceVersion = resourceVersionOf(event.object);
        if (previous === undefined) this.#emit('add', event.object);
        else this.#emit('update', previous, event.object);
        break;
      }
      case 'DELETED': {
        const previous = this.#store.delete(objectKey(event.object));
        this.#resourceVersion = resourceVersionOf(event.object);
        this.#emit('delete', previous ?? event.object);
        break;
      }
      case 'BOOKMARK':
        this.#resourceVersion = resourceVersionOf(event.object);
        break;
      case 'ERROR': {
        const status = event.object;
        if (status.code === 410) {
          this.#log.info({ reason: status.reason }, 'Watch expired; listing again');
          this.#relist(false);
        } else {
          this.#failed('watch', new Error(`watch error ${status.code ?? '?'}: ${status.message ?? ''}`));
        }
        break;
      }
    }
  }

  #onClose(err: unknown): void {
    this.#watch = undefined;
    if (err === undefined && this.#clock.now() - this.#watchOpenedAt >= MIN_WATCH_MS) {
      // The server ends every watch after its timeout; carry on from where it left off.
      void this.#startWatch(this.#epoch);
    } else if (err === undefined) {
      // Closed as soon as it opened: reopening at once could hammer a server that is going away.
      this.#failed('watch', new Error('watch closed as soon as it opened'));
    } else if (isGone(err) || (err as { statusCode?: number }).statusCode === 410) {
      this.#relist(false);
    } else {
      this.#failed('watch', err);
    }
  }

  /** Lists again after the backoff for one more consecutive failure. */
  #failed(what: 'list' | 'watch', err: unknown): void {
    this.#abandon();
    this.#failures++;
    const delayMs = backoffDelay(this.#failures, this.#backoff);
    this.#log.warn(
      { err, failures: this.#failures, delayMs },
      `Informer ${what} failed; listing again later`,
    );
    this.#state = 'waiting';
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#relist(false);
    }, delayMs);
  }

  #armResync(): void {
    if (this.#resyncTimer !== undefined) this.#clock.clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    if (!(this.#resyncPeriodMs > 0) || this.#state === 'stopped') return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      this.#resyncTimer = undefined;
      // A failure already has a re-list scheduled; do not stack another.
      if (this.#state === 'watching') this.#relist(true);
      else this.#armResync();
    }, this.#resyncPeriodMs);
  }

  /** Makes the cache equal to a fresh list, telling handlers about every difference. */
  #replace(result: ListResult<T>, resync: boolean): void {
    for (const key of this.#store.missingFrom(result.items)) {
      const gone = this.#store.delete(key);
      if (gone !== undefined) this.#emit('delete', gone);
    }
    for (const obj of result.items) {
      const previous = this.#store.put(obj);
      if (previous === undefined) this.#emit('add', obj);
      else if (resync || resourceVersionOf(previous) !== resourceVersionOf(obj))
        this.#emit('update', previous, obj);
    }
    this.#resourceVersion = result.resourceVersion;
    if (!this.#synced) {
      this.#synced = true;
      this.#log.debug({ objects: this.#store.size }, 'Informer synced');
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  #emit(kind: 'add' | 'delete', obj: T): void;
  #emit(kind: 'update', oldObj: T, newObj: T): void;
  #emit(kind: 'add' | 'update' | 'delete', a: T, b?: T): void {
    for (const h of this.#handlers) {
      try {
        if (kind === 'add') h.add?.(a);
        else if (kind === 'update') h.update?.(a, b!);
        else h.delete?.(a);
      } catch (err) {
        this.#log.error({ err, event: kind }, 'Informer event handler threw');
      }
    }
  }
}
