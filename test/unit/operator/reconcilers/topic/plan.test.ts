/** What the Topic reconciler does about one resource (src/operator/reconcilers/topic/plan.ts). */
import { describe, expect, it } from '@jest/globals';
import type { MetadataImage } from '../../../../../src/controller/image.ts';
import { ErrorCode } from '../../../../../src/protocol/error-codes.ts';
import type { TopicObject } from '../../../../../src/operator/reconcilers/topic/names.ts';
import {
  desiredConfigs,
  differingKeys,
  planTopic,
  refused,
  topicOwner,
  WAIT_FOR_CLUSTER_MS,
  WAIT_FOR_CONTROLLER_MS,
  type TopicAction,
  type TopicFacts,
  type TopicPlan,
} from '../../../../../src/operator/reconcilers/topic/plan.ts';
import { discoveredResource, image, topicResource, topicState } from './fixtures.ts';

function plan(topic: TopicObject, o: Partial<Omit<TopicFacts, 'topic'>> = {}): TopicPlan {
  return planTopic({ topic, cluster: { replicas: 3 }, image: image(), ...o });
}

/** `type: status reason` of each condition, in order. */
const conditions = (p: TopicPlan) => p.conditions.map((c) => `${c.type}: ${c.status} ${c.reason}`);
const ready = (p: TopicPlan) => p.conditions.find((c) => c.type === 'Ready')!;

const MANAGED = 'Managed: True ResourceWins';
const DISCOVERED = 'Managed: False ClusterWins';

const orders = (o: Parameters<typeof topicResource>[1] = {}) => topicResource('orders', o);
const withTopic = (...states: Parameters<typeof topicState>[]): { image: MetadataImage } => ({
  image: image(...states.map((args) => topicState(...args))),
});

describe('topic plan > before Kafka is asked', () => {
  it('waits for a missing Cluster, looking again now and then', () => {
    const p = plan(orders(), { cluster: 'missing' });
    expect(conditions(p)).toEqual(['Ready: False ClusterNotFound', MANAGED]);
    expect(ready(p).message).toContain('Cluster demo does not exist in this namespace');
    expect(p.requeueAfterMs).toBe(WAIT_FOR_CLUSTER_MS);
    expect(p.action).toBeUndefined();
  });

  it('does nothing while the Cluster is being deleted', () => {
    const p = plan(orders(), { cluster: 'deleting' });
    expect(conditions(p)).toEqual(['Ready: False ClusterDeleting', MANAGED]);
    expect(ready(p).message).toBe('Cluster demo is being deleted.');
    expect(p.action).toBeUndefined();
    expect(p.requeueAfterMs).toBeUndefined();
  });

  it('waits for the metadata controller, looking again shortly', () => {
    const p = plan(orders(), { image: undefined });
    expect(conditions(p)).toEqual(['Ready: False WaitingForController', MANAGED]);
    expect(p.requeueAfterMs).toBe(WAIT_FOR_CONTROLLER_MS);
    expect(p.action).toBeUndefined();
  });

  it('reports a conflict, naming the resource that owns the topic, and changes nothing', () => {
    const mine = topicResource('orders-copy', { spec: { topicName: 'orders', partitions: 12 } });
    const p = plan(mine, { owner: orders(), ...withTopic(['orders']) });
    expect(conditions(p)).toEqual(['Ready: False TopicConflict', MANAGED]);
    expect(ready(p).message).toContain('Topic resource orders already manages Kafka topic orders');
    expect(p.action).toBeUndefined();
  });

  it('refuses to manage a reserved topic, even one not in the image', () => {
    const p = plan(topicResource('offsets', { spec: { topicName: '__consumer_offsets' } }));
    expect(conditions(p)).toEqual(['Ready: False InternalTopic', MANAGED]);
    expect(ready(p).message).toContain('__consumer_offsets is an internal topic');
    expect(p.action).toBeUndefined();
  });

  it('refuses to manage a topic the image marks internal', () => {
    const p = plan(orders(), withTopic(['orders', { internal: true, partitions: 1 }]));
    expect(conditions(p)).toEqual(['Ready: False InternalTopic', MANAGED]);
    expect(p.action).toBeUndefined();
  });
});

