/**
 * Carries out ./discovery.ts's plan for one Cluster every `intervalMs`: lists the cluster's groups,
 * creates a ConsumerGroup for each group without one, and deletes the discovered ones whose group
 * is gone.
 *
 * A discovered resource is created with the finalizer already on it (one write, not two), its
 * Cluster as owner (deleting the Cluster deletes them), and under the `tributary-groups` field
 * manager. Before deleting one whose group is gone, discovery marks it with
 * `tributary.dev/keep-offsets`, so that the finalizer lets it go without touching Kafka: had the
 * group come back meanwhile (a consumer starting again), deleting its offsets would lose them.
 */
import type { Logger } from '../../../common/logger.ts';
import { API_VERSION, type Cluster, type ConsumerGroup } from '../../api/index.ts';
import { isAlreadyExists, isNotFound } from '../../runtime/api-errors.ts';
import type { KubeClient } from '../../runtime/client.ts';
import type { ReconcileResult } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { controllerReference } from '../../runtime/owner.ts';
import { resourcePath } from '../../runtime/resources.ts';
import { kubeTime } from '../../runtime/time.ts';
import { LABEL_CLUSTER } from '../cluster/names.ts';
import type { Lookup } from '../cluster/reconciler.ts';
import type { ClusterAdmins } from './admins.ts';
import { ANNOTATION_KEEP_OFFSETS, discoveryPlan, LABEL_DISCOVERED } from './discovery.ts';
import { ConsumerGroups, FINALIZER, GROUPS_FIELD_MANAGER } from './reconciler.ts';

export interface DiscovererOptions {
  readonly client: Pick<KubeClient, 'request'>;
  readonly caches: { readonly clusters: Lookup<Cluster>; readonly consumerGroups: Lookup<ConsumerGroup> };
  readonly admins: ClusterAdmins;
  readonly events: Pick<EventRecorder, 'record'>;
  readonly now: () => number;
  readonly log: Logger;
  /** How often each Cluster's groups are listed (5 s). */
  readonly intervalMs?: number;
}

const WAIT_FOR_CONTROLLER_MS = 1000;

export class GroupDiscoverer {
  readonly #o: DiscovererOptions;

  constructor(options: DiscovererOptions) {
    this.#o = options;
  }

  /** For `Controller`: `reconcile(namespace/clusterName)`. */
  readonly reconcile = async (key: string): Promise<ReconcileResult | void> => {
    const cluster = this.#o.caches.clusters.get(key);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    const conn = this.#o.admins.get(key);
    if (!conn) return { requeueAfterMs: WAIT_FOR_CONTROLLER_MS };
    const enabled = cluster.spec.discovery?.consumerGroups ?? true;
    const listing = enabled ? await conn.admin.listGroups() : { groups: [], complete: true };
    const namespace = cluster.metadata.namespace!;
    const plan = discoveryPlan({
      cluster: cluster.metadata.name,
      enabled,
      listed: listing.groups,
      complete: listing.complete,
      resources: this.#o.caches.consumerGroups.list(namespace),
    });
    for (const c of plan.create) await this.#create(cluster, c.name, c.groupId);
    for (const r of plan.remove) await this.#remove(r, enabled);
    return { requeueAfterMs: this.#o.intervalMs ?? 5000 };
  };

  async #create(cluster: Cluster, name: string, groupId: string): Promise<void> {
    const namespace = cluster.metadata.namespace!;
    const body: ConsumerGroup = {
      apiVersion: API_VERSION,
      kind: 'ConsumerGroup',
      metadata: {
        name,
        namespace,
        labels: { [LABEL_CLUSTER]: cluster.metadata.name, [LABEL_DISCOVERED]: 'true' },
        ...({
          finalizers: [FINALIZER],
          ownerReferences: [controllerReference({ ...cluster, apiVersion: API_VERSION, kind: 'Cluster' })],
        } as object),
      },
      spec: {
        clusterRef: { name: cluster.metadata.name },
        ...(name === groupId ? {} : { groupId }),
      },
    };
    let created: ConsumerGroup;
    try {
      created = await this.#o.client.request<ConsumerGroup>({
        method: 'POST',
        path: resourcePath(ConsumerGroups, { namespace }),
        query: { fieldManager: GROUPS_FIELD_MANAGER },
        body,
      });
    } catch (err) {
      if (isAlreadyExists(err)) return; // made meanwhile; the cache will show it
      throw err;
    }
    this.#o.log.info(
      { namespace, name, group: groupId },
      `Created ConsumerGroup ${name} for discovered group ${groupId}`,
    );
    await this.#o.events.record(
      { ...created, apiVersion: API_VERSION, kind: 'ConsumerGroup' },
      {
        type: 'Normal',
        reason: 'Discovered',
        action: 'Discover',
        note: `Discovered group ${groupId} in Cluster ${cluster.metadata.name}`,
      },
    );
  }

  async #remove(cg: ConsumerGroup, enabled: boolean): Promise<void> {
    const { name } = cg.metadata;
    const namespace = cg.metadata.namespace!;
    const path = resourcePath(ConsumerGroups, { namespace, name });
    const why = enabled ? 'its group is gone from the cluster' : 'discovery of consumer groups is off';
    try {
      await this.#o.client.request({
        method: 'PATCH',
        path,
        contentType: 'application/merge-patch+json',
        body: {
          metadata: { annotations: { [ANNOTATION_KEEP_OFFSETS]: `${why} (${kubeTime(this.#o.now())})` } },
        },
      });
      await this.#o.client.request({ method: 'DELETE', path });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.#o.log.info({ namespace, name }, `Deleted discovered ConsumerGroup ${name}: ${why}`);
  }
}
