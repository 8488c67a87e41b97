/**
 * The end-to-end tier's cluster: the kube tier's control plane (etcd, kube-apiserver,
 * kube-controller-manager with the controllers pods, nodes and volumes need, kube-scheduler) and the
 * kubelet stand-in with three nodes in three zones, one per test file (`useE2eCluster()`).
 * `eventually()` here fails with the tails of the pods' logs, so a test that times out says why.
 */
import { join } from 'node:path';
import { DEFAULT_CONTROLLERS, type ControlPlane, type StartOptions } from '../kube/harness.ts';
import { REPO, eventually as poll } from '../kube/operator-helpers.ts';
import { useControlPlane, type ControlPlaneHooks } from '../kube/use-control-plane.ts';
import { KubeletStandIn, type KubeletOptions } from './kubelet/kubelet.ts';
import type { NodeSpec } from './kubelet/node-agent.ts';

export const E2E_CONTROLLERS = [
  ...DEFAULT_CONTROLLERS,
  'node-lifecycle-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-protection-controller',
  'persistentvolumeclaim-protection-controller',
];

/**
 * A node is NotReady 4 s after its last heartbeat (the default is 50 s), checked every second; the
 * stand-in renews each Lease every second.
 */
export const NODE_MONITOR_ARGS = [
  '--node-monitor-period=1s',
  '--node-monitor-grace-period=4s',
  '--node-startup-grace-period=4s',
];

export const E2E_NODES: NodeSpec[] = [
  { name: 'e2e-node-a', zone: 'e2e-zone-a' },
  { name: 'e2e-node-b', zone: 'e2e-zone-b' },
  { name: 'e2e-node-c', zone: 'e2e-zone-c' },
];

/** What runs the `tributary` command here: Node 24 on the CLI's source. */
export const TRIBUTARY_EXECUTABLES = { tributary: [process.execPath, join(REPO, 'src/cli/main.ts')] };

export interface E2eCluster {
  cp: ControlPlane;
  kubelet: KubeletStandIn;
}

export interface E2eOptions {
  controlPlane?: StartOptions;
  kubelet?: Partial<Omit<KubeletOptions, 'access' | 'dir'>>;
}

/** Starts the control plane and the stand-in before the file's tests, stops both after them. */
export function useE2eCluster(options: E2eOptions = {}, hooks: ControlPlaneHooks = {}): () => E2eCluster {
  let kubelet: KubeletStandIn | undefined;
  const plane = useControlPlane(
    {
      controllerManager: true,
      controllers: E2E_CONTROLLERS,
      controllerManagerArgs: NODE_MONITOR_ARGS,
      scheduler: true,
      ...options.controlPlane,
    },
    {
      setup: async (cp) => {
        kubelet = await KubeletStandIn.start({
          access: cp,
          dir: join(cp.dir, 'kubelet'),
          nodes: E2E_NODES,
          executables: TRIBUTARY_EXECUTABLES,
          // Production probe periods (5-10 s) would make every wait here that long.
          maxProbePeriodMs: 500,
          ...options.kubelet,
        });
        await hooks.setup?.(cp);
      },
      teardown: async () => {
        try {
          await hooks.teardown?.();
        } finally {
          await kubelet?.stop();
        }
      },
    },
  );
  return () => {
    const cp = plane();
    if (!kubelet) throw new Error('the kubelet stand-in did not start');
    return { cp, kubelet };
  };
}

/**
 * Polls `check` until it returns a value (see operator-helpers' `eventually`); on a timeout the error
 * carries the tails of the pods' logs in `cluster` (of `pods` only, when given).
 */
export async function eventually<T>(
  cluster: E2eCluster,
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  pods?: { namespace: string; pod: string },
): Promise<T> {
  try {
    return await poll(what, check, timeoutMs);
  } catch (err) {
    if (err instanceof Error) err.message += cluster.kubelet.logTails(30, pods);
    throw err;
  }
}