describe('topic plan > a managed resource wins', () => {
  it('creates a missing topic with the spec partitions, replication factor and trimmed configs', () => {
    const p = plan(
      topicResource('orders-topic', {
        spec: {
          topicName: 'Orders',
          partitions: 6,
          replicationFactor: 2,
          config: { 'retention.ms': ' 86400000 ', 'cleanup.policy': 'compact' },
        },
      }),
    );
    expect(p.action).toEqual({
      kind: 'create',
      request: {
        name: 'Orders',
        numPartitions: 6,
        replicationFactor: 2,
        assignments: [],
        configs: { 'retention.ms': '86400000', 'cleanup.policy': 'compact' },
      },
    });
    expect(conditions(p)).toEqual(['Ready: False Creating', MANAGED]);
    expect(ready(p).message).toBe('Creating topic Orders.');
  });

  it('creates a topic with no configs when the spec has none', () => {
    const p = plan(orders());
    expect(p.action).toMatchObject({ kind: 'create', request: { name: 'orders', configs: {} } });
  });

  it('adds partitions up to the spec', () => {
    const p = plan(orders({ spec: { partitions: 6 } }), withTopic(['orders', { partitions: 3 }]));
    expect(p.action).toEqual({ kind: 'grow', partitions: 6 });
    expect(conditions(p)).toEqual(['Ready: False Updating', MANAGED]);
    expect(ready(p).message).toBe('Adding partitions to topic orders: 3 → 6.');
  });

  it('adds partitions before it sets configs (one change at a time)', () => {
    const p = plan(
      orders({ spec: { partitions: 6, config: { 'retention.ms': '1000' } } }),
      withTopic(['orders', { partitions: 3 }]),
    );
    expect(p.action?.kind).toBe('grow');
  });

  it('sets differing configs to exactly the spec, naming the keys it reverts', () => {
    const p = plan(
      orders({ spec: { config: { 'retention.ms': '86400000', 'cleanup.policy': 'compact' } } }),
      withTopic([
        'orders',
        {
          configs: {
            'retention.ms': '1000',
            'cleanup.policy': 'compact',
            'segment.bytes': '1048576',
          },
        },
      ]),
    );
    expect(p.action).toEqual({
      kind: 'configure',
      configs: { 'retention.ms': '86400000', 'cleanup.policy': 'compact' },
      reverted: ['retention.ms', 'segment.bytes'],
    });
    expect(conditions(p)).toEqual(['Ready: False Updating', MANAGED]);
    expect(ready(p).message).toBe('Setting the configs of topic orders.');
  });

  it('removes every override set in Kafka when the spec has no config', () => {
    const p = plan(orders(), withTopic(['orders', { configs: { 'retention.ms': '1000' } }]));
    expect(p.action).toEqual({ kind: 'configure', configs: {}, reverted: ['retention.ms'] });
  });

  it('adds a config the spec has and Kafka does not', () => {
    const p = plan(orders({ spec: { config: { 'retention.ms': '1000' } } }), withTopic(['orders']));
    expect(p.action).toEqual({
      kind: 'configure',
      configs: { 'retention.ms': '1000' },
      reverted: ['retention.ms'],
    });
  });

  it('compares configs after trimming the spec values', () => {
    const p = plan(
      orders({ spec: { config: { 'retention.ms': ' 1000\n' } } }),
      withTopic(['orders', { configs: { 'retention.ms': '1000' } }]),
    );
    expect(p.action).toBeUndefined();
    expect(conditions(p)).toEqual(['Ready: True TopicReady', MANAGED]);
  });

  it('reports more partitions than the spec, which Kafka cannot remove', () => {
    const p = plan(orders({ spec: { partitions: 3 } }), withTopic(['orders', { partitions: 8 }]));
    expect(conditions(p)).toEqual(['Ready: False PartitionsAboveSpec', MANAGED]);
    expect(ready(p).message).toBe(
      'Topic orders has 8 partitions in Kafka and spec.partitions is 3: Kafka cannot remove partitions; set spec.partitions to 8.',
    );
    expect(p.action).toBeUndefined();
  });

  it('reports another replication factor without changing it', () => {
    const p = plan(
      orders({ spec: { replicationFactor: 2 } }),
      withTopic(['orders', { replicationFactor: 3 }]),
    );
    expect(conditions(p)).toEqual(['Ready: False ReplicationFactorMismatch', MANAGED]);
    expect(ready(p).message).toBe(
      "Topic orders has 3 replicas per partition and spec.replicationFactor is 2: the operator does not change a topic's replication factor.",
    );
    expect(p.action).toBeUndefined();
  });

  it('says so when the spec asks for more replicas than the Cluster has brokers', () => {
    const p = plan(orders({ spec: { replicationFactor: 5 } }), {
      cluster: { replicas: 3 },
      ...withTopic(['orders', { replicationFactor: 3 }]),
    });
    expect(ready(p).reason).toBe('ReplicationFactorMismatch');
    expect(ready(p).message).toContain(
      'The Cluster has 3 brokers; a topic cannot have more replicas than brokers.',
    );
  });

  it('reports partitions without a leader', () => {
    const one = plan(orders(), withTopic(['orders', { offline: [1] }]));
    expect(conditions(one)).toEqual(['Ready: False PartitionsOffline', MANAGED]);
    expect(ready(one).message).toBe(
      "Topic orders has no leader for partition 1: its replicas' brokers are down.",
    );
    const two = plan(orders(), withTopic(['orders', { offline: [0, 2] }]));
    expect(ready(two).message).toContain('no leader for partitions 0, 2:');
  });

  it('is ready when the topic matches the spec', () => {
    const p = plan(
      orders({ spec: { partitions: 3, replicationFactor: 3, config: { 'retention.ms': '1000' } } }),
      withTopic(['orders', { configs: { 'retention.ms': '1000' } }]),
    );
    expect(p.action).toBeUndefined();
    expect(p.requeueAfterMs).toBeUndefined();
    expect(conditions(p)).toEqual(['Ready: True TopicReady', MANAGED]);
    expect(ready(p).message).toBe('Topic orders: 3 partitions, 3 replicas each.');
    expect(p.conditions[1]!.message).toContain('config changes made through Kafka are reverted');
  });
});

