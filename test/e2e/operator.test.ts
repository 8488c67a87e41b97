/**
 * The operator end to end: `tributary operator` as its own process under config/rbac, a `Cluster`
 * applied with kubectl, and the StatefulSet it makes run by the kubelet stand-in as `tributary broker`
 * processes, one per zone, each answering on its own pod address.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import {
  OPERATOR_NAMESPACE,
  clusterObject,
  installCrds,
  installOperatorConfig,
  isLeading,
  kubectl,
  namespace,
  operatorKubeconfig,
  spawnOperator,
  type OperatorProcess,
} from '../kube/operator-helpers.ts';
import { eventually, useE2eCluster } from './cluster.ts';
import { podResolver } from './pod-dns.ts';
import { listPods } from './workloads.ts';

let operator: OperatorProcess | undefined;
const cluster = useE2eCluster(
  {},
  {
    setup: async (cp) => {
      installCrds(cp);
      installOperatorConfig(cp);
      operator = await spawnOperator(cp, 'e2e-operator', await operatorKubeconfig(cp), [
        '--leader-election-namespace',
        OPERATOR_NAMESPACE,
      ]);
    },
    teardown: async () => {
      await operator?.kill('SIGKILL');
    },
  },
);

describe('operator end to end', () => {
  it('turns a 3-broker Cluster into 3 broker processes that answer on their pod addresses', async () => {
    const e2e = cluster();
    const { cp, kubelet } = e2e;
    await eventually(e2e, 'the operator to lead', () => isLeading(operator!), 30_000);
    const ns = await namespace(cp, 'kafka');
    kubectl(cp, ['apply', '-f', '-'], JSON.stringify(clusterObject(ns, 'events', { replicas: 3 })));

    const selector = 'tributary.dev/cluster=events';
    // Started: their startup probes (/healthz on the admin port) have passed. Not necessarily
    // ready: a broker is ready once the metadata controller has taken it in.
    const pods = await eventually(
      e2e,
      '3 started brokers',
      async () => {
        const all = await listPods(cp, ns, selector);
        const started = all.filter((p) => p.status?.containerStatuses?.[0]?.started);
        return started.length === 3 ? started : undefined;
      },
      60_000,
    );
    const zones = pods.map((p) => p.metadata?.labels?.['topology.kubernetes.io/zone']);
    expect(new Set(zones).size).toBe(3);

    for (const pod of pods) {
      const name = pod.metadata!.name!;
      const pid = kubelet.containerPid(ns, name);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(
        expect.arrayContaining(['broker', '--listen', `${pod.status?.podIP}:9092`]),
      );
      const health = await fetch(`http://${pod.status?.podIP}:9644/healthz`);
      expect(health.status).toBe(200);
    }

    // A client reaches each broker on its pod address and has a Metadata request answered. (Which
    // brokers the answer lists depends on the metadata controller having taken them in; the names
    // they advertise resolve to the pods' addresses through podResolver, as cluster DNS would.)
    const socketFactory = await podResolver(cp, ns);
    for (const pod of pods) {
      const kafka = new Kafka({
        clientId: 'e2e',
        brokers: [`${pod.status?.podIP}:9092`],
        logLevel: logLevel.NOTHING,
        socketFactory,
        retry: { retries: 0 },
      });
      const admin = kafka.admin();
      const answered: string[] = [];
      admin.on(admin.events.REQUEST, (e) => answered.push(e.payload.apiName));
      await admin.connect();
      try {
        await admin.fetchTopicMetadata({ topics: [] }).catch(() => undefined);
      } finally {
        await admin.disconnect();
      }
      expect(answered).toEqual(expect.arrayContaining(['ApiVersions', 'Metadata']));
    }
  }, 90_000);
});
