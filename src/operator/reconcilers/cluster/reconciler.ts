/**
 * The Cluster reconciler: reads the Cluster and its children from the caches, applies the children
 * {@link desiredChildren} gives (server-side apply, one field manager, so a child edited or deleted
 * by hand is put back on the next reconcile), grows volumes, and writes the status
 * {@link clusterStatus} gives, with Events on what changed.
 *
 * Order: the ConfigMap, Secret, Services and PodDisruptionBudget first (the pods mount and need
 * them), then the StatefulSet. A child that fails to apply fails the reconcile (retried with
 * backoff, or not at all for a spec the API server refuses: 400/422) after the status says so.
 *
 * A child is not applied again while nothing can have changed: the same desired object as last
 * applied, and the cached child still at the resourceVersion that apply returned. Any write to the
 * child (a hand edit, a status update) moves its resourceVersion, and a deleted child leaves the
 * cache, so both are applied again; but the reconciles that follow every child event and every
 * periodic re-list cost no requests.
 */

import { createHash, randomBytes } from 'node:crypto';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { Clock } from '../../../common/clock.ts';
import { systemClock } from '../../../common/clock.ts';
import { API_VERSION, ClusterResource, withDefaults, type Cluster } from '../../api/index.ts';
import { isAlreadyExists, isNotFound, KubeApiError } from '../../runtime/api-errors.ts';
import type { Applier } from '../../runtime/apply.ts';
import type { KubeClient } from '../../runtime/client.ts';
import { TerminalError, type ReconcileContext } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { objectKey, type KubeObject } from '../../runtime/objects.ts';
import { resourcePath, Secrets, type ResourceType } from '../../runtime/resources.ts';
import type { ReadonlyStore } from '../../runtime/store.ts';
import {
  ADMIN_TOKEN_KEY,
  desiredChildren,
  withAdminToken,
  type ChildOptions,
  type StoredCluster,
} from './children.ts';
import { clusterNames, LABEL_CLUSTER } from './names.ts';
import { clusterStatus } from './status.ts';
import { claimsToExpand } from './volumes.ts';

/** What the reconciler reads of a cache. */
export type Lookup<T> = Pick<ReadonlyStore<T & KubeObject>, 'get' | 'list'>;

export interface ClusterCaches {
  readonly clusters: Lookup<Cluster>;
  readonly statefulSets: Lookup<StatefulSet>;
  readonly services: Lookup<Service>;
  readonly configMaps: Lookup<ConfigMap>;
  readonly secrets: Lookup<Secret>;
  readonly podDisruptionBudgets: Lookup<PodDisruptionBudget>;
  readonly claims: Lookup<PersistentVolumeClaim>;
}

export interface ClusterReconcilerOptions {
  readonly caches: ClusterCaches;
  readonly client: KubeClient;
  readonly applier: Applier;
  readonly events: Pick<EventRecorder, 'record'>;
  readonly children: ChildOptions;
  readonly clock?: Clock;
  /** Makes a new admin token (32 random bytes, base64url). */
  readonly newToken?: () => string;
}

const PVCS: ResourceType = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  namespaced: true,
};

export class ClusterReconciler {
  readonly #o: ClusterReconcilerOptions;
  readonly #clock: Clock;
  readonly #newToken: () => string;
  /**
   * Children this process created whose creation the cache has not shown yet, by kind and key,
   * with their uid: a reconcile that runs before the watch brings them must not report them
   * created again.
   */
  readonly #created = new Map<string, string>();
  /** What was last applied to each child, by Cluster key then child kind and key. */
  readonly #applied = new Map<string, Applied>();

  constructor(options: ClusterReconcilerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#newToken = options.newToken ?? (() => randomBytes(32).toString('base64url'));
  }

