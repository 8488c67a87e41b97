/** The API server as an informer's {@link ListerWatcher}: paged lists and bookmarked watches. */

import type { KubeClient } from './client.ts';
import type { ListResult, ListerWatcher, WatchEvent } from './informer.ts';
import type { KubeObject } from './objects.ts';
import { resourcePath, type ResourceType } from './resources.ts';

export interface ListWatchOptions {
  /** Only this namespace; all namespaces when absent (for a namespaced type). */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** Objects per list page (500). */
  readonly pageSize?: number;
  /**
   * How long the server keeps a watch open before closing it cleanly (20 s). Kept under the
   * client's 30 s watch idle timeout, so a healthy but quiet watch is renewed by the server, and
   * only a watch whose connection died (nothing at all for 30 s) ends in an error.
   */
  readonly watchTimeoutSeconds?: number;
}

interface ListBody<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export function kubeListerWatcher<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType,
  options: ListWatchOptions = {},
): ListerWatcher<T> {
  const path = resourcePath(type, { namespace: options.namespace });
  const selectors = { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector };
  // A list response omits apiVersion and kind on its items; put them back so every cached object
  // carries its type (owner references and events need it).
  const typed = (obj: T): T => ({ ...obj, apiVersion: type.apiVersion, kind: type.kind });

  return {
    async list(signal: AbortSignal): Promise<ListResult<T>> {
      const items: T[] = [];
      let resourceVersion = '';
      let cont: string | undefined;
      do {
        const page = await client.request<ListBody<T>>({
          method: 'GET',
          path,
          query: { ...selectors, limit: options.pageSize ?? 500, continue: cont },
          signal,
        });
        for (const item of page.items) items.push(typed(item));
        resourceVersion = page.metadata?.resourceVersion ?? '';
        cont = page.metadata?.continue || undefined;
      } while (cont !== undefined);
      return { items, resourceVersion };
    },

    watch(resourceVersion, onEvent, onClose) {
      return client.watch(
        path,
        {
          ...selectors,
          resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: options.watchTimeoutSeconds ?? 20,
        },
        ({ type: eventType, object }) => {
          if (eventType === 'ADDED' || eventType === 'MODIFIED' || eventType === 'DELETED') {
            onEvent({ type: eventType, object: typed(object as T) });
          } else if (eventType === 'BOOKMARK') {
            onEvent({ type: eventType, object: object as KubeObject });
          } else if (eventType === 'ERROR') {
            onEvent({
              type: eventType,
              object: object as Extract<WatchEvent<T>, { type: 'ERROR' }>['object'],
            });
          }
        },
        onClose,
      );
    },
  };
}
