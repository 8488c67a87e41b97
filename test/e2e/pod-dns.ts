/**
 * Cluster DNS for clients in the test process: there is no CoreDNS here, so a pod's DNS name
 * (`<pod>.<service>.<namespace>.svc.<domain>`, what brokers advertise) is resolved to the pod's
 * loopback address by a kafkajs socket factory. The addresses are those of the pods when it was
 * made: make another after pods have been recreated.
 */
import { connect, type Socket } from 'node:net';
import type { ISocketFactory } from 'kafkajs';
import type { ControlPlane } from '../kube/harness.ts';
import { listPods } from './workloads.ts';

/** A socket factory that resolves the names of the pods in `namespace` to their addresses. */
export async function podResolver(cp: ControlPlane, namespace: string): Promise<ISocketFactory> {
  const ips = new Map<string, string>();
  for (const pod of await listPods(cp, namespace, '')) {
    if (pod.status?.podIP) ips.set(pod.metadata?.name ?? '', pod.status.podIP);
  }
  const suffix = `.${namespace}.svc.`;
  return ({ host, port, onConnect }): Socket => {
    const [pod] = host.split('.');
    const ip = host.includes(suffix) ? ips.get(pod) : undefined;
    return connect({ host: ip ?? host, port }, onConnect);
  };
}