describe('topic plan > a discovered resource follows the cluster', () => {
  it('mirrors its topic and changes nothing in Kafka, whatever its spec says', () => {
    const r = discoveredResource(topicState('orders'));
    const p = plan(r, withTopic(['orders', { partitions: 6, configs: { 'retention.ms': '1000' } }]));
    expect(p.action).toBeUndefined();
    expect(conditions(p)).toEqual(['Ready: True Discovered', DISCOVERED]);
    expect(ready(p).message).toBe('Mirrors topic orders: 6 partitions, 3 replicas each.');
  });

  it('does not create a topic that is gone', () => {
    const p = plan(discoveredResource(topicState('orders')), withTopic());
    expect(p.action).toBeUndefined();
    expect(conditions(p)).toEqual(['Ready: False TopicNotFound', DISCOVERED]);
    expect(ready(p).message).toContain('Topic orders is no longer in the cluster');
  });

  it('shows a discovered internal topic', () => {
    const state = topicState('__consumer_offsets', { internal: true, partitions: 50 });
    const r = discoveredResource(state, 'consumer-offsets-0a1b2c3d');
    const p = plan(r, { image: image(state) });
    expect(p.action).toBeUndefined();
    expect(conditions(p)).toEqual(['Ready: True Discovered', DISCOVERED]);
  });

  it('still reports a missing Cluster first', () => {
    const p = plan(discoveredResource(topicState('orders')), { cluster: 'missing' });
    expect(conditions(p)).toEqual(['Ready: False ClusterNotFound', DISCOVERED]);
  });
});

describe('topic plan > topicOwner', () => {
  it('is undefined when no resource names the topic', () => {
    expect(topicOwner([])).toBeUndefined();
  });

  it('is a managed resource before a discovered one, even an older one', () => {
    const discovered = topicResource('orders', { discovered: true, created: '2024-01-01T00:00:00Z' });
    const managed = topicResource('orders-managed', {
      spec: { topicName: 'orders' },
      created: '2024-06-01T00:00:00Z',
    });
    expect(topicOwner([discovered, managed])).toBe(managed);
    expect(topicOwner([managed, discovered])).toBe(managed);
  });

  it('is the older of two managed resources', () => {
    const older = topicResource('b-orders', { created: '2024-01-01T00:00:00Z' });
    const newer = topicResource('a-orders', { created: '2024-01-02T00:00:00Z' });
    expect(topicOwner([newer, older])).toBe(older);
  });

  it('is the first by name of resources created at the same time', () => {
    const a = topicResource('a-orders', { created: '2024-01-01T00:00:00Z' });
    const b = topicResource('b-orders', { created: '2024-01-01T00:00:00Z' });
    expect(topicOwner([b, a])).toBe(a);
  });

  it('does not reorder the array it is given', () => {
    const a = topicResource('a-orders');
    const b = topicResource('b-orders');
    const claimants = [b, a];
    topicOwner(claimants);
    expect(claimants).toEqual([b, a]);
  });
});

