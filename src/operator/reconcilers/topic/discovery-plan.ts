/**
 * Topic discovery, decided: which Topic resources to create, update, delete or hand over so that
 * every topic of a Cluster is shown as a resource (docs/adr/0019). Pure: the executor is
 * ./discovery.ts.
 *
 * - A topic no resource names gets a discovered resource (label tributary.dev/discovered), owned
 *   by its Cluster, its spec equal to the topic: the cluster wins for these.
 * - A discovered resource follows its topic (partitions, configs) and goes when the topic goes, when
 *   discovery is switched off, or when a managed resource names the same topic.
 * - A discovered resource whose spec someone else edited is adopted: it loses the label and from
 *   then on the resource wins. Internal topics are never adopted: their resource is set back.
 */
import type { MetadataImage, TopicState } from '../../../controller/image.ts';
import { API_VERSION, type Cluster, type TopicSpec } from '../../api/index.ts';
import type { KubeObject } from '../../runtime/objects.ts';
import { controllerReference } from '../../runtime/owner.ts';
import { LABEL_CLUSTER } from '../cluster/names.ts';
import {
  ANNOTATION_DISCOVERED_SPEC,
  discoveredName,
  isDiscovered,
  kafkaTopicName,
  LABEL_DISCOVERED,
  specDigest,
  untouchedSinceDiscovery,
  type TopicObject,
} from './names.ts';
import { topicOwner } from './plan.ts';

export type DiscoveryStep =
  | { readonly kind: 'create'; readonly topic: TopicObject }
  /** Sets the resource's spec to `spec` (it was written from an older state of the topic). */
  | { readonly kind: 'update'; readonly resource: TopicObject; readonly spec: TopicSpec }
  | { readonly kind: 'delete'; readonly resource: TopicObject; readonly why: string }
  | { readonly kind: 'adopt'; readonly resource: TopicObject };

export interface DiscoveryFacts {
  readonly cluster: Cluster & KubeObject;
  readonly image: MetadataImage;
  /** Every Topic resource in the Cluster's namespace (names are taken across Clusters). */
  readonly resources: readonly TopicObject[];
}

export function planDiscovery(facts: DiscoveryFacts): DiscoveryStep[] {
  const { cluster, image } = facts;
  const clusterName = cluster.metadata.name;
  const settings = cluster.spec.discovery ?? {};
  const showTopics = settings.topics ?? true;
  const showInternal = settings.internalTopics ?? false;
  const shown = (state: TopicState): boolean => showTopics && (showInternal || !state.internal);

  const ours = facts.resources.filter((r) => r.spec.clusterRef.name === clusterName);
  const claimants = new Map<string, TopicObject[]>();
  for (const r of ours) {
    const name = kafkaTopicName(r);
    claimants.set(name, [...(claimants.get(name) ?? []), r]);
  }

  const steps: DiscoveryStep[] = [];
  for (const r of ours) {
    if (!isDiscovered(r) || r.metadata.deletionTimestamp) continue;
    const name = kafkaTopicName(r);
    const state = image.topics.get(name);
    // Edited by someone else: adopted, except internal topics, which only the brokers manage.
    if (!untouchedSinceDiscovery(r) && !state?.internal) {
      steps.push({ kind: 'adopt', resource: r });
      continue;
    }
    if (!state || !shown(state)) {
      const why = !state
        ? `topic ${name} is no longer in the cluster`
        : `Cluster ${clusterName} does not show ${state.internal ? 'internal topics' : 'discovered topics'}`;
      steps.push({ kind: 'delete', resource: r, why });
    } else if (topicOwner(claimants.get(name) ?? []) !== r) {
      steps.push({ kind: 'delete', resource: r, why: `another Topic resource manages topic ${name}` });
    } else {
      const spec = discoveredSpec(state, r.metadata.name, clusterName);
      if (specDigest(spec) !== specDigest(r.spec)) steps.push({ kind: 'update', resource: r, spec });
    }
  }

  if (!showTopics) return steps;
  const taken = new Set(facts.resources.map((r) => r.metadata.name));
  const topics = [...image.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const state of topics) {
    if (!shown(state) || claimants.has(state.name)) continue;
    const name = discoveredName(state.name, (n) => taken.has(n));
    taken.add(name);
    steps.push({ kind: 'create', topic: discoveredTopic(cluster, state, name) });
  }
  return steps;
}

/** The spec of a discovered resource named `resourceName` for topic `state`. */
export function discoveredSpec(state: TopicState, resourceName: string, clusterName: string): TopicSpec {
  return {
    clusterRef: { name: clusterName },
    ...(resourceName === state.name ? {} : { topicName: state.name }),
    partitions: state.partitions.length,
    replicationFactor: state.partitions[0]?.replicas.length ?? 1,
    config: { ...state.configs },
    deletionPolicy: 'Retain',
  };
}

function discoveredTopic(cluster: Cluster & KubeObject, state: TopicState, name: string): TopicObject {
  const spec = discoveredSpec(state, name, cluster.metadata.name);
  return {
    apiVersion: API_VERSION,
    kind: 'Topic',
    metadata: {
      name,
      namespace: cluster.metadata.namespace,
      labels: { [LABEL_CLUSTER]: cluster.metadata.name, [LABEL_DISCOVERED]: 'true' },
      annotations: { [ANNOTATION_DISCOVERED_SPEC]: specDigest(spec) },
      ownerReferences: [controllerReference({ ...cluster, apiVersion: API_VERSION, kind: 'Cluster' })],
    },
    spec,
  };
}
