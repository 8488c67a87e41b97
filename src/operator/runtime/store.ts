/**
 * An informer's in-memory copy of the objects it watches, by key (`namespace/name`). Readers get a
 * {@link ReadonlyStore}; only the informer writes. Objects are shared, not copied: treat them as
 * immutable (`structuredClone` before changing one).
 */

import { objectKey, type KubeObject } from './objects.ts';

export interface ReadonlyStore<T extends KubeObject> {
  get(key: string): T | undefined;
  /** Every object, or those of one namespace. */
  list(namespace?: string): T[];
  keys(): string[];
  readonly size: number;
}

export class Store<T extends KubeObject> implements ReadonlyStore<T> {
  readonly #objects = new Map<string, T>();

  get(key: string): T | undefined {
    return this.#objects.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.#objects.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.#objects.keys()];
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Stores `obj` under its key; returns what it replaced. */
  put(obj: T): T | undefined {
    const key = objectKey(obj);
    const previous = this.#objects.get(key);
    this.#objects.set(key, obj);
    return previous;
  }

  /** Removes the object under `key`; returns it. */
  delete(key: string): T | undefined {
    const previous = this.#objects.get(key);
    this.#objects.delete(key);
    return previous;
  }

  /** Keys present now but absent from `items`: what a fresh list says was deleted meanwhile. */
  missingFrom(items: readonly T[]): string[] {
    const fresh = new Set(items.map(objectKey));
    return this.keys().filter((k) => !fresh.has(k));
  }
}
