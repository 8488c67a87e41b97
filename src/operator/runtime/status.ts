/**
 * Status written as compare-and-swap on resourceVersion, for status that is *state* rather than a
 * report — the partition leaders and ISR in a Topic's status, the broker registry in a Cluster's:
 * a write based on a stale read must fail, not overwrite a newer decision. (Status that only
 * reports, like conditions, can use `Applier.applyStatus` instead.)
 */

import { retryOnConflict } from './api-errors.ts';
import type { KubeClient } from './client.ts';
import { assertNamed, type KubeObject } from './objects.ts';
import type { ResourceMapper } from './resources.ts';

export type WithStatus = KubeObject & { status?: unknown };
export type StatusOf<T extends WithStatus> = Exclude<T['status'], undefined>;

export class StatusWriter {
  readonly #client: KubeClient;
  readonly #resources: ResourceMapper;

  constructor(options: { client: KubeClient; resources: ResourceMapper }) {
    this.#client = options.client;
    this.#resources = options.resources;
  }

  /**
   * Replaces the whole status of `obj` with `status` if the object is still at
   * `obj.metadata.resourceVersion`; rejects with a 409 conflict otherwise. Resolves with the object
   * as stored.
   */
  async replaceStatus<T extends WithStatus>(obj: T, status: StatusOf<T>): Promise<T> {
    const named = assertNamed(obj);
    if (!named.metadata.resourceVersion) {
      throw new TypeError('replaceStatus needs the resourceVersion the new status was computed from');
    }
    return this.#client.request<T>({
      method: 'PUT',
      path: await this.#resources.pathOf(named, 'status'),
      body: { ...named, status },
    });
  }

  /**
   * Reads `ref` afresh, computes its new status with `mutate`, and writes it with
   * {@link replaceStatus}; on a conflict, does it all again (a few times). `mutate` returning
   * `undefined` means nothing to change: no write.
   */
  async updateStatus<T extends WithStatus>(
    ref: T,
    mutate: (current: T) => StatusOf<T> | undefined,
    attempts = 5,
  ): Promise<T> {
    return retryOnConflict(async () => {
      const current = await this.#client.request<T>({
        method: 'GET',
        path: await this.#resources.pathOf(ref),
      });
      const status = mutate(current);
      return status === undefined ? current : this.replaceStatus(current, status);
    }, attempts);
  }
}
