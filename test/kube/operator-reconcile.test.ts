/**
 * The Cluster reconciler against a real kube-apiserver, run in-process as the operator's
 * ServiceAccount (config/rbac, not an admin): the samples are accepted, a Cluster yields its
 * children with owner references, hand deletions and edits are put back, the admin token is never
 * rotated, a spec change is applied and reported with its observedGeneration, volumes grow.
 */
import { describe, expect, it } from '@jest/globals';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { ConfigMap, PersistentVolumeClaim, Secret, Service } from 'kubernetes-types/core/v1.js';
import type { Event } from 'kubernetes-types/events/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { join } from 'node:path';
import type { Cluster } from '../../src/operator/api/index.ts';
import type { Operator } from '../../src/operator/operator.ts';
import { clusterNames } from '../../src/operator/reconcilers/cluster/names.ts';
import {
  REPO,
  OPERATOR_NAMESPACE,
  clusterObject,
  clustersPath,
  eventually,
  installOperator,
  kubectl,
  must,
  namespace,
  read,
} from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

let operator: Operator | undefined;
const plane = useControlPlane(
  {},
  {
    setup: async (cp) => {
      operator = await installOperator(cp, {
        leaderElection: {
          namespace: OPERATOR_NAMESPACE,
          name: 'tributary-operator',
          leaseDurationMs: 3_000,
          renewDeadlineMs: 2_000,
          retryPeriodMs: 250,
        },
      });
      await operator.start();
      await eventually('the operator to lead', () => operator?.leading);
    },
    teardown: () => operator?.stop(),
  },
);

const core = (ns: string, plural: string, name: string) => `/api/v1/namespaces/${ns}/${plural}/${name}`;
const paths = (ns: string, cluster: string) => {
  const n = clusterNames(cluster);
  return {
    statefulSet: `/apis/apps/v1/namespaces/${ns}/statefulsets/${n.statefulSet}`,
    headless: core(ns, 'services', n.headlessService),
    bootstrap: core(ns, 'services', n.bootstrapService),
    configMap: core(ns, 'configmaps', n.configMap),
    secret: core(ns, 'secrets', n.adminSecret),
    pdb: `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${n.podDisruptionBudget}`,
  };
};

async function createCluster(
  ns: string,
  name: string,
  spec: Partial<Cluster['spec']> = {},
): Promise<Cluster> {
  return (await must(plane(), 'POST', clustersPath(ns), clusterObject(ns, name, spec))) as Cluster;
}

/** Waits until every child exists; returns them. */
async function children(ns: string, cluster: string) {
  const p = paths(ns, cluster);
  return eventually(`the children of ${ns}/${cluster}`, async () => {
    const [statefulSet, headless, bootstrap, configMap, secret, pdb] = await Promise.all([
      read<StatefulSet>(plane(), p.statefulSet),
      read<Service>(plane(), p.headless),
      read<Service>(plane(), p.bootstrap),
      read<ConfigMap>(plane(), p.configMap),
      read<Secret>(plane(), p.secret),
      read<PodDisruptionBudget>(plane(), p.pdb),
    ]);
    if (!statefulSet || !headless || !bootstrap || !configMap || !secret || !pdb) return undefined;
    return { statefulSet, headless, bootstrap, configMap, secret, pdb };
  });
}

const statusOf = async (ns: string, name: string) =>
  (await read<Cluster & { metadata: { generation: number } }>(plane(), clustersPath(ns, name)))!;

const RECONCILER_CONDITIONS = ['Ready', 'Progressing', 'Degraded'];
describe('operator > samples', () => {
  it('accepts every example in config/samples, and makes the sample Cluster its children', async () => {
    const ns = await namespace(plane(), 'samples');
    const out = kubectl(plane(), ['apply', '-n', ns, '-f', join(REPO, 'config/samples')]);
    expect(out).toMatch(/cluster\.tributary\.dev\/demo created/);
    expect(out).toMatch(/topic\.tributary\.dev\/orders created/);
    expect(out).toMatch(/consumergroup\.tributary\.dev\/billing created/);
    const c = await children(ns, 'demo');
    expect(c.statefulSet.spec?.replicas).toBe(3);
    expect(c.statefulSet.spec?.template.metadata?.labels?.team).toBe('platform');
  }, 60_000);
});

