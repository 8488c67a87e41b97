/**
 * Compile-time checks (run by `npm run typecheck`, not jest): the TypeScript types come from the
 * schemas, so a field's type, optionality and enum values are what the CRD says.
 */
import type {
  BrokerRegistration,
  ClusterSpec,
  ConsumerGroupStatus,
  OffsetReset,
  TopicSpec,
} from '../../../../src/operator/api/index.ts';

export const topicSpec: TopicSpec = { clusterRef: { name: 'a' }, partitions: 1, replicationFactor: 1 };

export const partitionsAsText: TopicSpec = {
  clusterRef: { name: 'a' },
  // @ts-expect-error partitions is a number
  partitions: '1',
  replicationFactor: 1,
};

// @ts-expect-error storage is required
export const noStorage: ClusterSpec = { replicas: 1 };

// @ts-expect-error `to` is one of the reset targets
export const resetToYesterday: OffsetReset = { requestId: 'r', to: 'yesterday' };

export const unknownState: BrokerRegistration = {
  id: 0,
  address: 'a:9092',
  incarnation: 'x',
  epoch: 1,
  // @ts-expect-error a broker's state is Active, Fenced or ShuttingDown
  state: 'Up',
};

/** Opaque Kubernetes types are typed from kubernetes-types. */
export const affinity: NonNullable<NonNullable<ClusterSpec['template']>['pod']>['affinity'] = {
  // @ts-expect-error nodeAffinity has no such field
  nodeAffinity: { requiredSometimes: true },
};

export const lag: ConsumerGroupStatus['totalLag'] = 5;
