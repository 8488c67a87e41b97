import { describe, expect, it } from '@jest/globals';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import {
  clusterStatus,
  type ObservedChildren,
} from '../../../../../src/operator/reconcilers/cluster/status.ts';
import { storedCluster } from './fixtures.ts';

const T0 = Date.parse('2024-05-01T12:00:00Z');

function sts(s: {
  replicas: number;
  ready: number;
  updated?: number;
  generation?: number;
  observed?: number;
}): StatefulSet {
  return {
    metadata: { generation: s.generation ?? 1 },
    status: {
      observedGeneration: s.observed ?? s.generation ?? 1,
      replicas: s.replicas,
      readyReplicas: s.ready,
      updatedReplicas: s.updated ?? s.replicas,
    },
  };
}

/** Reconciles in turn, each starting from the status the previous one wrote. */
function sequence(generation = 1) {
  let cluster = storedCluster();
  cluster.metadata.generation = generation;
  let now = T0;
  return {
    next(observed: ObservedChildren, changes: { generation?: number; replicas?: number } = {}) {
      if (changes.generation !== undefined) cluster.metadata.generation = changes.generation;
      if (changes.replicas !== undefined) cluster.spec.replicas = changes.replicas;
      now += 60_000;
      const result = clusterStatus(cluster, observed, now);
      cluster = { ...cluster, status: { ...cluster.status, ...result.status } };
      const byType = Object.fromEntries(
        (result.status.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]),
      );
      return { ...result, byType };
    },
  };
}

describe('cluster status', () => {
  it('says what is being created before the StatefulSet exists', () => {
    const r = sequence().next({});
    expect(r.status).toMatchObject({
      observedGeneration: 1,
      replicas: 0,
      readyReplicas: 0,
      bootstrapServers: 'demo-bootstrap.streams.svc:9092',
    });
    expect(r.byType).toEqual({
      Ready: 'False Creating',
      Progressing: 'True Creating',
      Degraded: 'False AsExpected',
    });
    expect(r.status.conditions?.every((c) => c.observedGeneration === 1)).toBe(true);
    expect(r.changed).toBe(true);
  });

  it('waits for the StatefulSet controller, then for the pods, then for the brokers to start', () => {
    const s = sequence();
    expect(
      s.next({ statefulSet: sts({ replicas: 0, ready: 0, generation: 2, observed: 1 }) }).byType.Progressing,
    ).toBe('True Applying');
    expect(s.next({ statefulSet: sts({ replicas: 2, ready: 0 }) }).byType.Progressing).toBe('True Scaling');
    const starting = s.next({ statefulSet: sts({ replicas: 3, ready: 1 }) });
    expect(starting.byType).toEqual({
      Ready: 'False BrokersNotReady',
      Progressing: 'True BrokersStarting',
      Degraded: 'False AsExpected',
    });
    expect(starting.status.conditions?.find((c) => c.type === 'Ready')?.message).toBe('1 of 3 brokers ready');
    expect(starting.events).toEqual([]);
  });

  it('is Ready when every broker is, with an Event', () => {
    const s = sequence();
    s.next({ statefulSet: sts({ replicas: 3, ready: 2 }) });
    const ready = s.next({ statefulSet: sts({ replicas: 3, ready: 3 }) });
    expect(ready.byType).toEqual({
      Ready: 'True AllBrokersReady',
      Progressing: 'False UpToDate',
      Degraded: 'False AsExpected',
    });
    expect(ready.status.readyReplicas).toBe(3);
    expect(ready.events).toEqual([
      { type: 'Normal', reason: 'ClusterReady', note: 'All 3 brokers are ready' },
    ]);
  });

  it('is Degraded when a broker that was ready stops being ready, and stays so until it is back', () => {
    const s = sequence();
    s.next({ statefulSet: sts({ replicas: 3, ready: 3 }) });
    const lost = s.next({ statefulSet: sts({ replicas: 3, ready: 2 }) });
    expect(lost.byType).toEqual({
      Ready: 'False BrokersNotReady',
      Progressing: 'False UpToDate',
      Degraded: 'True BrokersUnavailable',
    });
    expect(lost.events.map((e) => [e.type, e.reason])).toEqual([
      ['Warning', 'ClusterNotReady'],
      ['Warning', 'BrokersUnavailable'],
    ]);
    const still = s.next({ statefulSet: sts({ replicas: 3, ready: 2 }) });
    expect(still.byType.Degraded).toBe('True BrokersUnavailable');
    expect(still.events).toEqual([]);
    expect(s.next({ statefulSet: sts({ replicas: 3, ready: 3 }) }).byType).toEqual({
      Ready: 'True AllBrokersReady',
      Progressing: 'False UpToDate',
      Degraded: 'False AsExpected',
    });
  });

  it('counts new brokers after a scale-up as starting, not as a fault', () => {
    const s = sequence();
    s.next({ statefulSet: sts({ replicas: 3, ready: 3 }) });
    const scaling = s.next(
      { statefulSet: sts({ replicas: 5, ready: 3, generation: 2 }) },
      { generation: 2, replicas: 5 },
    );
    expect(scaling.byType).toEqual({
      Ready: 'False BrokersNotReady',
      Progressing: 'True BrokersStarting',
      Degraded: 'False AsExpected',
    });
    expect(scaling.status.observedGeneration).toBe(2);
  });

  it('says brokers run an older pod template until they are restarted', () => {
    const r = sequence().next({ statefulSet: sts({ replicas: 3, ready: 3, updated: 1 }) });
    expect(r.byType.Progressing).toBe('True RestartPending');
    expect(r.status.conditions?.find((c) => c.type === 'Progressing')?.message).toMatch(/^2 of 3 brokers/);
  });

  it('is Degraded with the reason when applying the children failed', () => {
    const r = sequence().next({
      statefulSet: sts({ replicas: 3, ready: 3 }),
      applyError: 'HTTP 422: bad affinity',
    });
    expect(r.byType.Degraded).toBe('True ApplyFailed');
    expect(r.status.conditions?.find((c) => c.type === 'Degraded')?.message).toBe('HTTP 422: bad affinity');
  });

  it('reports no change, and keeps transition times, when nothing changed', () => {
    const s = sequence();
    const first = s.next({ statefulSet: sts({ replicas: 3, ready: 3 }) });
    const again = s.next({ statefulSet: sts({ replicas: 3, ready: 3 }) });
    expect(again.changed).toBe(false);
    expect(again.status.conditions).toEqual(first.status.conditions);
  });
});
