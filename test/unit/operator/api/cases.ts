/**
 * Objects and the verdicts both judges must give: the validator (unit tier, validate.test.ts) and a
 * real API server with the generated CRDs (kube tier, crds.test.ts). Keeping one table is what
 * shows that each CEL rule and its TypeScript twin agree.
 */
import { ClusterResource, ConsumerGroupResource, TopicResource } from '../../../../src/operator/api/index.ts';
import {
  NAME_250,
  edit,
  fullCluster,
  fullConsumerGroup,
  fullTopic,
  minimalCluster,
  minimalConsumerGroup,
  minimalTopic,
  type Case,
} from './fixtures.ts';
import { POD_TEMPLATE_CASES } from './pod-template-cases.ts';

const C = ClusterResource;
const T = TopicResource;
const G = ConsumerGroupResource;

const RESOURCE_CASES: Case[] = [
  // --- Cluster ---------------------------------------------------------------------------------
  { name: 'a Cluster with every field', definition: C, object: fullCluster('c-full') },
  { name: 'a minimal Cluster', definition: C, object: minimalCluster('c-minimal') },
  {
    name: 'a Cluster without brokers',
    definition: C,
    object: edit(minimalCluster('c-zero'), (o) => (o.spec.replicas = 0)),
    rejected: { path: 'spec.replicas' },
  },
  {
    name: 'a Cluster of 100000 brokers',
    definition: C,
    object: edit(minimalCluster('c-huge'), (o) => (o.spec.replicas = 100000)),
    rejected: { path: 'spec.replicas' },
  },
  {
    name: 'a Cluster of 256 brokers, the most',
    definition: C,
    object: edit(minimalCluster('c-most'), (o) => (o.spec.replicas = 256)),
  },
  {
    name: 'a Cluster without storage',
    definition: C,
    object: edit(minimalCluster('c-nostorage'), (o) => delete o.spec.storage),
    rejected: { path: 'spec.storage' },
  },
  {
    name: 'a negative storage size',
    definition: C,
    object: edit(minimalCluster('c-negative'), (o) => (o.spec.storage.size = '-10Gi')),
    rejected: { path: 'spec.storage.size', message: 'must be a positive quantity' },
  },
  {
    name: 'a zero storage size',
    definition: C,
    object: edit(minimalCluster('c-zerosize'), (o) => (o.spec.storage.size = '0')),
    rejected: { path: 'spec.storage.size', message: 'must be a positive quantity' },
  },
  {
    name: 'a storage size that is not a quantity',
    definition: C,
    object: edit(minimalCluster('c-words'), (o) => (o.spec.storage.size = 'ten gigs')),
    rejected: { path: 'spec.storage.size' },
  },
  {
    name: 'a broker config the operator owns',
    definition: C,
    object: edit(
      minimalCluster('c-brokerid'),
      (o) => (o.spec.config = { 'broker.id': '7', 'num.io.threads': '8' }),
    ),
    rejected: { path: 'spec.config[broker.id]', message: 'broker.id cannot be set: the operator sets it' },
  },
  {
    name: 'a broker config that is not a string',
    definition: C,
    object: edit(minimalCluster('c-configint'), (o) => (o.spec.config = { 'num.io.threads': 8 })),
    rejected: { path: 'spec.config[num.io.threads]' },
  },
  {
    name: 'a storage class that is not a resource name',
    definition: C,
    object: edit(minimalCluster('c-classname'), (o) => (o.spec.storage.storageClassName = 'Fast_SSD')),
    rejected: { path: 'spec.storage.storageClassName' },
  },
  {
    name: 'a rack topology key that is not a label key',
    definition: C,
    object: edit(minimalCluster('c-rack'), (o) => (o.spec.rack = { topologyKey: 'zone name' })),
    rejected: { path: 'spec.rack.topologyKey', message: 'must be a label key' },
  },
  {
    name: 'the same port twice',
    definition: C,
    object: edit(minimalCluster('c-ports'), (o) => (o.spec.ports = { kafka: 9092, admin: 9092 })),
    rejected: { path: 'spec.ports', message: 'must differ' },
  },
  {
    name: 'a request above its limit',
    definition: C,
    object: edit(
      minimalCluster('c-requests'),
      (o) =>
        (o.spec.resources = { requests: { memory: '4Gi', cpu: 1 }, limits: { memory: '2Gi', cpu: '1000m' } }),
    ),
    rejected: { path: 'spec.resources.requests', message: 'cannot exceed its limit' },
  },
  {
    name: 'requests equal to limits written differently',
    definition: C,
    object: edit(
      minimalCluster('c-equal'),
      (o) =>
        (o.spec.resources = {
          requests: { memory: '1024Mi', cpu: 1 },
          limits: { memory: '1Gi', cpu: '1000m' },
        }),
    ),
  },
  {
    name: 'a Cluster name that is not a DNS label',
    definition: C,
    object: minimalCluster('dotted.name'),
    rejected: { path: 'metadata.name', message: 'DNS label of at most 40 characters' },
  },
  {
    name: 'a Cluster name too long for its children',
    definition: C,
    object: minimalCluster('c'.repeat(41)),
    rejected: { path: 'metadata.name', message: 'DNS label of at most 40 characters' },
  },
  {
    name: 'an unknown field',
    definition: C,
    object: edit(minimalCluster('c-unknown'), (o) => (o.spec.replica = 3)),
    rejected: { path: 'spec.replica' },
  },
  {
    name: 'a toleration with an unknown effect',
    definition: C,
    object: edit(
      minimalCluster('c-toleration'),
      (o) =>
        (o.spec.template = { pod: { tolerations: [{ key: 'a', operator: 'Exists', effect: 'Sometimes' }] } }),
    ),
    rejected: { path: 'spec.template.pod.tolerations[0].effect' },
  },
  {
    name: 'storage that shrinks',
    definition: C,
    old: fullCluster('c-shrink'),
    object: edit(fullCluster('c-shrink'), (o) => (o.spec.storage.size = '50Gi')),
    rejected: { path: 'spec.storage.size', message: 'cannot shrink' },
  },
  {
    name: 'storage that grows (written in other units)',
    definition: C,
    old: fullCluster('c-grow'),
    object: edit(fullCluster('c-grow'), (o) => (o.spec.storage.size = '0.5Ti')),
  },
  {
    name: 'a changed storage class',
    definition: C,
    old: fullCluster('c-class'),
    object: edit(fullCluster('c-class'), (o) => (o.spec.storage.storageClassName = 'slow-hdd')),
    rejected: { path: 'spec.storage.storageClassName', message: 'cannot be changed' },
  },
  {
    name: 'a storage class set after creation',
    definition: C,
    old: minimalCluster('c-classlater'),
    object: edit(minimalCluster('c-classlater'), (o) => (o.spec.storage.storageClassName = 'fast-ssd')),
    rejected: { path: 'spec.storage.storageClassName', message: 'cannot be changed' },
  },
  {
    name: 'more brokers and other settings',
    definition: C,
    old: fullCluster('c-scale'),
    object: edit(fullCluster('c-scale'), (o) => {
      o.spec.replicas = 5;
      o.spec.config['log.retention.hours'] = '24';
      o.spec.metrics.enabled = true;
    }),
  },

  // --- Topic -----------------------------------------------------------------------------------
  { name: 'a Topic with every field', definition: T, object: fullTopic('t-full') },
  { name: 'a minimal Topic', definition: T, object: minimalTopic('t-minimal') },
  {
    name: 'a topic name with a slash',
    definition: T,
    object: edit(minimalTopic('t-slash'), (o) => (o.spec.topicName = 'orders/eu')),
    rejected: { path: 'spec.topicName', message: 'a Kafka topic name is' },
  },
  {
    name: 'the topic name ".."',
    definition: T,
    object: edit(minimalTopic('t-dots'), (o) => (o.spec.topicName = '..')),
    rejected: { path: 'spec.topicName', message: "not '.' or '..'" },
  },
  {
    name: 'a topic name of 250 characters',
    definition: T,
    object: edit(minimalTopic('t-long'), (o) => (o.spec.topicName = 'x'.repeat(250))),
    rejected: { path: 'spec.topicName' },
  },
  {
    // A discovered Topic shows it; the operator, not the schema, refuses to manage it (InternalTopic).
    name: 'an internal topic',
    definition: T,
    object: edit(minimalTopic('t-internal'), (o) => (o.spec.topicName = '__consumer_offsets')),
  },
  {
    name: 'a resource name too long for a topic',
    definition: T,
    object: minimalTopic(NAME_250),
    rejected: { path: 'spec', message: 'set spec.topicName' },
  },
  {
    name: 'a long resource name with a topicName',
    definition: T,
    object: edit(minimalTopic(NAME_250), (o) => (o.spec.topicName = 'short')),
  },
  {
    name: 'a Topic without partitions',
    definition: T,
    object: edit(minimalTopic('t-zero'), (o) => (o.spec.partitions = 0)),
    rejected: { path: 'spec.partitions' },
  },
  {
    name: 'a Topic without a cluster',
    definition: T,
    object: edit(minimalTopic('t-nocluster'), (o) => delete o.spec.clusterRef),
    rejected: { path: 'spec.clusterRef' },
  },
  {
    name: 'a clusterRef that no Cluster can have',
    definition: T,
    object: edit(minimalTopic('t-refname'), (o) => (o.spec.clusterRef.name = 'Prod_EU')),
    rejected: { path: 'spec.clusterRef.name', message: 'clusterRef.name must be the name of a Cluster' },
  },
  {
    name: 'a clusterRef too long for a Cluster name',
    definition: T,
    object: edit(minimalTopic('t-reflong'), (o) => (o.spec.clusterRef.name = 'c'.repeat(41))),
    rejected: { path: 'spec.clusterRef.name', message: 'clusterRef.name must be the name of a Cluster' },
  },
  {
    name: 'min.insync.replicas above the replication factor',
    definition: T,
    object: edit(fullTopic('t-minisr'), (o) => (o.spec.config['min.insync.replicas'] = '4')),
    rejected: {
      path: 'spec.config[min.insync.replicas]',
      message: 'min.insync.replicas must be a whole number',
    },
  },
  {
    name: 'min.insync.replicas that is not a number',
    definition: T,
    object: edit(fullTopic('t-minisr-nan'), (o) => (o.spec.config['min.insync.replicas'] = 'two')),
    rejected: {
      path: 'spec.config[min.insync.replicas]',
      message: 'min.insync.replicas must be a whole number',
    },
  },
  {
    name: 'an unknown cleanup policy',
    definition: T,
    object: edit(fullTopic('t-cleanup'), (o) => (o.spec.config['cleanup.policy'] = 'forever')),
    rejected: { path: 'spec.config[cleanup.policy]', message: 'cleanup.policy must be one of' },
  },
  {
    name: 'fewer partitions',
    definition: T,
    old: fullTopic('t-shrink'),
    object: edit(fullTopic('t-shrink'), (o) => (o.spec.partitions = 6)),
    rejected: { path: 'spec.partitions', message: 'partitions cannot decrease' },
  },
  {
    name: 'more partitions and other configs',
    definition: T,
    old: fullTopic('t-grow'),
    object: edit(fullTopic('t-grow'), (o) => {
      o.spec.partitions = 24;
      o.spec.config['retention.ms'] = '86400000';
    }),
  },
  {
    name: 'a changed replication factor',
    definition: T,
    old: fullTopic('t-rf'),
    object: edit(fullTopic('t-rf'), (o) => (o.spec.replicationFactor = 5)),
    rejected: { path: 'spec.replicationFactor', message: 'replicationFactor cannot be changed' },
  },
  {
    name: 'a renamed topic',
    definition: T,
    old: fullTopic('t-rename'),
    object: edit(fullTopic('t-rename'), (o) => (o.spec.topicName = 'orders.v2')),
    rejected: { path: 'spec.topicName', message: 'cannot be changed' },
  },
  {
    name: 'a topicName added later that keeps the name',
    definition: T,
    old: minimalTopic('t-samename'),
    object: edit(minimalTopic('t-samename'), (o) => (o.spec.topicName = 't-samename')),
  },
  {
    name: 'a topicName added later that changes the name',
    definition: T,
    old: minimalTopic('t-newname'),
    object: edit(minimalTopic('t-newname'), (o) => (o.spec.topicName = 'other')),
    rejected: { path: 'spec.topicName', message: 'cannot be changed' },
  },
  {
    name: 'a Topic moved to another cluster',
    definition: T,
    old: fullTopic('t-move'),
    object: edit(fullTopic('t-move'), (o) => (o.spec.clusterRef.name = 'other')),
    rejected: { path: 'spec.clusterRef', message: 'clusterRef cannot be changed' },
  },

  // --- ConsumerGroup ---------------------------------------------------------------------------
  { name: 'a ConsumerGroup with every field', definition: G, object: fullConsumerGroup('g-full') },
  { name: 'a minimal ConsumerGroup', definition: G, object: minimalConsumerGroup('g-minimal') },
  {
    name: 'a ConsumerGroup whose clusterRef is a dotted name',
    definition: G,
    object: edit(minimalConsumerGroup('g-refname'), (o) => (o.spec.clusterRef.name = 'prod.eu')),
    rejected: { path: 'spec.clusterRef.name', message: 'clusterRef.name must be the name of a Cluster' },
  },
  {
    name: 'a reset to a timestamp without one',
    definition: G,
    object: edit(fullConsumerGroup('g-notime'), (o) => delete o.spec.offsetReset.timestamp),
    rejected: { path: 'spec.offsetReset.timestamp', message: 'timestamp is required with to: timestamp' },
  },
  {
    name: 'a reset to latest with an offset',
    definition: G,
    object: edit(fullConsumerGroup('g-latest'), (o) => {
      o.spec.offsetReset = { requestId: 'r1', to: 'latest', offset: 5 };
    }),
    rejected: { path: 'spec.offsetReset.offset', message: 'offset is required with to: offset' },
  },
  {
    name: 'a reset to an offset',
    definition: G,
    object: edit(fullConsumerGroup('g-offset'), (o) => {
      o.spec.offsetReset = {
        requestId: 'skip-poison',
        to: 'offset',
        offset: 1234,
        topics: [{ name: 'orders', partitions: [3] }],
      };
    }),
  },
  {
    name: 'a reset to somewhere unknown',
    definition: G,
    object: edit(
      fullConsumerGroup('g-where'),
      (o) => (o.spec.offsetReset = { requestId: 'r1', to: 'yesterday' }),
    ),
    rejected: { path: 'spec.offsetReset.to' },
  },
  {
    name: 'a reset of a topic with an invalid name',
    definition: G,
    object: edit(fullConsumerGroup('g-badtopic'), (o) => (o.spec.offsetReset.topics = [{ name: 'a b' }])),
    rejected: { path: 'spec.offsetReset.topics[0].name', message: 'a Kafka topic name is' },
  },
  {
    name: 'a changed group id',
    definition: G,
    old: fullConsumerGroup('g-rename'),
    object: edit(fullConsumerGroup('g-rename'), (o) => (o.spec.groupId = 'billing-service.v3')),
    rejected: { path: 'spec.groupId', message: 'group id cannot be changed' },
  },
  {
    name: 'a reset request edited under the same id',
    definition: G,
    old: fullConsumerGroup('g-edit'),
    object: edit(fullConsumerGroup('g-edit'), (o) => (o.spec.offsetReset.timestamp = '2024-06-01T00:00:00Z')),
    rejected: { path: 'spec.offsetReset', message: 'give it a new requestId' },
  },
  {
    name: 'a reset request rewritten in another order',
    definition: G,
    old: fullConsumerGroup('g-reorder'),
    object: edit(fullConsumerGroup('g-reorder'), (o) => {
      o.spec.offsetReset.topics = [{ name: 'payments' }, { name: 'orders.v1_eu-west', partitions: [3, 0] }];
    }),
  },
  {
    name: 'a new reset request',
    definition: G,
    old: fullConsumerGroup('g-again'),
    object: edit(
      fullConsumerGroup('g-again'),
      (o) => (o.spec.offsetReset = { requestId: 'replay-2', to: 'earliest' }),
    ),
  },
  {
    name: 'a reset request withdrawn',
    definition: G,
    old: fullConsumerGroup('g-withdraw'),
    object: edit(fullConsumerGroup('g-withdraw'), (o) => delete o.spec.offsetReset),
  },
  {
    name: 'a ConsumerGroup moved to another cluster',
    definition: G,
    old: minimalConsumerGroup('g-move'),
    object: edit(minimalConsumerGroup('g-move'), (o) => (o.spec.clusterRef = { name: 'other' })),
    rejected: { path: 'spec.clusterRef', message: 'clusterRef cannot be changed' },
  },
];

export const CASES: Case[] = [...RESOURCE_CASES, ...POD_TEMPLATE_CASES];
