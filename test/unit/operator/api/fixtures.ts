/**
 * The objects the API tests start from: each kind with every field set and with as few as possible,
 * statuses as the operator writes them, and `edit` to derive a variant of one.
 */
import {
  API_VERSION,
  type Cluster,
  type ClusterStatus,
  type ConsumerGroup,
  type ConsumerGroupStatus,
  type ResourceDefinition,
  type Topic,
  type TopicStatus,
} from '../../../../src/operator/api/index.ts';

export interface Case {
  name: string;
  definition: ResourceDefinition;
  /** The stored object, for an update; a create when absent. */
  old?: object;
  object: object;
  /** Absent: accepted. Otherwise the field named, and (for CEL rules) words of the message. */
  rejected?: { path: string; message?: string };
}

type PodTemplate = NonNullable<NonNullable<Cluster['spec']['template']>['pod']>;

/** Every kind of term a core Affinity has. */
const FULL_AFFINITY: PodTemplate['affinity'] = {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [
        { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
        { matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['node-7'] }] },
      ],
    },
    preferredDuringSchedulingIgnoredDuringExecution: [
      {
        weight: 100,
        preference: {
          matchExpressions: [
            { key: 'example.com/cpu-generation', operator: 'Gt', values: ['3'] },
            { key: 'spot', operator: 'DoesNotExist' },
          ],
        },
      },
    ],
  },
  podAffinity: {
    preferredDuringSchedulingIgnoredDuringExecution: [
      {
        weight: 1,
        podAffinityTerm: {
          labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'zookeeper-less' } },
          namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] },
          topologyKey: 'topology.kubernetes.io/zone',
        },
      },
    ],
  },
  podAntiAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: [
      {
        labelSelector: {
          matchExpressions: [{ key: 'tributary.dev/cluster', operator: 'In', values: ['full'] }],
        },
        namespaces: ['default', 'kafka'],
        topologyKey: 'kubernetes.io/hostname',
        matchLabelKeys: ['controller-revision-hash'],
      },
    ],
  },
};

