/** Topic resources and metadata images for the Topic reconciler's and topic discovery's decisions. */
import {
  indexTopics,
  NO_LEADER,
  type MetadataImage,
  type PartitionState,
  type TopicState,
} from '../../../../../src/controller/image.ts';
import { API_VERSION, type TopicSpec } from '../../../../../src/operator/api/index.ts';
import {
  ANNOTATION_DISCOVERED_SPEC,
  LABEL_DISCOVERED,
  specDigest,
  type TopicObject,
} from '../../../../../src/operator/reconcilers/topic/names.ts';
import { discoveredSpec } from '../../../../../src/operator/reconcilers/topic/discovery-plan.ts';

/** The Cluster of ../cluster/fixtures.ts' storedCluster(). */
export const CLUSTER = 'demo';
export const NAMESPACE = 'streams';

export interface TopicStateOptions {
  partitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string>;
  internal?: boolean;
  /** Partitions with no leader. */
  offline?: number[];
}

/** A topic as the controller holds it: replicas spread over brokers 0, 1, 2, … */
export function topicState(name: string, o: TopicStateOptions = {}): TopicState {
  const rf = o.replicationFactor ?? 3;
  const partitions: PartitionState[] = Array.from({ length: o.partitions ?? 3 }, (_, p) => {
    const replicas = Array.from({ length: rf }, (_, r) => (p + r) % Math.max(rf, 3));
    return {
      partition: p,
      leader: o.offline?.includes(p) ? NO_LEADER : replicas[0]!,
      leaderEpoch: 1,
      partitionEpoch: 1,
      replicas,
      isr: replicas,
    };
  });
  return {
    name,
    topicId: `id-${name}`,
    internal: o.internal ?? false,
    partitions,
    configs: o.configs ?? {},
  };
}

export function image(...topics: TopicState[]): MetadataImage {
  return {
    version: 7,
    controllerEpoch: 1,
    clusterId: 'cluster-id',
    controllerId: 0,
    brokers: [],
    registrations: [],
    ...indexTopics(topics),
  };
}

export interface TopicResourceOptions {
  spec?: Partial<TopicSpec>;
  cluster?: string;
  discovered?: boolean;
  annotations?: Record<string, string>;
  created?: string;
  deleting?: boolean;
}

/** A Topic as the cache holds it; managed (no discovered label) unless told. */
export function topicResource(name: string, o: TopicResourceOptions = {}): TopicObject {
  return {
    apiVersion: API_VERSION,
    kind: 'Topic',
    metadata: {
      name,
      namespace: NAMESPACE,
      uid: `uid-${name}`,
      generation: 1,
      creationTimestamp: o.created ?? '2024-05-01T12:00:00Z',
      ...(o.discovered ? { labels: { [LABEL_DISCOVERED]: 'true' } } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.deleting ? { deletionTimestamp: '2024-05-02T12:00:00Z' } : {}),
    },
    spec: {
      clusterRef: { name: o.cluster ?? CLUSTER },
      partitions: 3,
      replicationFactor: 3,
      ...o.spec,
    },
  };
}

/** A discovered Topic exactly as discovery wrote it for `state` (named `name`). */
export function discoveredResource(
  state: TopicState,
  name = state.name,
  o: Omit<TopicResourceOptions, 'spec' | 'discovered' | 'annotations'> = {},
): TopicObject {
  const spec = discoveredSpec(state, name, o.cluster ?? CLUSTER);
  return topicResource(name, {
    ...o,
    spec,
    discovered: true,
    annotations: { [ANNOTATION_DISCOVERED_SPEC]: specDigest(spec) },
  });
}
