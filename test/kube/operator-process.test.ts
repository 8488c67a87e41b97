/**
 * `tributary operator` as processes, as a Deployment runs it: under config/rbac's ServiceAccount
 * (a TokenRequest token, not an admin), two replicas electing one leader on a Lease, the second
 * taking over after the first is killed outright, watches that survive a kube-apiserver restart,
 * and a clean stop on SIGTERM that releases the lease.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { Cluster } from '../../src/operator/api/index.ts';
import {
  OPERATOR_NAMESPACE,
  clusterObject,
  clustersPath,
  eventually,
  installCrds,
  installOperatorConfig,
  isLeading,
  must,
  namespace,
  operatorKubeconfig,
  read,
  spawnOperator,
  type OperatorProcess,
} from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

let kubeconfig = '';
const plane = useControlPlane(
  {},
  {
    setup: async (cp) => {
      installCrds(cp);
      installOperatorConfig(cp);
      kubeconfig = await operatorKubeconfig(cp);
    },
  },
);
const running: OperatorProcess[] = [];

afterEach(async () => {
  for (const op of running.splice(0)) await op.kill('SIGKILL');
}, 30_000);

/** Short timings with the defaults' ratios (15 s / 10 s / 2 s), so a takeover after a kill is quick. */
const LEASE = { duration: 4_000, renew: 3_000, retry: 500 };

/**
 * The Lease config/rbac lets the operator use (its Role names it): every test uses it, one after
 * the other (a killed holder's record expires within the lease duration).
 */
const LEASE_NAME = 'tributary-operator';

async function start(name: string, extra: string[] = []): Promise<OperatorProcess> {
  const op = await spawnOperator(plane(), name, kubeconfig, [
    '--leader-election-namespace',
    OPERATOR_NAMESPACE,
    '--lease-duration',
    `${LEASE.duration}ms`,
    '--renew-deadline',
    `${LEASE.renew}ms`,
    '--retry-period',
    `${LEASE.retry}ms`,
    ...extra,
  ]);
  running.push(op);
  await eventually(`${name} to be ready`, async () => (await op.get('/readyz'))?.status === 200, 60_000);
  return op;
}

const leaseHolder = async (): Promise<string | undefined> =>
  (
    await read<Lease>(
      plane(),
      `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases/${LEASE_NAME}`,
    )
  )?.spec?.holderIdentity;

/** Creates a Cluster and waits until its ConfigMap exists: the operator reconciled it. */
async function reconciled(ns: string, name: string): Promise<void> {
  await must(plane(), 'POST', clustersPath(ns), clusterObject(ns, name));
  await eventually(`${ns}/${name} to be reconciled`, async () => {
    const cluster = await read<Cluster>(plane(), clustersPath(ns, name));
    const cm = await read<ConfigMap>(plane(), `/api/v1/namespaces/${ns}/configmaps/${name}-broker-config`);
    return cm !== undefined && cluster?.status?.observedGeneration === 1;
  });
}

describe('tributary operator (processes)', () => {
  it('runs under config/rbac, serves its HTTP endpoints, and reconciles without a refusal', async () => {
    const op = await start('op-solo');
    await eventually('op-solo to lead', () => isLeading(op));
    const ns = await namespace(plane(), 'rbac');
    await reconciled(ns, 'solo');

    expect((await op.get('/healthz'))?.status).toBe(200);
    const ready = await op.get('/readyz');
    expect(JSON.parse(ready!.body)).toEqual({ status: 'ready', synced: true, leading: true });
    const metrics = (await op.get('/metrics'))!.body;
    for (const name of [
      'tributary_operator_reconciles_total{kind="Cluster",result="success"}',
      'tributary_operator_reconcile_duration_seconds_bucket',
      'tributary_operator_workqueue_depth{kind="Cluster"}',
      'tributary_operator_workqueue_wait_duration_seconds_bucket',
      'tributary_operator_leader{lease="tributary-system/tributary-operator"} 1',
      'tributary_operator_cached_objects{kind="StatefulSet"} 1',
      'tributary_operator_process_resident_memory_bytes',
    ]) {
      expect(metrics).toContain(name);
    }
    expect(op.logs()).not.toMatch(/HTTP 403|forbidden/i);
  }, 90_000);

  it('elects one leader of two, and the other takes over after the leader is killed', async () => {
    const a = await start('op-a');
    const b = await start('op-b');
    const first = await eventually('a leader', async () => {
      const [la, lb] = [await isLeading(a), await isLeading(b)];
      if (la && lb) throw new Error('both processes lead');
      return la ? a : lb ? b : undefined;
    });
    const second = first === a ? b : a;
    expect(await leaseHolder()).toMatch(new RegExp(`^${first.name}_`));
    expect(await isLeading(second)).toBe(false);

    expect((await first.kill('SIGKILL')).signal).toBe('SIGKILL');
    // The lease is not released by a killed process: the other waits it out (duration + a retry).
    await eventually(
      `${second.name} to lead`,
      () => isLeading(second),
      LEASE.duration + LEASE.retry + 10_000,
    );
    expect(await leaseHolder()).toMatch(new RegExp(`^${second.name}_`));

    const ns = await namespace(plane(), 'takeover');
    await reconciled(ns, 'after-takeover');
  }, 120_000);

  it('keeps reconciling after kube-apiserver restarts under it', async () => {
    const op = await start('op-restart');
    await eventually('op-restart to lead', () => isLeading(op));
    const ns = await namespace(plane(), 'restart');
    await reconciled(ns, 'before');

    await plane().restartApiServer({ kill: true });

    await reconciled(ns, 'after');
    const path = `/api/v1/namespaces/${ns}/configmaps/before-broker-config`;
    await must(plane(), 'DELETE', path);
    await eventually(
      'the deleted ConfigMap back',
      async () => (await read<ConfigMap>(plane(), path)) !== undefined,
    );
  }, 120_000);

  it('watches only the namespaces it is given, and without leader election reconciles at once', async () => {
    const [watched, other] = [await namespace(plane(), 'watched'), await namespace(plane(), 'other')];
    const op = await spawnOperator(plane(), 'op-ns', kubeconfig, [
      '--namespace',
      watched,
      '--no-leader-elect',
    ]);
    running.push(op);
    await eventually('op-ns to be ready', async () => (await op.get('/readyz'))?.status === 200, 60_000);
    await must(plane(), 'POST', clustersPath(other), clusterObject(other, 'ignored'));
    await reconciled(watched, 'seen');
    expect(
      await read<ConfigMap>(plane(), `/api/v1/namespaces/${other}/configmaps/ignored-broker-config`),
    ).toBeUndefined();
    expect((await read<Cluster>(plane(), clustersPath(other, 'ignored')))?.status).toBeUndefined();
  }, 90_000);

  it('stops cleanly on SIGTERM and releases the lease', async () => {
    const op = await start('op-term');
    await eventually('op-term to lead', () => isLeading(op));
    expect(await leaseHolder()).toMatch(/^op-term_/);
    expect(await op.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await leaseHolder()).toBe('');
    expect(op.logs()).toMatch(/"msg":"Released the lease"/);
  }, 90_000);
});
