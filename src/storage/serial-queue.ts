/**
 * Runs tasks one at a time in the order they were queued: the single owner of a partition's state.
 * A task's failure rejects its own promise only; the queue carries on with the next.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #depth = 0;

  run<T>(task: () => Promise<T>): Promise<T> {
    this.#depth++;
    const result = this.#tail.then(task);
    this.#tail = result.then(
      () => this.#depth--,
      () => this.#depth--,
    );
    return result;
  }

  /** Tasks queued or running. */
  get depth(): number {
    return this.#depth;
  }

  /** Resolves once everything queued so far has finished. */
  idle(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}
