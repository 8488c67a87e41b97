/**
 * ConsumerGroups, wired: the reconciler of each resource (./reconciler.ts) and the discovery of
 * each Cluster's groups (./discoverer.ts), two controllers that run while this replica leads and
 * share one Kafka admin client per Cluster. The operator adds the result to its Manager.
 *
 * Only changes that can change the outcome wake a resource: its spec, metadata (finalizers,
 * annotations, deletion) or its Cluster appearing, going or changing spec. Its own status writes
 * do not (the interval brings the next read), nor do the Cluster's frequent status projections.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import type { Cluster, ConsumerGroup } from '../../api/index.ts';
import type { KubeClient } from '../../runtime/client.ts';
import { Controller } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { Informer } from '../../runtime/informer.ts';
import type { ManagedController } from '../../runtime/manager.ts';
import { objectKey, type KubeObject } from '../../runtime/objects.ts';
import type { Lookup } from '../cluster/reconciler.ts';
import { ClusterAdmins, type MetadataAccess } from './admins.ts';
import { GroupDiscoverer } from './discoverer.ts';
import { GroupMetrics } from './metrics.ts';
import { ConsumerGroupReconciler } from './reconciler.ts';

export { FINALIZER, GROUPS_FIELD_MANAGER } from './reconciler.ts';
export { ANNOTATION_KEEP_OFFSETS, LABEL_DISCOVERED } from './discovery.ts';

type Cache<T> = Lookup<T> & { readonly informers: readonly Informer<T & KubeObject>[] };

export interface ConsumerGroupDeps {
  readonly client: KubeClient;
  readonly caches: { readonly clusters: Cache<Cluster>; readonly consumerGroups: Cache<ConsumerGroup> };
  /** The clusters' metadata controllers (MetadataHost): brokers and leaders come from their images. */
  readonly metadata: MetadataAccess;
  readonly events: Pick<EventRecorder, 'record'>;
  readonly registry: Registry;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often each Cluster's groups are listed for discovery (5 s). */
  readonly discoveryIntervalMs?: number;
  readonly workers?: number;
}

export function createConsumerGroupController(deps: ConsumerGroupDeps): ManagedController {
  const { caches, clock, log, registry } = deps;
  const admins = new ClusterAdmins(deps.metadata, clock);
  const metrics = new GroupMetrics(registry);
  const reconciler = new ConsumerGroupReconciler({
    client: deps.client,
    caches,
    admins,
    events: deps.events,
    metrics,
    clock,
  });
  const groups = new Controller({
    kind: 'ConsumerGroup',
    reconcile: reconciler.reconcile,
    workers: deps.workers ?? 4,
    clock,
    log,
    registry,
  });
  const discoverer = new GroupDiscoverer({
    client: deps.client,
    caches,
    admins,
    events: deps.events,
    now: () => clock.now(),
    log: log.child({ controller: 'ConsumerGroupDiscovery' }),
    intervalMs: deps.discoveryIntervalMs,
  });
  const discovery = new Controller({
    kind: 'ConsumerGroupDiscovery',
    reconcile: discoverer.reconcile,
    workers: 1,
    clock,
    log,
    registry,
  });

  const groupsOf = (cluster: Cluster): string[] =>
    caches.consumerGroups
      .list(cluster.metadata.namespace)
      .filter((cg) => cg.spec.clusterRef.name === cluster.metadata.name)
      .map((cg) => objectKey(cg));
  for (const informer of caches.consumerGroups.informers) {
    informer.on({
      add: (cg) => groups.enqueue(objectKey(cg)),
      update: (old, cg) => {
        if (metadataOrSpecChanged(old, cg)) groups.enqueue(objectKey(cg));
      },
      delete: (cg) => groups.enqueue(objectKey(cg)),
    });
  }
  for (const informer of caches.clusters.informers) {
    const wake = (cluster: Cluster): void => {
      for (const key of groupsOf(cluster)) groups.enqueue(key);
      discovery.enqueue(objectKey(cluster));
    };
    informer.on({
      add: wake,
      update: (old, cluster) => {
        if (metadataOrSpecChanged(old, cluster)) wake(cluster);
      },
      delete: wake,
    });
  }

  return {
    start() {
      groups.start();
      discovery.start();
      for (const cg of caches.consumerGroups.list()) groups.enqueue(objectKey(cg));
      for (const cluster of caches.clusters.list()) discovery.enqueue(objectKey(cluster));
    },
    async stop() {
      await Promise.all([groups.stop(), discovery.stop()]);
      admins.closeAll();
      // The next leader exports the lag; a standby's series would be stale.
      metrics.clear();
    },
  };
}

function metadataOrSpecChanged(old: KubeObject, obj: KubeObject): boolean {
  const a = old.metadata ?? {};
  const b = obj.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.uid !== b.uid ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.finalizers ?? []) !== JSON.stringify(b.finalizers ?? []) ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {}) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {})
  );
}
