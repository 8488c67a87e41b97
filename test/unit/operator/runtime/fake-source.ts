/**
 * An in-memory stand-in for the API server behind an informer: objects with resourceVersions, a
 * list that can be made to fail, and watches the test can feed, close, fail or leave silent.
 */
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { ListerWatcher, WatchEvent } from '../../../../src/operator/runtime/informer.ts';

export interface FakeWatch {
  readonly fromVersion: string;
  readonly onEvent: (event: WatchEvent<ConfigMap>) => void;
  readonly onClose: (err?: unknown) => void;
  stopped: boolean;
}

export class FakeSource implements ListerWatcher<ConfigMap> {
  readonly objects = new Map<string, ConfigMap>();
  readonly watches: FakeWatch[] = [];
  lists = 0;
  /** The next this-many lists reject. */
  failLists = 0;
  /** When set, changes reach the store but no watch hears of them (a watch that went quiet). */
  silent = false;
  #version = 100;

  async list(): Promise<{ items: ConfigMap[]; resourceVersion: string }> {
    this.lists++;
    if (this.failLists > 0) {
      this.failLists--;
      throw new Error('connect ECONNREFUSED');
    }
    return { items: [...this.objects.values()], resourceVersion: String(this.#version) };
  }

  async watch(
    fromVersion: string,
    onEvent: FakeWatch['onEvent'],
    onClose: FakeWatch['onClose'],
  ): Promise<{ stop(): void }> {
    const w: FakeWatch = { fromVersion, onEvent, onClose, stopped: false };
    this.watches.push(w);
    return { stop: () => void (w.stopped = true) };
  }

  /** The watch currently open (the last one not stopped), if any. */
  get active(): FakeWatch | undefined {
    const w = this.watches.at(-1);
    return w && !w.stopped ? w : undefined;
  }

  put(name: string, data: Record<string, string> = {}): ConfigMap {
    const existed = this.objects.has(name);
    const obj: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'ns', resourceVersion: String(++this.#version) },
      data,
    };
    this.objects.set(name, obj);
    this.#send({ type: existed ? 'MODIFIED' : 'ADDED', object: obj });
    return obj;
  }

  remove(name: string): void {
    const obj = this.objects.get(name);
    if (!obj) return;
    this.objects.delete(name);
    const gone = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.#version) } };
    this.#send({ type: 'DELETED', object: gone });
  }

  bookmark(): void {
    this.#send({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(++this.#version) } } });
  }

  /** Ends the open watch: cleanly, or with `err`, as the informer would see it. */
  close(err?: unknown): void {
    const w = this.active;
    if (!w) throw new Error('no open watch');
    w.stopped = true;
    w.onClose(err);
  }

  #send(event: WatchEvent<ConfigMap>): void {
    if (this.silent) return;
    const w = this.active;
    if (w) w.onEvent(event);
  }
}

/** Lets promise continuations and immediate callbacks run; no time passes. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
