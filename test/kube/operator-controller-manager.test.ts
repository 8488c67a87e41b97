/**
 * The operator with kube-controller-manager's StatefulSet and garbage-collector controllers: a
 * Cluster's StatefulSet makes pods and PVCs named as the brokers expect, each pod carries the
 * labels its broker reads its node id and rack from, the status counts the pods, and deleting the
 * Cluster takes every child with it (the volumes too when `deleteClaim` says so).
 */
import { describe, expect, it } from '@jest/globals';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { PersistentVolumeClaim, Pod } from 'kubernetes-types/core/v1.js';
import type { Cluster } from '../../src/operator/api/index.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { claimName, podName } from '../../src/operator/reconcilers/cluster/names.ts';
import { DEFAULT_CONTROLLERS } from './harness.ts';
import {
  clusterObject,
  clustersPath,
  eventually,
  installOperator,
  must,
  namespace,
  read,
} from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

let operator: Operator | undefined;
const plane = useControlPlane(
  {
    controllerManager: true,
    // Removes the pvc-protection finalizer from claims no pod uses, so deleted volumes go.
    controllers: [...DEFAULT_CONTROLLERS, 'persistentvolumeclaim-protection-controller'],
  },
  {
    setup: async (cp) => {
      operator = await installOperator(cp);
      await operator.start();
    },
    teardown: () => operator?.stop(),
  },
);

const list = async <T>(path: string): Promise<T[]> =>
  ((await read<{ items: T[] }>(plane(), path))?.items ?? []) as T[];
const names = (items: { metadata?: { name?: string } }[]) => items.map((i) => i.metadata?.name).sort();

