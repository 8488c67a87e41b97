import { describe, expect, it } from '@jest/globals';
import {
  ClusterResource,
  TopicResource,
  formatErrors,
  resourceFor,
  validate,
  withDefaults,
} from '../../../../src/operator/api/index.ts';
import { CASES } from './cases.ts';
import { fullCluster, fullTopic, minimalCluster, minimalTopic } from './fixtures.ts';

describe('operator api > validate', () => {
  describe.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (c.rejected) {
      const { path, message } = c.rejected;
      it(`is rejected, naming ${path}`, () => {
        const errors = validate(c.definition, c.object, c.old);
        expect(errors.map((e) => e.path)).toContain(path);
        if (message) {
          expect(errors.filter((e) => e.path === path).map((e) => e.message)).toContainEqual(
            expect.stringContaining(message),
          );
        }
      });
    } else {
      it('is accepted', () => {
        expect(validate(c.definition, c.object, c.old)).toEqual([]);
      });
    }
  });

  it('runs transition rules only for updates', () => {
    const shrunk = fullTopic();
    shrunk.spec.partitions = 1;
    expect(validate(TopicResource, shrunk)).toEqual([]);
    expect(validate(TopicResource, shrunk, fullTopic())).toEqual([
      { path: 'spec.partitions', message: 'partitions cannot decrease: Kafka cannot remove partitions' },
    ]);
  });

  it('names map keys and list indexes the way Kubernetes does', () => {
    const c = minimalCluster() as unknown as { spec: Record<string, unknown> };
    c.spec.config = { 'log.retention.hours': 72 };
    c.spec.template = { pod: { tolerations: [{ key: 'a' }, { key: 'b', effect: 'Never' }] } };
    expect(validate(ClusterResource, c).map((e) => e.path)).toEqual([
      'spec.config[log.retention.hours]',
      'spec.template.pod.tolerations[1].effect',
    ]);
  });

  it('lists the allowed values of an enum', () => {
    const c = minimalCluster() as unknown as { spec: Record<string, unknown> };
    c.spec.imagePullPolicy = 'Sometimes';
    expect(validate(ClusterResource, c)).toEqual([
      { path: 'spec.imagePullPolicy', message: 'must be one of Always, IfNotPresent, Never' },
    ]);
  });

  it('reports every missing required field, and the wrong kind', () => {
    const errors = validate(TopicResource, {
      apiVersion: 'tributary.dev/v1alpha1',
      kind: 'Topix',
      metadata: {},
      spec: {},
    });
    expect(errors.map((e) => e.path).sort()).toEqual([
      'kind',
      'metadata.name',
      'spec.clusterRef',
      'spec.partitions',
      'spec.replicationFactor',
    ]);
    expect(errors.find((e) => e.path === 'spec.partitions')?.message).toBe('required');
  });

  it('accepts what the API server adds to metadata and a status', () => {
    const t = {
      ...fullTopic(),
      metadata: { name: 'orders', namespace: 'default', uid: 'u', resourceVersion: '7', generation: 2 },
      status: {
        observedGeneration: 2,
        topicName: 'orders.v1_eu-west',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Created',
            message: '',
            lastTransitionTime: '2024-05-01T00:00:00Z',
          },
        ],
        partitions: [
          { partition: 0, leader: 1, leaderEpoch: 3, partitionEpoch: 5, replicas: [1, 2, 0], isr: [1, 2] },
        ],
      },
    };
    expect(validate(TopicResource, t)).toEqual([]);
  });

  it('checks a status as strictly as a spec', () => {
    const t = { ...minimalTopic(), status: { conditions: [{ type: 'Ready', status: 'Yes' }] } };
    expect(validate(TopicResource, t).map((e) => e.path)).toEqual([
      'status.conditions[0].lastTransitionTime',
      'status.conditions[0].reason',
      'status.conditions[0].message',
      'status.conditions[0].status',
    ]);
  });

  it('validates with the defaults the API server would apply', () => {
    const c = minimalCluster();
    c.spec.ports = { admin: 9092 }; // kafka defaults to 9092 too
    expect(validate(ClusterResource, c)).toEqual([
      { path: 'spec.ports', message: 'ports.kafka and ports.admin must differ' },
    ]);
  });

  it('formats errors one per line', () => {
    expect(
      formatErrors([
        { path: 'spec.partitions', message: 'must be >= 1' },
        { path: '', message: 'broken' },
      ]),
    ).toBe('spec.partitions: must be >= 1\nbroken');
  });

  it('finds a definition by kind', () => {
    expect(resourceFor('Topic')).toBe(TopicResource);
    expect(resourceFor('Broker')).toBeUndefined();
  });
});

describe('operator api > defaults', () => {
  it('fills in nested defaults without touching the input', () => {
    const c = minimalCluster();
    const defaulted = withDefaults(ClusterResource, c);
    expect(c.spec).toEqual({ replicas: 1, storage: { size: '1Gi' } });
    expect(defaulted.spec).toEqual({
      replicas: 1,
      storage: { size: '1Gi', deleteClaim: false },
      rack: { topologyKey: 'topology.kubernetes.io/zone' },
      ports: { kafka: 9092, admin: 9644 },
      metrics: { enabled: true },
      discovery: { topics: true, internalTopics: false, consumerGroups: true },
    });
  });

  it('keeps values that are set', () => {
    const c = fullCluster();
    expect(withDefaults(ClusterResource, c)).toEqual(c);
  });
});
