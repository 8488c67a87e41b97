/**
 * Finalizers: a name in `metadata.finalizers` keeps a deleted object in the API (with a
 * deletionTimestamp) until whoever put it there has cleaned up and removed it.
 *
 * Both helpers send only the finalizer list, with the resourceVersion it was computed from as a
 * precondition: a writer that changed the object meanwhile (another controller adding its own
 * finalizer, say) makes the write fail with 409, and the helper reads the object again and
 * recomputes, so neither write loses the other's finalizer.
 *
 * Whether there is anything to do is decided from the object as given (usually the informer's
 * copy), without a request: if that copy is stale, the write that made it stale brings a new
 * event, and the reconcile that follows decides again.
 */

import { isConflict, isNotFound } from './api-errors.ts';
import type { KubeClient } from './client.ts';
import type { KubeObject } from './objects.ts';
import type { ResourceMapper } from './resources.ts';

export function hasFinalizer(obj: KubeObject, finalizer: string): boolean {
  return obj.metadata?.finalizers?.includes(finalizer) ?? false;
}

export class Finalizers {
  readonly #client: KubeClient;
  readonly #resources: ResourceMapper;
  readonly #attempts: number;

  constructor(options: { client: KubeClient; resources: ResourceMapper; attempts?: number }) {
    this.#client = options.client;
    this.#resources = options.resources;
    this.#attempts = options.attempts ?? 5;
  }

  /** Adds `finalizer` to `obj` unless it is there; resolves with the object as stored. */
  add<T extends KubeObject>(obj: T, finalizer: string): Promise<T> {
    return this.#change(obj, (list) => (list.includes(finalizer) ? undefined : [...list, finalizer]));
  }

  /**
   * Removes `finalizer` from `obj` if it is there; resolves with the object as stored, or
   * `undefined` if the object is gone (removing the last finalizer of a deleted object deletes it).
   */
  async remove<T extends KubeObject>(obj: T, finalizer: string): Promise<T | undefined> {
    try {
      return await this.#change(obj, (list) =>
        list.includes(finalizer) ? list.filter((f) => f !== finalizer) : undefined,
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** `edit` returns the new list, or undefined for no change. */
  async #change<T extends KubeObject>(
    obj: T,
    edit: (finalizers: readonly string[]) => string[] | undefined,
  ): Promise<T> {
    const path = await this.#resources.pathOf(obj);
    let current: T = obj.metadata?.resourceVersion ? obj : await this.#get<T>(path);
    for (let attempt = 1; ; attempt++) {
      const finalizers = edit(current.metadata?.finalizers ?? []);
      if (finalizers === undefined) return current;
      try {
        return await this.#client.request<T>({
          method: 'PATCH',
          path,
          contentType: 'application/merge-patch+json',
          body: { metadata: { finalizers, resourceVersion: current.metadata?.resourceVersion } },
        });
      } catch (err) {
        if (!isConflict(err) || attempt >= this.#attempts) throw err;
        current = await this.#get<T>(path);
      }
    }
  }

  #get<T>(path: string): Promise<T> {
    return this.#client.request<T>({ method: 'GET', path });
  }
}
