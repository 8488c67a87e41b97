/**
 * Exponential backoff per key: the n-th consecutive failure of a key waits `initialMs · 2ⁿ⁻¹`,
 * never more than `maxMs`, until the key is forgotten (it succeeded). No jitter: the work queue runs
 * one key at a time anyway, and tests can then predict every delay.
 */

export interface BackoffOptions {
  /** Delay after the first failure. */
  readonly initialMs: number;
  /** The cap. */
  readonly maxMs: number;
}

/** The delay after `failures` consecutive failures (1 = the first). */
export function backoffDelay(failures: number, options: BackoffOptions): number {
  if (failures <= 0) return 0;
  // 2 ** 1100 is Infinity, not an error, so a key that failed for weeks still gets the cap.
  return Math.min(options.initialMs * 2 ** (failures - 1), options.maxMs);
}

export class PerKeyBackoff<K> {
  readonly #options: BackoffOptions;
  readonly #failures = new Map<K, number>();

  constructor(options: BackoffOptions) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) {
      throw new RangeError(
        `backoff needs 0 < initialMs <= maxMs, got ${options.initialMs} and ${options.maxMs}`,
      );
    }
    this.#options = options;
  }

  /** Records one more failure of `key` and returns how long to wait before retrying it. */
  next(key: K): number {
    const failures = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, failures);
    return backoffDelay(failures, this.#options);
  }

  /** Consecutive failures of `key` so far. */
  failures(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Clears `key`'s history: its next failure starts again at `initialMs`. */
  forget(key: K): void {
    this.#failures.delete(key);
  }
}