describe('operator > Cluster children', () => {
  it('creates the children, each owned by the Cluster, and reports status and Events', async () => {
    const ns = await namespace(plane(), 'children');
    const cluster = await createCluster(ns, 'alpha', { storage: { size: '2Gi', deleteClaim: true } });
    const c = await children(ns, 'alpha');
    for (const child of Object.values(c)) {
      expect(child.metadata?.ownerReferences).toEqual([
        {
          apiVersion: 'tributary.dev/v1alpha1',
          kind: 'Cluster',
          name: 'alpha',
          uid: (cluster.metadata as unknown as { uid: string }).uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(child.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('tributary-operator');
    }
    const sts = c.statefulSet.spec!;
    expect(sts.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(sts.podManagementPolicy).toBe('Parallel');
    expect(sts.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Delete', whenScaled: 'Retain' });
    expect(sts.serviceName).toBe('alpha-brokers');
    expect(sts.volumeClaimTemplates?.[0].spec?.resources?.requests).toEqual({ storage: '2Gi' });
    expect(c.headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(c.pdb.spec?.maxUnavailable).toBe(1);
    expect(Buffer.from(c.secret.data!.token, 'base64').length).toBeGreaterThanOrEqual(32);

    const done = await eventually('the status', async () => {
      const s = await statusOf(ns, 'alpha');
      return s.status?.observedGeneration === s.metadata.generation ? s : undefined;
    });
    expect(done.status).toMatchObject({
      replicas: 0,
      readyReplicas: 0,
      bootstrapServers: `alpha-bootstrap.${ns}.svc:9092`,
    });
    // The reconciler's own conditions; the metadata controller's (BrokersRegistered, …) sit beside them.
    const types = done.status?.conditions
      ?.filter((k) => RECONCILER_CONDITIONS.includes(k.type))
      .map((k) => [k.type, k.status, k.observedGeneration]);
    expect(types).toEqual([
      ['Ready', 'False', 1],
      ['Progressing', 'True', 1],
      ['Degraded', 'False', 1],
    ]);

    const events = await eventually('the Created events', async () => {
      const list = await read<{ items: Event[] }>(plane(), `/apis/events.k8s.io/v1/namespaces/${ns}/events`);
      const notes = list?.items.map((e) => e.note) ?? [];
      return notes.includes('Created StatefulSet alpha-broker') ? notes : undefined;
    });
    expect(events).toEqual(
      expect.arrayContaining(['Created ConfigMap alpha-broker-config', 'Created Secret alpha-admin-token']),
    );
  }, 60_000);

  it('puts back children deleted by hand', async () => {
    const ns = await namespace(plane(), 'deleted');
    await createCluster(ns, 'beta');
    const before = await children(ns, 'beta');
    const p = paths(ns, 'beta');
    for (const path of [p.statefulSet, p.configMap, p.bootstrap, p.pdb]) await must(plane(), 'DELETE', path);
    const after = await eventually('the children to come back with new uids', async () => {
      const c = await children(ns, 'beta');
      return c.statefulSet.metadata?.uid !== before.statefulSet.metadata?.uid &&
        c.configMap.metadata?.uid !== before.configMap.metadata?.uid &&
        c.bootstrap.metadata?.uid !== before.bootstrap.metadata?.uid &&
        c.pdb.metadata?.uid !== before.pdb.metadata?.uid
        ? c
        : undefined;
    });
    expect(after.statefulSet.spec?.replicas).toBe(3);
  }, 60_000);

  it('puts back fields edited by hand, keeping fields it does not own', async () => {
    const ns = await namespace(plane(), 'edited');
    await createCluster(ns, 'gamma', { config: { 'log.retention.hours': '72' } });
    const before = await children(ns, 'gamma');
    const p = paths(ns, 'gamma');
    await must(plane(), 'PATCH', p.configMap, {
      data: { 'server.properties': 'log.retention.hours=1\n' },
      metadata: { labels: { mine: 'yes' } },
    });
    await must(plane(), 'PATCH', p.statefulSet, { spec: { replicas: 7 } });
    await eventually('the edits to be undone', async () => {
      const c = await children(ns, 'gamma');
      return (
        c.configMap.data?.['server.properties'] === before.configMap.data?.['server.properties'] &&
        c.statefulSet.spec?.replicas === 3 &&
        c.configMap.metadata?.labels?.mine === 'yes'
      );
    });
  }, 60_000);

  it('never rotates the admin token: not on reconciles, not when its labels are edited', async () => {
    const ns = await namespace(plane(), 'token');
    await createCluster(ns, 'delta');
    const token = (await children(ns, 'delta')).secret.data?.token;
    const p = paths(ns, 'delta');
    await must(plane(), 'PATCH', p.secret, {
      metadata: { labels: { 'app.kubernetes.io/managed-by': 'someone-else', 'tributary.dev/cluster': null } },
    });
    await must(plane(), 'PATCH', clustersPath(ns, 'delta'), { spec: { replicas: 4 } });
    const secret = await eventually('the Secret labelled as the operator’s again', async () => {
      const s = await read<Secret>(plane(), p.secret);
      return s?.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'tributary-operator' &&
        s.metadata.labels['tributary.dev/cluster'] === 'delta'
        ? s
        : undefined;
    });
    expect(secret.data?.token).toBe(token);
    await eventually(
      'the scale to 4',
      async () => (await children(ns, 'delta')).statefulSet.spec?.replicas === 4,
    );
    expect((await read<Secret>(plane(), p.secret))?.data?.token).toBe(token);
  }, 60_000);

  it('applies a spec change and reports the new observedGeneration', async () => {
    const ns = await namespace(plane(), 'spec');
    await createCluster(ns, 'epsilon', { config: { 'num.partitions': '3' } });
    const first = await children(ns, 'epsilon');
    const hash = first.statefulSet.spec?.template.metadata?.annotations?.['tributary.dev/config-hash'];
    await eventually(
      'generation 1 observed',
      async () => (await statusOf(ns, 'epsilon')).status?.observedGeneration === 1,
    );

    await must(plane(), 'PATCH', clustersPath(ns, 'epsilon'), {
      spec: { replicas: 5, config: { 'num.partitions': '6' }, image: 'example.com/tributary:v2' },
    });
    const updated = await eventually('generation 2 observed', async () => {
      const s = await statusOf(ns, 'epsilon');
      return s.metadata.generation === 2 && s.status?.observedGeneration === 2 ? s : undefined;
    });
    const own = updated.status?.conditions?.filter((k) => RECONCILER_CONDITIONS.includes(k.type));
    expect(own?.map((k) => k.observedGeneration)).toEqual([2, 2, 2]);
    const c = await children(ns, 'epsilon');
    expect(c.statefulSet.spec?.replicas).toBe(5);
    expect(c.statefulSet.spec?.template.spec?.containers[0].image).toBe('example.com/tributary:v2');
    expect(c.configMap.data?.['server.properties']).toMatch(/^num\.partitions=6$/m);
    expect(c.statefulSet.spec?.template.metadata?.annotations?.['tributary.dev/config-hash']).not.toBe(hash);
  }, 60_000);

  it('scales with kubectl scale, through the scale subresource', async () => {
    const ns = await namespace(plane(), 'scale');
    await createCluster(ns, 'theta');
    await children(ns, 'theta');
    const scale = JSON.parse(
      kubectl(plane(), ['get', '-n', ns, 'cluster/theta', '--subresource=scale', '-o', 'json']),
    ) as {
      spec: { replicas: number };
      status: { selector?: string };
    };
    expect(scale.spec.replicas).toBe(3);
    await eventually('the selector in the scale status', async () => {
      const s = await statusOf(ns, 'theta');
      return (
        s.status?.selector ===
        'app.kubernetes.io/name=tributary,app.kubernetes.io/component=broker,tributary.dev/cluster=theta'
      );
    });

    kubectl(plane(), ['scale', '-n', ns, 'cluster/theta', '--replicas=5']);
    expect((await statusOf(ns, 'theta')).spec.replicas).toBe(5);
    await eventually(
      'the StatefulSet scaled',
      async () => (await children(ns, 'theta')).statefulSet.spec?.replicas === 5,
    );
  }, 60_000);

  it('reports a spec the API server refuses as Degraded, and recovers when it is fixed', async () => {
    const ns = await namespace(plane(), 'refused');
    // The CRD passes the pod security context through; the API server judges it when the
    // StatefulSet is applied (fsGroupChangePolicy without an fsGroup is refused).
    await createCluster(ns, 'eta', {
      template: { pod: { securityContext: { fsGroupChangePolicy: 'Sometimes' } } },
    });
    const degraded = await eventually('Degraded', async () => {
      const c = await statusOf(ns, 'eta');
      const d = c.status?.conditions?.find((k) => k.type === 'Degraded');
      return d?.status === 'True' ? d : undefined;
    });
    expect(degraded.reason).toBe('ApplyFailed');
    expect(degraded.message).toMatch(/fsGroupChangePolicy/);
    const warned = await eventually('a Warning event', async () => {
      const list = await read<{ items: Event[] }>(plane(), `/apis/events.k8s.io/v1/namespaces/${ns}/events`);
      return list?.items.find((e) => e.reason === 'ApplyFailed');
    });
    expect(warned.type).toBe('Warning');

    await must(plane(), 'PATCH', clustersPath(ns, 'eta'), {
      spec: { template: { pod: { securityContext: null } } },
    });
    await children(ns, 'eta');
    await eventually('Degraded to clear', async () => {
      const c = await statusOf(ns, 'eta');
      return c.status?.conditions?.find((k) => k.type === 'Degraded')?.status === 'False';
    });
  }, 60_000);

  it('grows the brokers’ volumes when storage.size grows', async () => {
    const ns = await namespace(plane(), 'volumes');
    await must(plane(), 'POST', '/apis/storage.k8s.io/v1/storageclasses', {
      metadata: { name: `expandable-${ns}` },
      provisioner: 'example.com/none',
      allowVolumeExpansion: true,
    });
    await createCluster(ns, 'zeta', {
      replicas: 1,
      storage: { size: '1Gi', storageClassName: `expandable-${ns}` },
    });
    const sts = (await children(ns, 'zeta')).statefulSet;
    // No StatefulSet controller runs here: make the claim it would make, bound as a provisioner would.
    const template = sts.spec!.volumeClaimTemplates![0];
    await must(plane(), 'POST', `/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
      metadata: { name: 'data-zeta-broker-0', labels: template.metadata?.labels },
      spec: { ...template.spec, volumeName: 'pv-zeta-0' },
    });
    await must(
      plane(),
      'PATCH',
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/data-zeta-broker-0/status`,
      {
        status: { phase: 'Bound', capacity: { storage: '1Gi' } },
      },
    );

    await must(plane(), 'PATCH', clustersPath(ns, 'zeta'), { spec: { storage: { size: '3Gi' } } });
    await eventually('the claim to ask for 3Gi', async () => {
      const pvc = await read<PersistentVolumeClaim>(
        plane(),
        `/api/v1/namespaces/${ns}/persistentvolumeclaims/data-zeta-broker-0`,
      );
      return pvc?.spec?.resources?.requests?.storage === '3Gi';
    });
    // The StatefulSet's template cannot change; it keeps the size it was created with.
    const after = (await children(ns, 'zeta')).statefulSet;
    expect(after.spec?.volumeClaimTemplates?.[0].spec?.resources?.requests?.storage).toBe('1Gi');
  }, 60_000);
});