describe('topic plan > refused', () => {
  const create: TopicAction = {
    kind: 'create',
    request: { name: 'orders', numPartitions: 3, replicationFactor: 5, assignments: [], configs: {} },
  };
  const configure: TopicAction = { kind: 'configure', configs: { 'retention.ms': 'soon' }, reverted: [] };
  const grow: TopicAction = { kind: 'grow', partitions: 6 };

  it('keeps Kafka’s message naming the invalid config key', () => {
    const p = refused(
      configure,
      {
        errorCode: ErrorCode.INVALID_CONFIG,
        errorMessage: 'Invalid value soon for configuration retention.ms',
      },
      3,
    );
    expect(conditions(p)).toEqual(['Ready: False InvalidConfig']);
    expect(ready(p).message).toBe(
      'Kafka refused to set the configs: Invalid value soon for configuration retention.ms Fix that key in spec.config; nothing of this change was applied.',
    );
    expect(p.requeueAfterMs).toBeUndefined();
  });

  it('says how many replicas the Cluster allows', () => {
    const p = refused(
      create,
      {
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        errorMessage: 'Replication factor 5 is larger than 3.',
      },
      3,
    );
    expect(ready(p).reason).toBe('InvalidReplicationFactor');
    expect(ready(p).message).toContain(
      'Kafka refused to create the topic: Replication factor 5 is larger than 3.',
    );
    expect(ready(p).message).toContain('a replicationFactor of at most 3');
    expect(p.requeueAfterMs).toBe(WAIT_FOR_CLUSTER_MS);
  });

  it('names partitions and topic-name refusals', () => {
    const partitions = refused(grow, { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'no' }, 3);
    expect(ready(partitions).reason).toBe('InvalidPartitions');
    expect(ready(partitions).message).toBe('Kafka refused to add partitions: no Change spec.partitions.');
    const name = refused(create, { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: 'bad' }, 3);
    expect(ready(name).reason).toBe('InvalidTopicName');
  });

  it.each([
    ['TOPIC_ALREADY_EXISTS', ErrorCode.TOPIC_ALREADY_EXISTS],
    ['NOT_CONTROLLER', ErrorCode.NOT_CONTROLLER],
    ['UNKNOWN_TOPIC_OR_PARTITION', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
  ])('retries shortly after %s (a race or a new controller)', (_, errorCode) => {
    const p = refused(create, { errorCode, errorMessage: 'try again' }, 3);
    expect(conditions(p)).toEqual(['Ready: False Retrying']);
    expect(ready(p).message).toBe('Kafka refused to create the topic: try again');
    expect(p.requeueAfterMs).toBe(WAIT_FOR_CONTROLLER_MS);
  });

  it('names the error code of any other refusal', () => {
    const known = refused(
      grow,
      { errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: 'denied' },
      3,
    );
    expect(ready(known).reason).toBe('KafkaError');
    expect(ready(known).message).toBe(
      'Kafka refused to add partitions: denied (CLUSTER_AUTHORIZATION_FAILED)',
    );
    expect(known.requeueAfterMs).toBe(WAIT_FOR_CLUSTER_MS);
    const unknown = refused(grow, { errorCode: 9999, errorMessage: 'what' }, 3);
    expect(ready(unknown).message).toBe('Kafka refused to add partitions: what (ERROR_9999)');
  });
});

describe('topic plan > configs', () => {
  it('desiredConfigs is spec.config with values trimmed', () => {
    expect(
      desiredConfigs(
        orders({ spec: { config: { 'retention.ms': ' 1000 ', 'cleanup.policy': 'compact\n' } } }),
      ),
    ).toEqual({ 'retention.ms': '1000', 'cleanup.policy': 'compact' });
  });

  it('desiredConfigs is empty without spec.config', () => {
    expect(desiredConfigs(orders())).toEqual({});
  });

  it('differingKeys names changed, added and removed keys, sorted', () => {
    expect(
      differingKeys(
        { 'segment.ms': '1', 'retention.ms': '1000', 'cleanup.policy': 'delete' },
        { 'retention.ms': '2000', 'cleanup.policy': 'delete', 'max.message.bytes': '1' },
      ),
    ).toEqual(['max.message.bytes', 'retention.ms', 'segment.ms']);
  });

  it('differingKeys is empty for equal sets in any order', () => {
    expect(differingKeys({ a: '1', b: '2' }, { b: '2', a: '1' })).toEqual([]);
    expect(differingKeys({}, {})).toEqual([]);
  });
});
