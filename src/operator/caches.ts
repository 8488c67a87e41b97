/**
 * The operator's caches: one informer per kind and watched namespace (or one for all namespaces),
 * read through a single lookup per kind.
 *
 * Cached objects are slimmed as client-go's informer transforms slim them: `managedFields` and
 * kubectl's last-applied annotation are dropped on arrival. Nothing the operator decides reads them,
 * and they are often the larger part of an object.
 */

import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import type { KubeClient } from './runtime/client.ts';
import { Informer, type ListerWatcher, type WatchEvent } from './runtime/informer.ts';
import { kubeListerWatcher } from './runtime/list-watch.ts';
import { parseKey, type KubeObject } from './runtime/objects.ts';
import type { ResourceType } from './runtime/resources.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export interface CacheOptions {
  readonly client: KubeClient;
  /** Watched namespaces; every namespace when empty. */
  readonly namespaces: readonly string[];
  readonly labelSelector?: string;
  readonly resyncPeriodMs?: number;
  readonly clock?: Clock;
  readonly log?: Logger;
}

/** One kind's informers across the watched namespaces, read as one cache. */
export class KindCache<T extends KubeObject> {
  readonly type: ResourceType;
  readonly informers: readonly Informer<T>[];
  readonly #byNamespace: ReadonlyMap<string, Informer<T>> | undefined;

  constructor(type: ResourceType, options: CacheOptions) {
    this.type = type;
    const make = (namespace: string | undefined) =>
      new Informer<T>({
        name: namespace === undefined ? type.kind : `${type.kind}/${namespace}`,
        source: slimmed(
          kubeListerWatcher<T>(options.client, type, { namespace, labelSelector: options.labelSelector }),
        ),
        resyncPeriodMs: options.resyncPeriodMs,
        clock: options.clock,
        log: options.log,
      });
    if (options.namespaces.length === 0) {
      this.informers = [make(undefined)];
    } else {
      const byNamespace = new Map([...new Set(options.namespaces)].map((ns) => [ns, make(ns)]));
      this.#byNamespace = byNamespace;
      this.informers = [...byNamespace.values()];
    }
  }

  get(key: string): T | undefined {
    return this.#informerFor(parseKey(key).namespace)?.store.get(key);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.#informerFor(namespace)?.store.list(namespace) ?? [];
    return this.informers.flatMap((i) => i.store.list());
  }

  get size(): number {
    return this.informers.reduce((n, i) => n + i.store.size, 0);
  }

  #informerFor(namespace: string | undefined): Informer<T> | undefined {
    if (this.#byNamespace === undefined) return this.informers[0];
    return namespace === undefined ? undefined : this.#byNamespace.get(namespace);
  }
}

/** `source` with every object it delivers slimmed (see the module comment). */
export function slimmed<T extends KubeObject>(source: ListerWatcher<T>): ListerWatcher<T> {
  return {
    async list(signal) {
      const result = await source.list(signal);
      return { ...result, items: result.items.map(slim) };
    },
    watch(resourceVersion, onEvent, onClose) {
      return source.watch(
        resourceVersion,
        (event) => {
          if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED') {
            onEvent({ type: event.type, object: slim(event.object) } as WatchEvent<T>);
          } else {
            onEvent(event);
          }
        },
        onClose,
      );
    },
  };
}

export function slim<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata;
  if (
    meta === undefined ||
    (meta.managedFields === undefined && meta.annotations?.[LAST_APPLIED] === undefined)
  ) {
    return obj;
  }
  const { managedFields: _managed, ...rest } = meta;
  if (rest.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _applied, ...annotations } = rest.annotations;
    rest.annotations = annotations;
  }
  return { ...obj, metadata: rest };
}
