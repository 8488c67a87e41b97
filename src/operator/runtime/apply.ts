/**
 * Server-side apply: the operator states the fields it wants (a plain typed object, e.g. a
 * `StatefulSet` from kubernetes-types) and the API server merges them, owning exactly those fields
 * under one field manager. Applying the same object again changes nothing; a field someone changed
 * by hand is put back; fields the operator stops stating are removed (if no one else owns them).
 *
 * `force: true`: the operator is the authority for the fields it applies, so a conflict with
 * another manager (kubectl edit, say) is resolved by taking the field back rather than failing
 * the reconcile forever.
 */

import type { KubeClient } from './client.ts';
import { assertNamed, type KubeObject } from './objects.ts';
import type { ResourceMapper } from './resources.ts';

/** The one field manager every write of the operator uses. */
export const FIELD_MANAGER = 'tributary-operator';

/** JSON is YAML, so a JSON body is a valid apply patch. */
export const APPLY_PATCH = 'application/apply-patch+yaml';

export interface ApplierOptions {
  readonly client: KubeClient;
  readonly resources: ResourceMapper;
  /** {@link FIELD_MANAGER} unless given. */
  readonly fieldManager?: string;
}

export class Applier {
  readonly fieldManager: string;
  readonly #client: KubeClient;
  readonly #resources: ResourceMapper;

  constructor(options: ApplierOptions) {
    this.#client = options.client;
    this.#resources = options.resources;
    this.fieldManager = options.fieldManager ?? FIELD_MANAGER;
  }

  /**
   * Creates or updates `desired` to hold the fields it states; resolves with the object as stored.
   * `desired` needs apiVersion, kind, metadata.name (and metadata.namespace if namespaced). A
   * `status` in it is ignored by kinds with a status subresource: see {@link applyStatus}.
   */
  async apply<T extends KubeObject>(desired: T, options: { dryRun?: boolean } = {}): Promise<T> {
    const named = assertNamed(desired);
    return this.#patch(await this.#resources.pathOf(named), withoutManagedFields(named), options.dryRun);
  }

  /**
   * Applies `obj.status` through the status subresource: the status fields this manager states
   * become exactly `obj.status`; metadata and spec are not touched.
   */
  async applyStatus<T extends KubeObject & { status?: unknown }>(obj: T): Promise<T> {
    const named = assertNamed(obj);
    const { name, namespace } = named.metadata;
    const body = {
      apiVersion: named.apiVersion,
      kind: named.kind,
      metadata: { name, namespace },
      status: obj.status,
    };
    return this.#patch(await this.#resources.pathOf(named, 'status'), body);
  }

  #patch<T>(path: string, body: unknown, dryRun?: boolean): Promise<T> {
    return this.#client.request<T>({
      method: 'PATCH',
      path,
      query: { fieldManager: this.fieldManager, force: true, dryRun: dryRun ? 'All' : undefined },
      contentType: APPLY_PATCH,
      body,
    });
  }
}

/** The server refuses an apply that carries managedFields (an object read back and re-applied). */
function withoutManagedFields<T extends KubeObject>(obj: T): T {
  if (obj.metadata?.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