/** A Cluster with every field set, defaults included, so nothing is added when it is stored. */
export function fullCluster(name = 'full'): Cluster {
  return {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: { name },
    spec: {
      replicas: 3,
      image: 'ghcr.io/example/tributary:0.1.0',
      imagePullPolicy: 'IfNotPresent',
      resources: {
        requests: { cpu: '500m', memory: '1Gi' },
        limits: { cpu: 2, memory: '2Gi' },
        claims: [{ name: 'gpu', request: 'one' }],
      },
      storage: { size: '100Gi', storageClassName: 'fast-ssd', deleteClaim: true },
      config: { 'log.retention.hours': '72', 'num.partitions': '6', 'auto.create.topics.enable': 'false' },
      rack: { topologyKey: 'topology.kubernetes.io/zone' },
      ports: { kafka: 9092, admin: 9644 },
      metrics: { enabled: false },
      discovery: { topics: false, internalTopics: true, consumerGroups: false },
      template: {
        pod: {
          metadata: { labels: { team: 'data' }, annotations: { 'example.com/owner': 'data-platform' } },
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          tolerations: [
            { key: 'dedicated', operator: 'Equal', value: 'kafka', effect: 'NoSchedule' },
            { operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
          ],
          affinity: FULL_AFFINITY,
          priorityClassName: 'streaming-high',
          securityContext: { runAsNonRoot: true, fsGroup: 1000 },
          imagePullSecrets: [{ name: 'registry' }],
        },
      },
    },
  };
}

export function minimalCluster(name = 'minimal'): Cluster {
  return {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: { name },
    spec: { replicas: 1, storage: { size: '1Gi' } },
  };
}

export function fullTopic(name = 'orders'): Topic {
  return {
    apiVersion: API_VERSION,
    kind: 'Topic',
    metadata: { name },
    spec: {
      clusterRef: { name: 'full' },
      topicName: 'orders.v1_eu-west',
      partitions: 12,
      replicationFactor: 3,
      config: { 'cleanup.policy': 'compact,delete', 'min.insync.replicas': '2', 'retention.ms': '604800000' },
      deletionPolicy: 'Delete',
    },
  };
}

export function minimalTopic(name = 'events'): Topic {
  return {
    apiVersion: API_VERSION,
    kind: 'Topic',
    metadata: { name },
    spec: { clusterRef: { name: 'full' }, partitions: 1, replicationFactor: 1 },
  };
}

export function fullConsumerGroup(name = 'billing'): ConsumerGroup {
  return {
    apiVersion: API_VERSION,
    kind: 'ConsumerGroup',
    metadata: { name },
    spec: {
      clusterRef: { name: 'full' },
      groupId: 'billing-service.v2',
      offsetReset: {
        requestId: 'replay-2024-05-01',
        to: 'timestamp',
        timestamp: '2024-05-01T00:00:00Z',
        topics: [{ name: 'orders.v1_eu-west', partitions: [0, 3] }, { name: 'payments' }],
      },
      refreshIntervalSeconds: 30,
    },
  };
}

export function minimalConsumerGroup(name = 'audit'): ConsumerGroup {
  return {
    apiVersion: API_VERSION,
    kind: 'ConsumerGroup',
    metadata: { name },
    spec: { clusterRef: { name: 'full' } },
  };
}

const ready = (reason: string, observedGeneration = 1) => [
  {
    type: 'Ready',
    status: 'True' as const,
    observedGeneration,
    lastTransitionTime: '2024-05-01T10:00:00Z',
    reason,
    message: '',
  },
  {
    type: 'Degraded',
    status: 'False' as const,
    observedGeneration,
    lastTransitionTime: '2024-05-01T10:00:00Z',
    reason: 'AsExpected',
    message: 'Nothing is wrong.',
  },
];

/** Statuses with every field set, as the operator writes them. */
export const FULL_STATUS: { cluster: ClusterStatus; topic: TopicStatus; consumerGroup: ConsumerGroupStatus } =
  {
    cluster: {
      observedGeneration: 1,
      conditions: ready('AllBrokersReady'),
      replicas: 3,
      readyReplicas: 2,
      bootstrapServers: 'full-bootstrap.default.svc:9092',
      clusterId: 'MkU3OEVBNTcwNTJENDM2Qk',
      metadataVersion: 42,
      brokers: [
        {
          id: 0,
          address: 'full-0.full-brokers.default.svc:9092',
          rack: 'zone-a',
          incarnation: 'vQ2x',
          epoch: 7,
          state: 'Active',
        },
        {
          id: 1,
          address: 'full-1.full-brokers.default.svc:9092',
          incarnation: 'Zk3p',
          epoch: 9,
          state: 'Fenced',
        },
      ],
    },
    topic: {
      observedGeneration: 1,
      conditions: ready('Created'),
      topicName: 'orders.v1_eu-west',
      topicId: 'b8tRS7h4TJ2Vt43Dp85v2A',
      partitions: [
        { partition: 0, leader: 1, leaderEpoch: 4, partitionEpoch: 6, replicas: [1, 2, 0], isr: [1, 2] },
        { partition: 1, leader: -1, leaderEpoch: 2, partitionEpoch: 2, replicas: [2, 0, 1], isr: [] },
      ],
      underReplicatedPartitions: 2,
    },
    consumerGroup: {
      observedGeneration: 1,
      conditions: ready('Observed'),
      groupId: 'billing-service.v2',
      state: 'Stable',
      protocol: 'cooperative-sticky',
      members: 2,
      memberDetails: [
        {
          memberId: 'billing-1-5f0c',
          clientId: 'billing-1',
          host: '/10.0.3.17',
          assignments: [{ topic: 'orders.v1_eu-west', partitions: [0, 3] }],
        },
        {
          memberId: 'billing-2-9a41',
          groupInstanceId: 'billing-2',
          clientId: 'billing-2',
          host: '/10.0.3.18',
        },
      ],
      totalLag: 15,
      topics: [
        {
          name: 'orders.v1_eu-west',
          lag: 15,
          partitions: [
            { partition: 0, offset: 100, logEndOffset: 110, lag: 10 },
            { partition: 3, offset: 7, logEndOffset: 12, lag: 5 },
          ],
        },
      ],
      offsetReset: {
        requestId: 'replay-2024-05-01',
        state: 'Succeeded',
        message: 'Moved 2 partitions.',
        lastTransitionTime: '2024-05-01T10:00:00Z',
      },
    },
  };

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A copy of `object` changed by `change`. */
export function edit<T extends object>(object: T, change: (o: Mutable) => void): T {
  const copy = structuredClone(object) as Mutable;
  change(copy);
  return copy as T;
}

/** A 250-character DNS subdomain: a valid resource name, one too long for a Kafka topic. */
export const NAME_250 = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(58)].join('.');
