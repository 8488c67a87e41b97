/**
 * The Topic controller and the topic-discovery controller, with what wakes them: Topic and Cluster
 * changes from the informers, and the metadata controllers' images (a topic created, grown,
 * reconfigured or deleted through Kafka, a partition losing its leader).
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../../../common/clock.ts';
import type { Logger } from '../../../common/logger.ts';
import type { MetadataImage, TopicState } from '../../../controller/image.ts';
import type { Cluster, Topic } from '../../api/index.ts';
import type { KindCache } from '../../caches.ts';
import type { MetadataHost } from '../../metadata/host.ts';
import { Applier } from '../../runtime/apply.ts';
import type { KubeClient } from '../../runtime/client.ts';
import { Controller } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { Finalizers } from '../../runtime/finalizers.ts';
import { objectKey } from '../../runtime/objects.ts';
import type { ResourceMapper } from '../../runtime/resources.ts';
import { TopicDiscovery } from './discovery.ts';
import { kafkaTopicName, TOPICS_FIELD_MANAGER } from './names.ts';
import { TopicReconciler } from './reconciler.ts';

export interface TopicControllersOptions {
  readonly client: KubeClient;
  readonly resources: ResourceMapper;
  readonly caches: { readonly clusters: KindCache<Cluster>; readonly topics: KindCache<Topic> };
  /** The Clusters' metadata controllers (../../metadata/host.ts). */
  readonly metadata: Pick<MetadataHost, 'service' | 'watchImages'>;
  readonly events: EventRecorder;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry?: Registry;
}

export function topicControllers(o: TopicControllersOptions): { topics: Controller; discovery: Controller } {
  const { client, caches, clock, log, registry } = o;
  const reconciler = new TopicReconciler({
    caches,
    metadata: o.metadata,
    statusApplier: new Applier({ client, resources: o.resources, fieldManager: TOPICS_FIELD_MANAGER }),
    finalizers: new Finalizers({ client, resources: o.resources }),
    events: o.events,
    clock,
  });
  const topics = new Controller({
    kind: 'Topic',
    reconcile: reconciler.reconcile,
    workers: 4,
    clock,
    log,
    registry,
  });
  const discovery = new Controller({
    kind: 'TopicDiscovery',
    reconcile: new TopicDiscovery({ client, caches, metadata: o.metadata, events: o.events, clock })
      .reconcile,
    clock,
    log,
    registry,
  });

  const clusterKeyOf = (t: Topic) => `${t.metadata.namespace}/${t.spec.clusterRef.name}`;
  /** Topic resource keys of a Cluster, optionally only those naming one of `names` in Kafka. */
  const topicKeys = (clusterKey: string, names?: ReadonlySet<string>) =>
    caches.topics
      .list(clusterKey.split('/')[0])
      .filter((t) => clusterKeyOf(t) === clusterKey && (!names || names.has(kafkaTopicName(t))))
      .map((t) => objectKey(t));

  for (const informer of caches.topics.informers) {
    topics.watch(informer);
    discovery.watch(informer, clusterKeyOf);
    // A resource gone may leave its Kafka topic to another resource that was in conflict with it.
    informer.on({
      delete: (t) =>
        topicKeys(clusterKeyOf(t), new Set([kafkaTopicName(t)])).forEach((k) => topics.enqueue(k)),
    });
  }
  for (const informer of caches.clusters.informers) {
    discovery.watch(informer);
    topics.watch(informer, (c) => topicKeys(objectKey(c)));
  }

  const seen = new Map<string, Map<string, string>>();
  o.metadata.watchImages((clusterKey, image) => {
    discovery.enqueue(clusterKey);
    const now = signatures(image);
    const before = seen.get(clusterKey);
    seen.set(clusterKey, now);
    const changed = new Set<string>();
    for (const [name, sig] of now) if (before?.get(name) !== sig) changed.add(name);
    for (const name of before?.keys() ?? []) if (!now.has(name)) changed.add(name);
    for (const key of topicKeys(clusterKey, before ? changed : undefined)) topics.enqueue(key);
  });
  return { topics, discovery };
}

/** What of each topic a Topic's Ready depends on, as one comparable string per topic. */
function signatures(image: MetadataImage): Map<string, string> {
  const sig = (t: TopicState) =>
    JSON.stringify([
      t.topicId,
      t.partitions.length,
      t.partitions[0]?.replicas.length,
      t.partitions.filter((p) => p.leader < 0).length,
      Object.entries(t.configs).sort(),
    ]);
  return new Map([...image.topics.values()].map((t) => [t.name, sig(t)]));
}
