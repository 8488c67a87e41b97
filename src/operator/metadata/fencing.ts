/**
 * Which brokers Kubernetes says are gone, from pod and node events: pure functions, so that the
 * rules are tested without an API server.
 *
 * A broker is fenced when its pod starts terminating or disappears, or when the node it runs on
 * stops being Ready. A StatefulSet makes a pod's replacement only after the old pod object is gone,
 * so when these fire, the broker registered under that id is still the old pod's.
 */
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import { LABEL_CLUSTER, POD_INDEX_LABEL } from '../reconcilers/cluster/names.ts';

export interface FenceOrder {
  /** The Cluster, `namespace/name`. */
  readonly cluster: string;
  readonly nodeId: number;
  readonly reason: string;
}

/** The broker a pod runs: its Cluster and node id, or undefined for any other pod. */
export function brokerOf(pod: Pod): { cluster: string; nodeId: number } | undefined {
  const labels = pod.metadata?.labels ?? {};
  const cluster = labels[LABEL_CLUSTER];
  const index = labels[POD_INDEX_LABEL];
  if (!cluster || index === undefined || !/^\d+$/.test(index) || !pod.metadata?.namespace) return undefined;
  return { cluster: `${pod.metadata.namespace}/${cluster}`, nodeId: Number(index) };
}

/** A pod's update (or deletion, `deleted`): fence its broker when it begins to terminate or is gone. */
export function podFencing(old: Pod | undefined, pod: Pod, deleted: boolean): FenceOrder | undefined {
  const broker = brokerOf(pod);
  if (!broker) return undefined;
  const name = pod.metadata?.name ?? '?';
  if (deleted) return { ...broker, reason: `pod ${name} deleted` };
  if (pod.metadata?.deletionTimestamp && !old?.metadata?.deletionTimestamp) {
    return { ...broker, reason: `pod ${name} is terminating` };
  }
  return undefined;
}

export function isNodeReady(node: Node | undefined): boolean {
  return node?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** A node's update (or deletion): every broker on it, when it stops being Ready. */
export function nodeFencing(
  old: Node | undefined,
  node: Node,
  deleted: boolean,
  pods: readonly Pod[],
): FenceOrder[] {
  const name = node.metadata?.name;
  if (!name) return [];
  const lost = deleted || (isNodeReady(old) && !isNodeReady(node));
  if (!lost) return [];
  const why = deleted ? `node ${name} deleted` : `node ${name} is not Ready`;
  return pods
    .filter((p) => p.spec?.nodeName === name)
    .flatMap((p) => {
      const broker = brokerOf(p);
      return broker ? [{ ...broker, reason: `${why} (pod ${p.metadata?.name})` }] : [];
    });
}
