/** Which brokers pod and node events fence (src/operator/metadata/fencing.ts). */
import { describe, expect, it } from '@jest/globals';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { brokerOf, nodeFencing, podFencing } from '../../../../src/operator/metadata/fencing.ts';
import { REBALANCE_DEFAULTS } from '../../../../src/controller/leader-rebalance.ts';
import { controllerSettings } from '../../../../src/operator/metadata/settings.ts';
import type { Cluster } from '../../../../src/operator/api/index.ts';

function brokerPod(index: number, node = `node-${index}`, extra: Partial<Pod['metadata']> = {}): Pod {
  return {
    metadata: {
      name: `orders-broker-${index}`,
      namespace: 'shop',
      labels: { 'tributary.dev/cluster': 'orders', 'apps.kubernetes.io/pod-index': String(index) },
      ...extra,
    },
    spec: { nodeName: node, containers: [] },
  };
}

const node = (name: string, ready: 'True' | 'False' | 'Unknown'): Node => ({
  metadata: { name },
  status: { conditions: [{ type: 'Ready', status: ready }] },
});

describe('fencing from Kubernetes', () => {
  it('knows a broker pod by its cluster label and pod index, and nothing else', () => {
    expect(brokerOf(brokerPod(2))).toEqual({ cluster: 'shop/orders', nodeId: 2 });
    expect(
      brokerOf({ metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } } }),
    ).toBeUndefined();
    const noIndex = brokerPod(1);
    delete noIndex.metadata!.labels!['apps.kubernetes.io/pod-index'];
    expect(brokerOf(noIndex)).toBeUndefined();
  });

  it('fences a broker when its pod starts terminating, once, and when it is deleted', () => {
    const pod = brokerPod(1);
    const terminating = brokerPod(1, 'node-1', { deletionTimestamp: '2026-12-05T12:00:00Z' });
    expect(podFencing(pod, terminating, false)).toEqual({
      cluster: 'shop/orders',
      nodeId: 1,
      reason: 'pod orders-broker-1 is terminating',
    });
    expect(podFencing(terminating, terminating, false)).toBeUndefined();
    expect(podFencing(undefined, pod, true)?.reason).toBe('pod orders-broker-1 deleted');
    expect(podFencing(pod, pod, false)).toBeUndefined();
  });

  it('fences the brokers of a node that stops being Ready, not of one that was never Ready', () => {
    const pods = [brokerPod(0, 'a'), brokerPod(1, 'b'), brokerPod(2, 'b')];
    expect(nodeFencing(node('b', 'True'), node('b', 'Unknown'), false, pods).map((o) => o.nodeId)).toEqual([
      1, 2,
    ]);
    expect(nodeFencing(node('b', 'False'), node('b', 'Unknown'), false, pods)).toEqual([]);
    expect(nodeFencing(undefined, node('b', 'False'), false, pods)).toEqual([]);
    expect(nodeFencing(node('a', 'True'), node('a', 'True'), false, pods)).toEqual([]);
    expect(nodeFencing(undefined, node('a', 'True'), true, pods)).toEqual([
      { cluster: 'shop/orders', nodeId: 0, reason: 'node a deleted (pod orders-broker-0)' },
    ]);
  });
});

describe('controller settings from a Cluster', () => {
  const cluster = (replicas: number, config?: Record<string, string>): Cluster => ({
    apiVersion: 'tributary.dev/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { replicas, storage: { size: '1Gi' }, config },
  });

  it('defaults the replication factor to min(3, brokers) and reads Kafka names from spec.config', () => {
    expect(controllerSettings(cluster(1), 1500)).toEqual({
      sessionTimeoutMs: 1500,
      numPartitions: 1,
      defaultReplicationFactor: 1,
      deleteTopicEnable: true,
      ...REBALANCE_DEFAULTS,
    });
    expect(controllerSettings(cluster(5), 1500).defaultReplicationFactor).toBe(3);
    expect(
      controllerSettings(
        cluster(5, {
          'num.partitions': '6',
          'default.replication.factor': '2',
          'delete.topic.enable': 'false',
        }),
        1500,
      ),
    ).toMatchObject({ numPartitions: 6, defaultReplicationFactor: 2, deleteTopicEnable: false });
  });

  it('reads the preferred-leader rebalance from spec.config by Kafka names, seconds to milliseconds', () => {
    expect(
      controllerSettings(
        cluster(3, {
          'auto.leader.rebalance.enable': 'false',
          'leader.imbalance.check.interval.seconds': '30',
          'leader.imbalance.per.broker.percentage': '25',
        }),
        1500,
      ),
    ).toMatchObject({
      autoLeaderRebalanceEnable: false,
      leaderImbalanceCheckIntervalMs: 30_000,
      leaderImbalancePerBrokerPercentage: 25,
    });
    expect(
      controllerSettings(cluster(3, { 'leader.imbalance.check.interval.seconds': '0' }), 1500)
        .leaderImbalanceCheckIntervalMs,
    ).toBe(300_000);
  });
});