describe('operator > with the StatefulSet and garbage-collector controllers', () => {
  it('gives a Cluster of 3 brokers 3 pods and 3 PVCs, named as a StatefulSet names them', async () => {
    const ns = await namespace(plane(), 'pods');
    await must(plane(), 'POST', clustersPath(ns), clusterObject(ns, 'demo', { replicas: 3 }));
    const pods = await eventually('3 pods', async () => {
      const items = await list<Pod>(`/api/v1/namespaces/${ns}/pods`);
      return items.length === 3 ? items : undefined;
    });
    expect(names(pods)).toEqual([0, 1, 2].map((i) => podName('demo', i)));
    const claims = await eventually('3 PVCs', async () => {
      const items = await list<PersistentVolumeClaim>(`/api/v1/namespaces/${ns}/persistentvolumeclaims`);
      return items.length === 3 ? items : undefined;
    });
    expect(names(claims)).toEqual([0, 1, 2].map((i) => claimName('demo', i)));
    expect(claims.every((c) => c.metadata?.labels?.['tributary.dev/cluster'] === 'demo')).toBe(true);

    // The broker's node id is the pod's index label; its env reads it through the downward API.
    for (const pod of pods) {
      const ordinal = Number(pod.metadata!.name!.split('-').pop());
      expect(pod.metadata?.labels?.['apps.kubernetes.io/pod-index']).toBe(String(ordinal));
      const env = pod.spec!.containers[0].env!;
      expect(env.find((e) => e.name === 'TRIBUTARY_NODE_ID')?.valueFrom?.fieldRef?.fieldPath).toBe(
        "metadata.labels['apps.kubernetes.io/pod-index']",
      );
    }

    // The status counts the pods the StatefulSet controller made (none is ready: no kubelet here).
    const status = await eventually('the status to count 3 brokers', async () => {
      const c = await read<Cluster>(plane(), clustersPath(ns, 'demo'));
      return c?.status?.replicas === 3 ? c.status : undefined;
    });
    expect(status.readyReplicas).toBe(0);
    expect(status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'BrokersStarting',
    });
  }, 90_000);

  it('labels a pod bound to a node with the node’s zone, which the broker reads as its rack', async () => {
    const ns = await namespace(plane(), 'rack');
    const node = `node-${ns}`;
    await must(plane(), 'POST', '/api/v1/nodes', {
      metadata: { name: node, labels: { 'topology.kubernetes.io/zone': 'zone-b' } },
    });
    await must(plane(), 'POST', clustersPath(ns), clusterObject(ns, 'racked', { replicas: 1 }));
    const pod = podName('racked', 0);
    await eventually(
      'the pod',
      async () => (await read<Pod>(plane(), `/api/v1/namespaces/${ns}/pods/${pod}`)) !== undefined,
    );
    // What the scheduler does: bind the pod to a node (PodTopologyLabels copies the zone label).
    await must(plane(), 'POST', `/api/v1/namespaces/${ns}/pods/${pod}/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: pod },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    });
    const bound = (await read<Pod>(plane(), `/api/v1/namespaces/${ns}/pods/${pod}`))!;
    expect(bound.metadata?.labels?.['topology.kubernetes.io/zone']).toBe('zone-b');
    const rack = bound.spec!.containers[0].env!.find((e) => e.name === 'TRIBUTARY_BROKER_RACK');
    expect(rack?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.labels['topology.kubernetes.io/zone']");
  }, 90_000);

  it('garbage-collects every child, volumes included, when a Cluster with deleteClaim is deleted', async () => {
    const ns = await namespace(plane(), 'gc');
    await must(
      plane(),
      'POST',
      clustersPath(ns),
      clusterObject(ns, 'doomed', { replicas: 2, storage: { size: '1Gi', deleteClaim: true } }),
    );
    await eventually(
      '2 PVCs',
      async () => (await list(`/api/v1/namespaces/${ns}/persistentvolumeclaims`)).length === 2,
    );
    await eventually('the PVCs owned by the StatefulSet', async () => {
      const claims = await list<PersistentVolumeClaim>(`/api/v1/namespaces/${ns}/persistentvolumeclaims`);
      return claims.every((c) => c.metadata?.ownerReferences?.some((r) => r.kind === 'StatefulSet'));
    });

    await must(plane(), 'DELETE', clustersPath(ns, 'doomed'));
    // The garbage collector learns of a kind installed after it started (the Cluster CRD, here)
    // at its next discovery pass, every 30 s: allow for one.
    await eventually(
      'every child gone',
      async () => {
        const left = await Promise.all(
          [
            `/apis/apps/v1/namespaces/${ns}/statefulsets`,
            `/api/v1/namespaces/${ns}/pods`,
            `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
            `/api/v1/namespaces/${ns}/configmaps?labelSelector=tributary.dev/cluster`,
            `/api/v1/namespaces/${ns}/secrets?labelSelector=tributary.dev/cluster`,
            `/api/v1/namespaces/${ns}/services?labelSelector=tributary.dev/cluster`,
            `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`,
          ].map((p) => list(p)),
        );
        return left.every((items) => items.length === 0);
      },
      90_000,
    );
  }, 150_000);

  it('keeps the volumes when a Cluster without deleteClaim is deleted', async () => {
    const ns = await namespace(plane(), 'keep');
    await must(plane(), 'POST', clustersPath(ns), clusterObject(ns, 'kept', { replicas: 2 }));
    await eventually(
      '2 PVCs',
      async () => (await list(`/api/v1/namespaces/${ns}/persistentvolumeclaims`)).length === 2,
    );
    await must(plane(), 'DELETE', clustersPath(ns, 'kept'));
    await eventually(
      'the StatefulSet and pods gone',
      async () => {
        const [sets, pods] = await Promise.all([
          list<StatefulSet>(`/apis/apps/v1/namespaces/${ns}/statefulsets`),
          list<Pod>(`/api/v1/namespaces/${ns}/pods`),
        ]);
        return sets.length === 0 && pods.length === 0;
      },
      60_000,
    );
    const claims = await list<PersistentVolumeClaim>(`/api/v1/namespaces/${ns}/persistentvolumeclaims`);
    expect(names(claims)).toEqual([claimName('kept', 0), claimName('kept', 1)]);
  }, 120_000);
});
