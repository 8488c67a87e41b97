/**
 * Broker processes whose controller is the operator, without a kubelet: the test starts
 * `tributary broker` itself (test/helpers/broker-process.ts) with the Cluster's admin token and the
 * operator replicas' controller addresses, and writes the Pod and Node objects a kubelet would, so
 * that deleting a pod or failing a node reaches the operator through its watches as on a real
 * cluster. The e2e tier (test/e2e/) runs brokers from the pods themselves.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { Secret } from 'kubernetes-types/core/v1.js';
import { ADMIN_TOKEN_KEY } from '../../src/operator/reconcilers/cluster/children.ts';
import {
  childLabels,
  clusterNames,
  podName,
  POD_INDEX_LABEL,
} from '../../src/operator/reconcilers/cluster/names.ts';
import { spawnBroker, type BrokerProcess } from '../helpers/broker-process.ts';
import type { ControlPlane } from './harness.ts';
import {
  clusterObject,
  clustersPath,
  eventually,
  must,
  read,
  spawnOperator,
  type OperatorProcess,
} from './operator-helpers.ts';

/** The Cluster's admin token, once the operator has made it. */
export async function adminToken(cp: ControlPlane, ns: string, cluster: string): Promise<string> {
  const path = `/api/v1/namespaces/${ns}/secrets/${clusterNames(cluster).adminSecret}`;
  const secret = await eventually(`the admin token of ${ns}/${cluster}`, async () => {
    const s = await read<Secret>(cp, path);
    return s?.data?.[ADMIN_TOKEN_KEY] ? s : undefined;
  });
  return Buffer.from(secret.data![ADMIN_TOKEN_KEY]!, 'base64').toString('utf8');
}

/** Broker `nodeId` of the Cluster, its controller the operator at `controllerAddresses`. */
export function spawnOperatedBroker(nodeId: number, token: string, controllerAddresses: string[]) {
  return spawnBroker({
    properties: {
      'node.id': String(nodeId),
      'controller.address': controllerAddresses.join(','),
      'broker.heartbeat.interval.ms': '250',
    },
    env: { TRIBUTARY_CONTROLLER_TOKEN: token },
  });
}

export function nodePath(name = ''): string {
  return `/api/v1/nodes${name ? `/${name}` : ''}`;
}

/** A Node object as a kubelet registers it, Ready or not. */
export async function putNode(cp: ControlPlane, name: string, ready: boolean): Promise<void> {
  const existing = await read<Node>(cp, nodePath(name));
  if (!existing) {
    await must(cp, 'POST', nodePath(), { apiVersion: 'v1', kind: 'Node', metadata: { name } });
  }
  const node = (await read<Node>(cp, nodePath(name)))!;
  await must(cp, 'PUT', `${nodePath(name)}/status`, {
    ...node,
    status: {
      conditions: [
        {
          type: 'Ready',
          status: ready ? 'True' : 'Unknown',
          reason: ready ? 'KubeletReady' : 'NodeStatusUnknown',
          lastHeartbeatTime: new Date().toISOString(),
          lastTransitionTime: new Date().toISOString(),
        },
      ],
    },
  });
}

export const podPath = (ns: string, name = ''): string =>
  `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ''}`;

/** Broker `nodeId`'s Pod object, bound to `node`, as the StatefulSet controller and scheduler make it. */
export async function putBrokerPod(
  cp: ControlPlane,
  ns: string,
  cluster: string,
  nodeId: number,
  node: string,
): Promise<void> {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(cluster, nodeId),
      namespace: ns,
      labels: { ...childLabels(cluster), [POD_INDEX_LABEL]: String(nodeId) },
    },
    spec: { nodeName: node, containers: [{ name: 'broker', image: 'tributary' }] },
  };
  await must(cp, 'POST', podPath(ns), pod);
}

/** Removes the pod object at once, as a kubelet does once its containers are gone. */
export async function forgetPod(cp: ControlPlane, ns: string, name: string): Promise<void> {
  await cp.request('DELETE', podPath(ns, name), { gracePeriodSeconds: 0 });
}

export function signal(broker: BrokerProcess, sig: NodeJS.Signals): void {
  process.kill(broker.pid, sig);
}

export interface OperatedCluster {
  readonly token: string;
  readonly operators: OperatorProcess[];
  readonly brokers: BrokerProcess[];
}

/**
 * Two operator replicas (`op-a`, `op-b`, with `operatorArgs`), a 3-broker Cluster `cluster` in `ns`,
 * a Ready Node and a Pod object per broker, and the three broker processes, their controller
 * addresses both replicas'. The CRDs and config/rbac must be installed.
 */
export async function startOperatedCluster(
  cp: ControlPlane,
  o: { ns: string; cluster: string; kubeconfig: string; operatorArgs: string[] },
): Promise<OperatedCluster> {
  const operators: OperatorProcess[] = [];
  for (const name of ['op-a', 'op-b']) {
    const op = await spawnOperator(cp, name, o.kubeconfig, o.operatorArgs);
    operators.push(op);
    await eventually(`${name} ready`, async () => (await op.get('/readyz'))?.status === 200, 60_000);
  }
  await must(cp, 'POST', clustersPath(o.ns), clusterObject(o.ns, o.cluster));
  const token = await adminToken(cp, o.ns, o.cluster);
  for (const id of [0, 1, 2]) {
    await putNode(cp, `node-${id}`, true);
    await putBrokerPod(cp, o.ns, o.cluster, id, `node-${id}`);
  }
  const addresses = operators.map((op) => op.controllerAddress);
  const brokers: BrokerProcess[] = [];
  for (const id of [0, 1, 2]) brokers.push(await spawnOperatedBroker(id, token, addresses));
  return { token, operators, brokers };
}