  /** For `Controller`: `reconcile(namespace/name)`. */
  readonly reconcile = async (key: string, ctx: ReconcileContext): Promise<void> => {
    const found = this.#o.caches.clusters.get(key);
    if (!found || (found.metadata as ObjectMeta).deletionTimestamp) {
      this.#applied.delete(key);
      return; // the garbage collector removes the children
    }
    let applied = this.#applied.get(key);
    if (!applied) this.#applied.set(key, (applied = new Map()));
    const cluster = withDefaults(ClusterResource, found) as StoredCluster;
    const { caches } = this.#o;
    const names = clusterNames(cluster.metadata.name);
    const existing = caches.statefulSets.get(`${cluster.metadata.namespace}/${names.statefulSet}`);
    const desired = desiredChildren(cluster, this.#o.children, existing);
    const notes: Note[] = [];

    let failure: unknown;
    let statefulSet = existing;
    try {
      await settleAll([
        this.#apply(desired.configMap, caches.configMaps, applied, notes),
        this.#apply(desired.headlessService, caches.services, applied, notes),
        this.#apply(desired.bootstrapService, caches.services, applied, notes),
        this.#apply(desired.podDisruptionBudget, caches.podDisruptionBudgets, applied, notes),
        this.#ensureAdminSecret(desired.adminSecret, applied, notes),
      ]);
      const from = existing?.spec?.replicas;
      if (from !== undefined && from !== cluster.spec.replicas) {
        notes.push({
          reason: 'Scaling',
          note: `Scaling the brokers from ${from} to ${cluster.spec.replicas}`,
        });
      }
      statefulSet = await this.#apply(desired.statefulSet, caches.statefulSets, applied, notes);
      await this.#expandVolumes(cluster, notes);
    } catch (err) {
      failure = err;
      ctx.log.warn({ err }, 'Failed to apply the children of the Cluster');
    }

    const { status, changed, events } = clusterStatus(
      cluster,
      { statefulSet, applyError: failure === undefined ? undefined : describe(failure) },
      this.#clock.now(),
    );
    const writes: Promise<unknown>[] = [
      ...notes.map((n) => this.#o.events.record(found, { type: 'Normal', action: 'Apply', ...n })),
      ...events.map((e) => this.#o.events.record(found, { ...e, action: 'Reconcile' })),
    ];
    if (failure !== undefined) {
      writes.push(
        this.#o.events.record(found, {
          type: 'Warning',
          reason: 'ApplyFailed',
          action: 'Apply',
          note: describe(failure),
        }),
      );
    }
    if (changed) writes.push(this.#writeStatus(cluster, status));
    await settleAll(writes);

    if (failure !== undefined) {
      const refused = failure instanceof KubeApiError && (failure.status === 400 || failure.status === 422);
      throw refused ? new TerminalError(failure) : failure;
    }
  };

  async #apply<T extends KubeObject>(
    child: T,
    cache: Lookup<T>,
    applied: Applied,
    notes: Note[],
  ): Promise<T> {
    const key = objectKey(child);
    const id = `${child.kind}/${key}`;
    const cached = cache.get(key);
    if (cached !== undefined) this.#created.delete(id);
    const digest = createHash('sha256').update(JSON.stringify(child)).digest('base64');
    const last = applied.get(id);
    if (
      cached !== undefined &&
      last?.digest === digest &&
      last.resourceVersion === cached.metadata?.resourceVersion
    ) {
      return cached;
    }
    const stored = await this.#o.applier.apply(child);
    applied.set(id, { digest, resourceVersion: stored.metadata?.resourceVersion ?? '' });
    const uid = stored.metadata?.uid ?? '';
    if (cached === undefined && this.#created.get(id) !== uid) {
      this.#created.set(id, uid);
      notes.push({ reason: 'Created', note: `Created ${child.kind} ${child.metadata?.name}` });
    }
    return stored;
  }

  /**
   * The admin token is made once, when the Secret is created, and never replaced while the Secret
   * holds one: a re-apply states only its labels and owner.
   */
  async #ensureAdminSecret(secret: Secret, applied: Applied, notes: Note[]): Promise<void> {
    const key = objectKey(secret);
    const cached = this.#o.caches.secrets.get(key);
    if (cached?.data?.[ADMIN_TOKEN_KEY]) {
      await this.#apply(secret, this.#o.caches.secrets, applied, notes);
      return;
    }
    const { name, namespace } = secret.metadata as { name: string; namespace: string };
    try {
      await this.#o.client.request<Secret>({
        method: 'POST',
        path: resourcePath(Secrets, { namespace }),
        query: { fieldManager: this.#o.applier.fieldManager },
        body: withAdminToken(secret, this.#newToken()),
      });
      notes.push({ reason: 'Created', note: `Created Secret ${name}` });
      return;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    // It exists but the cache has not shown it (or it has no token): keep any token, add one if
    // none, and (re)take its labels and owner.
    const path = resourcePath(Secrets, { namespace, name });
    const current = await this.#o.client.request<Secret>({ method: 'GET', path });
    if (!current.data?.[ADMIN_TOKEN_KEY]) {
      await this.#o.client.request({
        method: 'PATCH',
        path,
        query: { fieldManager: this.#o.applier.fieldManager },
        contentType: 'application/merge-patch+json',
        body: {
          metadata: { resourceVersion: current.metadata?.resourceVersion },
          data: withAdminToken(secret, this.#newToken()).data,
        },
      });
      notes.push({ reason: 'Created', note: `Generated the admin token in Secret ${name}` });
    }
    await this.#o.applier.apply(secret);
  }

  async #expandVolumes(cluster: StoredCluster, notes: Note[]): Promise<void> {
    const { namespace, name } = cluster.metadata;
    const claims = this.#o.caches.claims
      .list(namespace)
      .filter((c) => c.metadata?.labels?.[LABEL_CLUSTER] === name);
    for (const resize of claimsToExpand(cluster, claims)) {
      try {
        await this.#o.client.request({
          method: 'PATCH',
          path: resourcePath(PVCS, { namespace, name: resize.name }),
          query: { fieldManager: this.#o.applier.fieldManager },
          contentType: 'application/merge-patch+json',
          body: { spec: { resources: { requests: { storage: resize.to } } } },
        });
      } catch (err) {
        if (isNotFound(err)) continue; // scaled away meanwhile
        throw err;
      }
      notes.push({
        reason: 'ExpandingVolume',
        note: `Expanding PersistentVolumeClaim ${resize.name} from ${resize.from} to ${resize.to}`,
      });
    }
  }

  async #writeStatus(cluster: StoredCluster, status: object): Promise<void> {
    try {
      await this.#o.applier.applyStatus({
        apiVersion: API_VERSION,
        kind: 'Cluster',
        metadata: { name: cluster.metadata.name, namespace: cluster.metadata.namespace },
        status,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err; // deleted meanwhile: nothing to report on
    }
  }
}

type Applied = Map<string, { digest: string; resourceVersion: string }>;

interface Note {
  readonly reason: string;
  readonly note: string;
}

/** Waits for every promise; then throws the first rejection, if any. */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
