/**
 * Where each kind lives on the API: its plural resource name, whether it is namespaced, and the
 * request paths built from them. The operator names the kinds it watches as constants; `apply` of
 * an arbitrary object looks its kind up through discovery.
 */

import type { APIResourceList } from 'kubernetes-types/meta/v1.js';
import { KubeApiError } from './api-errors.ts';
import type { KubeClient } from './client.ts';
import { assertNamed, type KubeObject } from './objects.ts';

export interface ResourceType {
  /** `v1` for the core group, `group/version` otherwise. */
  readonly apiVersion: string;
  readonly kind: string;
  /** The resource name in paths: `configmaps`, `statefulsets`, `leases`. */
  readonly plural: string;
  readonly namespaced: boolean;
}

export const ConfigMaps: ResourceType = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  namespaced: true,
};
export const Secrets: ResourceType = {
  apiVersion: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  namespaced: true,
};
export const Services: ResourceType = {
  apiVersion: 'v1',
  kind: 'Service',
  plural: 'services',
  namespaced: true,
};
export const Pods: ResourceType = { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
export const StatefulSets: ResourceType = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  plural: 'statefulsets',
  namespaced: true,
};
export const Leases: ResourceType = {
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  plural: 'leases',
  namespaced: true,
};
export const Events: ResourceType = {
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  plural: 'events',
  namespaced: true,
};

/**
 * The path of a collection (no `name`), of one object, or of one of its subresources (`status`).
 * A namespaced type without a namespace gives the all-namespaces collection.
 */
export function resourcePath(
  type: ResourceType,
  at: { namespace?: string; name?: string; subresource?: string } = {},
): string {
  const root = type.apiVersion.includes('/') ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  const ns = type.namespaced && at.namespace ? `/namespaces/${encodeURIComponent(at.namespace)}` : '';
  if (type.namespaced && at.name !== undefined && !at.namespace) {
    throw new TypeError(`${type.kind} ${at.name} is namespaced, but no namespace was given`);
  }
  let path = `${root}${ns}/${type.plural}`;
  if (at.name !== undefined) path += `/${encodeURIComponent(at.name)}`;
  if (at.subresource !== undefined) path += `/${at.subresource}`;
  return path;
}

/**
 * Maps `apiVersion` + `kind` to a {@link ResourceType} through the API server's discovery
 * documents, one request per group version, cached. A kind missing from the cached document is
 * looked up again once (a CRD may have been installed since), then reported as a 404.
 */
export class ResourceMapper {
  readonly #client: KubeClient;
  readonly #byGroupVersion = new Map<string, Promise<Map<string, ResourceType>>>();

  constructor(client: KubeClient) {
    this.#client = client;
  }

  async resolve(apiVersion: string, kind: string): Promise<ResourceType> {
    const cached = await this.#kinds(apiVersion, false).catch(() => undefined);
    const found = cached?.get(kind) ?? (await this.#kinds(apiVersion, true)).get(kind);
    if (found) return found;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    throw new KubeApiError({
      status: 404,
      method: 'GET',
      path,
      text: `the API server serves no kind ${kind} in ${apiVersion}`,
    });
  }

  /** The path of `obj` (or of its subresource), by its apiVersion, kind, namespace and name. */
  async pathOf(obj: KubeObject, subresource?: string): Promise<string> {
    const named = assertNamed(obj);
    const type = await this.resolve(named.apiVersion, named.kind);
    return resourcePath(type, {
      namespace: named.metadata.namespace,
      name: named.metadata.name,
      subresource,
    });
  }

  #kinds(apiVersion: string, refresh: boolean): Promise<Map<string, ResourceType>> {
    let entry = this.#byGroupVersion.get(apiVersion);
    if (entry === undefined || refresh) {
      entry = this.#discover(apiVersion);
      this.#byGroupVersion.set(apiVersion, entry);
      // A failed lookup is not cached: the next call asks again.
      const mine = entry;
      mine.catch(() => {
        if (this.#byGroupVersion.get(apiVersion) === mine) this.#byGroupVersion.delete(apiVersion);
      });
    }
    return entry;
  }

  async #discover(apiVersion: string): Promise<Map<string, ResourceType>> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const list = await this.#client.request<APIResourceList>({ method: 'GET', path });
    const kinds = new Map<string, ResourceType>();
    for (const r of list.resources) {
      if (r.name.includes('/')) continue; // a subresource (pods/status), not a kind of its own
      kinds.set(r.kind, { apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced });
    }
    return kinds;
  }
}
