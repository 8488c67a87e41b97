/**
 * Cases for a Cluster's pod template (labels, annotations, node selector, tolerations, affinity): what
 * Kubernetes would refuse in the broker pods is refused in the Cluster, naming the field.
 */
import { ClusterResource } from '../../../../src/operator/api/index.ts';
import { edit, minimalCluster, type Case } from './fixtures.ts';

const C = ClusterResource;

/** A minimal Cluster `name` with `pod` as its pod template. */
const withPod = (name: string, pod: object) => edit(minimalCluster(name), (o) => (o.spec.template = { pod }));

const withAffinity = (name: string, affinity: object) => withPod(name, { affinity });

const ANTI = 'spec.template.pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]';
const NODE_REQUIRED =
  'spec.template.pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]';

/** A node affinity with one required requirement. */
const requireNode = (requirement: object) => ({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [requirement] }],
    },
  },
});

/** A pod anti-affinity with one required term. */
const avoidPods = (term: object) => ({
  podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] },
});

export const POD_TEMPLATE_CASES: Case[] = [
  // --- labels, annotations, node selector ------------------------------------------------------
  {
    name: 'a pod label key with a space',
    definition: C,
    object: withPod('p-labelkey', { metadata: { labels: { 'team name': 'data' } } }),
    rejected: { path: 'spec.template.pod.metadata.labels', message: 'every key must be a label key' },
  },
  {
    name: 'a pod label key with an upper-case prefix',
    definition: C,
    object: withPod('p-labelprefix', { metadata: { labels: { 'Example.com/team': 'data' } } }),
    rejected: { path: 'spec.template.pod.metadata.labels', message: 'every key must be a label key' },
  },
  {
    name: 'a pod label key of 64 characters',
    definition: C,
    object: withPod('p-labellong', { metadata: { labels: { ['k'.repeat(64)]: 'data' } } }),
    rejected: { path: 'spec.template.pod.metadata.labels', message: 'every key must be a label key' },
  },
  {
    name: 'a pod label key whose prefix is longer than 253 characters',
    definition: C,
    object: withPod('p-labelprefixlong', {
      metadata: {
        labels: { [`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}/x`]: 'y' },
      },
    }),
    rejected: { path: 'spec.template.pod.metadata.labels', message: 'every key must be a label key' },
  },
  {
    name: 'pod labels with prefixed keys and an empty value',
    definition: C,
    object: withPod('p-labelsok', {
      metadata: { labels: { 'example.com/team': 'data', 'app.kubernetes.io/part-of': '', Tier_1: 'A.b-c' } },
    }),
  },
  {
    name: 'a pod label value that starts with a dash',
    definition: C,
    object: withPod('p-labelvalue', { metadata: { labels: { team: '-data' } } }),
    rejected: { path: 'spec.template.pod.metadata.labels[team]', message: 'a label value is' },
  },
  {
    name: 'a pod annotation key with two slashes',
    definition: C,
    object: withPod('p-annotationkey', { metadata: { annotations: { 'example.com/a/b': 'x' } } }),
    rejected: {
      path: 'spec.template.pod.metadata.annotations',
      message: 'every key must be an annotation key',
    },
  },
  {
    name: 'a pod annotation key with an upper-case prefix (case does not matter in annotations)',
    definition: C,
    object: withPod('p-annotationcase', { metadata: { annotations: { 'Example.com/Owner': 'x' } } }),
  },
  {
    name: 'pod annotations of more than 256 KiB',
    definition: C,
    object: withPod('p-annotationsize', {
      metadata: { annotations: { a: 'x'.repeat(140 * 1024), b: 'y'.repeat(120 * 1024) } },
    }),
    rejected: { path: 'spec.template.pod.metadata.annotations', message: 'at most 256 KiB' },
  },
  {
    name: 'a pod annotation under 256 Ki characters but over 256 KiB in UTF-8',
    definition: C,
    object: withPod('p-annotationbytes', { metadata: { annotations: { note: 'é'.repeat(140 * 1024) } } }),
    rejected: { path: 'spec.template.pod.metadata.annotations', message: 'at most 256 KiB' },
  },
  {
    name: 'a node selector key with a space',
    definition: C,
    object: withPod('p-nodeselector', { nodeSelector: { 'disk type': 'ssd' } }),
    rejected: { path: 'spec.template.pod.nodeSelector', message: 'every key must be a label key' },
  },
  {
    name: 'a priority class that is not a resource name',
    definition: C,
    object: withPod('p-priority', { priorityClassName: 'High_Priority' }),
    rejected: { path: 'spec.template.pod.priorityClassName' },
  },

  // --- tolerations -----------------------------------------------------------------------------
  {
    name: 'a toleration with operator Exists and a value',
    definition: C,
    object: withPod('p-exists', { tolerations: [{ key: 'dedicated', operator: 'Exists', value: 'kafka' }] }),
    rejected: {
      path: 'spec.template.pod.tolerations[0].value',
      message: 'value must be empty with operator Exists',
    },
  },
  {
    name: 'a toleration without a key that is not Exists',
    definition: C,
    object: withPod('p-nokey', { tolerations: [{ operator: 'Equal', value: 'kafka' }] }),
    rejected: { path: 'spec.template.pod.tolerations[0].operator', message: 'operator must be Exists' },
  },
  {
    name: 'tolerationSeconds for a NoSchedule taint',
    definition: C,
    object: withPod('p-seconds', {
      tolerations: [{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 }],
    }),
    rejected: { path: 'spec.template.pod.tolerations[0].effect', message: 'effect must be NoExecute' },
  },
  {
    name: 'a toleration key that is not a label key',
    definition: C,
    object: withPod('p-tolkey', { tolerations: [{ key: 'dedicated to', operator: 'Exists' }] }),
    rejected: { path: 'spec.template.pod.tolerations[0].key', message: 'must be a label key' },
  },

  // --- affinity --------------------------------------------------------------------------------
  {
    name: 'a misspelt affinity field',
    definition: C,
    object: withAffinity('p-typo', { nodeAfinity: {} }),
    rejected: { path: 'spec.template.pod.affinity.nodeAfinity' },
  },
  {
    name: 'a pod anti-affinity term with an empty topologyKey',
    definition: C,
    object: withAffinity('p-topology', avoidPods({ topologyKey: '' })),
    rejected: { path: `${ANTI}.topologyKey` },
  },
  {
    name: 'a pod anti-affinity term without a topologyKey',
    definition: C,
    object: withAffinity('p-notopology', avoidPods({ labelSelector: { matchLabels: { app: 'x' } } })),
    rejected: { path: `${ANTI}.topologyKey` },
  },
  {
    name: 'a label selector with an unknown operator',
    definition: C,
    object: withAffinity(
      'p-operator',
      avoidPods({
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] },
      }),
    ),
    rejected: { path: `${ANTI}.labelSelector.matchExpressions[0].operator` },
  },
  {
    name: 'a label selector In without values',
    definition: C,
    object: withAffinity(
      'p-novalues',
      avoidPods({
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] },
      }),
    ),
    rejected: {
      path: `${ANTI}.labelSelector.matchExpressions[0].values`,
      message: 'operators In and NotIn need at least one value',
    },
  },
  {
    name: 'a label selector with a key that is not a label key',
    definition: C,
    object: withAffinity(
      'p-selectorkey',
      avoidPods({ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'a b': 'x' } } }),
    ),
    rejected: { path: `${ANTI}.labelSelector.matchLabels`, message: 'every key must be a label key' },
  },
  {
    name: 'matchLabelKeys without a labelSelector',
    definition: C,
    object: withAffinity(
      'p-matchlabelkeys',
      avoidPods({ topologyKey: 'kubernetes.io/hostname', matchLabelKeys: ['controller-revision-hash'] }),
    ),
    rejected: { path: `${ANTI}.labelSelector`, message: 'need a labelSelector' },
  },
  {
    name: 'a preferred pod affinity of weight 0',
    definition: C,
    object: withAffinity('p-weight', {
      podAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 0, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } },
        ],
      },
    }),
    rejected: {
      path: 'spec.template.pod.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight',
    },
  },
  {
    name: 'a required node affinity without terms',
    definition: C,
    object: withAffinity('p-noterms', {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
    }),
    rejected: {
      path: 'spec.template.pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms',
    },
  },
  {
    name: 'a node requirement Exists with values',
    definition: C,
    object: withAffinity('p-existsvalues', requireNode({ key: 'disk', operator: 'Exists', values: ['ssd'] })),
    rejected: {
      path: `${NODE_REQUIRED}.matchExpressions[0].values`,
      message: 'operators Exists and DoesNotExist take no values',
    },
  },
  {
    name: 'a node requirement Gt that is not a number',
    definition: C,
    object: withAffinity('p-gt', requireNode({ key: 'cpu-generation', operator: 'Gt', values: ['ten'] })),
    rejected: {
      path: `${NODE_REQUIRED}.matchExpressions[0].values`,
      message: 'operators Gt and Lt take exactly one value, a whole number',
    },
  },
  {
    name: 'a required node requirement with a value that is not a label value',
    definition: C,
    object: withAffinity('p-nodevalue', requireNode({ key: 'disk', operator: 'In', values: ['fast ssd'] })),
    rejected: { path: `${NODE_REQUIRED}.matchExpressions[0].values[0]` },
  },
  {
    name: 'a node field selector on a field other than the name',
    definition: C,
    object: withAffinity('p-matchfields', {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchFields: [{ key: 'spec.unschedulable', operator: 'In', values: ['x'] }] },
          ],
        },
      },
    }),
    rejected: { path: `${NODE_REQUIRED}.matchFields[0].key` },
  },
];
