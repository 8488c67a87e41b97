/**
 * Topic administration through the controller, persisted in a real metadata.json: what a lone
 * broker's controller did before the cluster controller, judged the same way.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { CreateTopicRequest } from '../../../src/controller/api.ts';
import type { ControllerSettings } from '../../../src/controller/controller.ts';
import { LocalFileStore, METADATA_FILE } from '../../../src/controller/store.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { nodeFs } from '../../../src/storage/fs.ts';
import { type Harness, openController, topicRequest } from './harness.ts';

let dir: string;
const opened: Harness[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trib-controller-'));
});
afterEach(async () => {
  for (const h of opened.splice(0)) await h.controller.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A controller with broker 0 registered and caught up, keeping its state in `dir`. */
async function open(settings: Partial<ControllerSettings> = {}): Promise<Harness> {
  const h = await openController({ store: new LocalFileStore({ dir, fs: nodeFs }), settings });
  opened.push(h);
  await h.join(0);
  return h;
}

function topic(name: string, o: Partial<CreateTopicRequest> = {}): CreateTopicRequest {
  return topicRequest(name, o);
}

function persisted(): { version: number; topics: Array<{ name: string; configs: Record<string, string> }> } {
  return JSON.parse(readFileSync(join(dir, METADATA_FILE), 'utf8')) as never;
}

describe('controller > topics > createTopic', () => {
  it('creates a topic with the default partitions and replication factor, led by the live broker', async () => {
    const { controller: c, images } = await open();
    const r = await c.createTopic(topic('orders'), false);
    expect(r.ok).toBe(true);
    const t = c.image().topics.get('orders')!;
    expect(t.partitions).toEqual([
      { partition: 0, leader: 0, leaderEpoch: 0, partitionEpoch: 0, replicas: [0], isr: [0] },
      { partition: 1, leader: 0, leaderEpoch: 0, partitionEpoch: 0, replicas: [0], isr: [0] },
    ]);
    expect(t.topicId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(c.image().topicsById.get(t.topicId)).toBe(t);
    expect(images.at(-1)).toBe(c.image());
    expect(persisted().topics.map((x) => x.name)).toEqual(['orders']);
  });

  it('uses explicit replica assignments, partition by partition', async () => {
    const { controller: c } = await open();
    const r = await c.createTopic(
      topic('t', {
        assignments: [
          { partition: 1, brokerIds: [0] },
          { partition: 0, brokerIds: [0] },
        ],
      }),
      false,
    );
    expect(r.ok && r.topic.partitions.map((p) => p.partition)).toEqual([0, 1]);
  });

  it('stores validated config overrides', async () => {
    const { controller: c } = await open();
    await c.createTopic(
      topic('t', { configs: { 'retention.ms': ' 1000 ', 'cleanup.policy': 'compact' } }),
      false,
    );
    expect(c.image().topics.get('t')!.configs).toEqual({
      'retention.ms': '1000',
      'cleanup.policy': 'compact',
    });
  });

  it('validateOnly answers as if created but changes nothing', async () => {
    const { controller: c, images } = await open();
    const before = c.image();
    const published = images.length;
    const r = await c.createTopic(topic('t', { numPartitions: 3 }), true);
    expect(r.ok && r.topic.partitions).toHaveLength(3);
    expect(c.image()).toBe(before);
    expect(images).toHaveLength(published);
    expect(persisted().topics).toEqual([]);
  });

  it.each([
    ['an existing name', 'dup', ErrorCode.TOPIC_ALREADY_EXISTS, /already exists/],
    ['an illegal name', 'a/b', ErrorCode.INVALID_TOPIC_EXCEPTION, /illegal/],
    ['a name colliding on . versus _', 'dup.x', ErrorCode.INVALID_TOPIC_EXCEPTION, /collides/],
    ['an empty name', '', ErrorCode.INVALID_TOPIC_EXCEPTION, /empty/],
  ])('refuses %s', async (_what, name, code, message) => {
    const { controller: c } = await open();
    await c.createTopic(topic('dup'), false);
    await c.createTopic(topic('dup_x'), false);
    const r = await c.createTopic(topic(name), false);
    expect(r).toMatchObject({ ok: false, errorCode: code });
    expect(!r.ok && r.errorMessage).toMatch(message);
  });

  it.each([
    ['zero partitions', { numPartitions: 0 }, ErrorCode.INVALID_PARTITIONS],
    ['partitions below -1', { numPartitions: -2 }, ErrorCode.INVALID_PARTITIONS],
    ['more than 10,000 partitions', { numPartitions: 10_001 }, ErrorCode.POLICY_VIOLATION],
    ['replication factor 0', { replicationFactor: 0 }, ErrorCode.INVALID_REPLICATION_FACTOR],
    ['more replicas than brokers', { replicationFactor: 3 }, ErrorCode.INVALID_REPLICATION_FACTOR],
    [
      'assignments with a partition count',
      { numPartitions: 1, assignments: [{ partition: 0, brokerIds: [0] }] },
      ErrorCode.INVALID_REQUEST,
    ],
    [
      'assignments that skip a partition',
      { assignments: [{ partition: 1, brokerIds: [0] }] },
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    ],
    [
      'an assignment to an unknown broker',
      { assignments: [{ partition: 0, brokerIds: [7] }] },
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    ],
    [
      'a broker twice in one assignment',
      { assignments: [{ partition: 0, brokerIds: [0, 0] }] },
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
    ],
    ['an unknown config', { configs: { 'no.such.config': '1' } }, ErrorCode.INVALID_CONFIG],
    ['a config Tributary does not apply', { configs: { preallocate: 'true' } }, ErrorCode.INVALID_CONFIG],
    ['a bad config value', { configs: { 'retention.ms': 'soon' } }, ErrorCode.INVALID_CONFIG],
    ['a null config value', { configs: { 'retention.ms': null } }, ErrorCode.INVALID_CONFIG],
  ])('refuses %s', async (_what, req, code) => {
    const { controller: c } = await open();
    const r = await c.createTopic(topic('t', req), false);
    expect(r).toMatchObject({ ok: false, errorCode: code });
    expect(c.image().topics.size).toBe(0);
  });

  it('names the broker count when the replication factor cannot be reached', async () => {
    const { controller: c } = await open();
    const r = await c.createTopic(topic('t', { replicationFactor: 3 }), false);
    expect(!r.ok && r.errorMessage).toBe(
      'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered.',
    );
  });

  it('places on live brokers only, but takes explicit assignments naming a fenced one', async () => {
    const h = await open();
    await h.join(1);
    await h.controller.brokerLost(1, h.epochs.get(1)!, 'process exited');
    expect(await h.controller.createTopic(topic('t', { replicationFactor: 2 }), false)).toMatchObject({
      errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
    });
    const r = await h.controller.createTopic(
      topic('u', { assignments: [{ partition: 0, brokerIds: [1, 0] }] }),
      false,
    );
    expect(r.ok && r.topic.partitions[0]).toMatchObject({ leader: 0, replicas: [1, 0], isr: [0] });
    const none = await h.controller.createTopic(
      topic('v', { assignments: [{ partition: 0, brokerIds: [1] }] }),
      false,
    );
    expect(none).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_REPLICATION_FACTOR });
  });

  it('lets only one of two concurrent creations of a name succeed', async () => {
    const { controller: c } = await open();
    const results = await Promise.all([c.createTopic(topic('t'), false), c.createTopic(topic('t'), false)]);
    expect(results.map((r) => r.ok).sort()).toEqual([false, true]);
  });
});

describe('controller > topics > deleteTopic', () => {
  it('deletes by name and by id', async () => {
    const { controller: c } = await open();
    await c.createTopic(topic('a'), false);
    const b = await c.createTopic(topic('b'), false);
    expect((await c.deleteTopic({ name: 'a' })).ok).toBe(true);
    expect((await c.deleteTopic({ topicId: b.ok ? b.topic.topicId : '' })).ok).toBe(true);
    expect(c.image().topics.size).toBe(0);
    expect(c.image().topicsById.size).toBe(0);
    expect(persisted().topics).toEqual([]);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown name and UNKNOWN_TOPIC_ID for an unknown id', async () => {
    const { controller: c } = await open();
    expect(await c.deleteTopic({ name: 'nope' })).toMatchObject({
      ok: false,
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
    expect(await c.deleteTopic({ topicId: 'AAAAAAAAAAAAAAAAAAAAAQ' })).toMatchObject({
      ok: false,
      errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
    });
  });

  it('refuses when delete.topic.enable is false', async () => {
    const { controller: c } = await open({ numPartitions: 1, deleteTopicEnable: false });
    await c.createTopic(topic('a'), false);
    expect(await c.deleteTopic({ name: 'a' })).toMatchObject({
      ok: false,
      errorCode: ErrorCode.TOPIC_DELETION_DISABLED,
    });
    expect(c.image().topics.has('a')).toBe(true);
  });

  it('refuses to delete an internal topic', async () => {
    const { controller: c } = await open();
    await c.createTopic(topic('__consumer_offsets', { internal: true }), false);
    expect(await c.deleteTopic({ name: '__consumer_offsets' })).toMatchObject({
      ok: false,
      errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
    });
  });
});

describe('controller > topics > createPartitions', () => {
  it('adds partitions after the existing ones', async () => {
    const { controller: c } = await open();
    await c.createTopic(topic('t', { numPartitions: 1 }), false);
    const r = await c.createPartitions('t', 3, null, false);
    expect(r.ok).toBe(true);
    expect(
      c
        .image()
        .topics.get('t')!
        .partitions.map((p) => [p.partition, p.leader, p.partitionEpoch]),
    ).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
    ]);
  });

  it('takes explicit assignments for the new partitions', async () => {
    const { controller: c } = await open();
    await c.createTopic(topic('t', { numPartitions: 1 }), false);
    expect((await c.createPartitions('t', 2, [[0]], false)).ok).toBe(true);
  });

  it.each([
    ['fewer partitions', 1, null, ErrorCode.INVALID_PARTITIONS, /higher than the requested 1/],
    ['the same count', 2, null, ErrorCode.INVALID_PARTITIONS, /already has 2 partitions/],
    ['too few assignments', 4, [[0]], ErrorCode.INVALID_REPLICA_ASSIGNMENT, /by 2 but 1 assignments/],
    ['an unknown broker', 3, [[5]], ErrorCode.INVALID_REPLICA_ASSIGNMENT, /Unknown broker/],
    ['a different replication factor', 3, [[0, 0]], ErrorCode.INVALID_REPLICA_ASSIGNMENT, /same number/],
    ['more than 10,000 new partitions', 10_003, null, ErrorCode.POLICY_VIOLATION, /Excessively large/],
  ])('refuses %s', async (_what, count, assignments, code, message) => {
    const { controller: c } = await open();
    await c.createTopic(topic('t', { numPartitions: 2 }), false);
    const r = await c.createPartitions('t', count, assignments, false);
    expect(r).toMatchObject({ ok: false, errorCode: code });
    expect(!r.ok && r.errorMessage).toMatch(message);
    expect(c.image().topics.get('t')!.partitions).toHaveLength(2);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic', async () => {
    const { controller: c } = await open();
    expect(await c.createPartitions('nope', 3, null, false)).toMatchObject({
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
  });

  it('validateOnly changes nothing', async () => {
    const { controller: c } = await open();
    await c.createTopic(topic('t', { numPartitions: 1 }), false);
    const r = await c.createPartitions('t', 5, null, true);
    expect(r.ok && r.topic.partitions).toHaveLength(5);
    expect(c.image().topics.get('t')!.partitions).toHaveLength(1);
  });
});

describe('controller > topics > alterTopicConfigs', () => {
  async function withTopic(configs: Record<string, string> = {}): Promise<Harness> {
    const h = await open();
    await h.controller.createTopic(topic('t', { configs }), false);
    return h;
  }
  const configs = (h: Harness) => h.controller.image().topics.get('t')!.configs;

  it('replace drops every override not given', async () => {
    const h = await withTopic({ 'retention.ms': '1000', 'segment.bytes': '100000' });
    const r = await h.controller.alterTopicConfigs('t', { replace: { 'cleanup.policy': 'compact' } }, false);
    expect(r.ok).toBe(true);
    expect(configs(h)).toEqual({ 'cleanup.policy': 'compact' });
  });

  it('set and delete change only the overrides they name', async () => {
    const h = await withTopic({ 'retention.ms': '1000', 'segment.bytes': '100000' });
    const r = await h.controller.alterTopicConfigs(
      't',
      {
        ops: [
          { op: 'set', name: 'retention.bytes', value: '5000' },
          { op: 'delete', name: 'segment.bytes' },
        ],
      },
      false,
    );
    expect(r.ok).toBe(true);
    expect(configs(h)).toEqual({ 'retention.ms': '1000', 'retention.bytes': '5000' });
    expect(persisted().topics[0].configs).toEqual(configs(h));
  });

  it('deleting an override that is not set, of any name, changes nothing (as in Kafka)', async () => {
    const h = await withTopic({ 'retention.ms': '1000' });
    const r = await h.controller.alterTopicConfigs(
      't',
      {
        ops: [
          { op: 'delete', name: 'segment.bytes' },
          { op: 'delete', name: 'no.such.config' },
        ],
      },
      false,
    );
    expect(r.ok).toBe(true);
    expect(configs(h)).toEqual({ 'retention.ms': '1000' });
  });

  it('append and subtract edit cleanup.policy as a list, starting from its default', async () => {
    const h = await withTopic();
    const alter = (op: 'append' | 'subtract', value: string) =>
      h.controller.alterTopicConfigs('t', { ops: [{ op, name: 'cleanup.policy', value }] }, false);
    await alter('append', 'compact');
    expect(configs(h)['cleanup.policy']).toBe('delete,compact');
    await alter('append', 'delete');
    expect(configs(h)['cleanup.policy']).toBe('delete,compact');
    await alter('subtract', 'delete');
    expect(configs(h)['cleanup.policy']).toBe('compact');
  });

  it('refuses append to a config that is not a list, and a list left empty', async () => {
    const h = await withTopic({ 'cleanup.policy': 'compact' });
    const notList = await h.controller.alterTopicConfigs(
      't',
      { ops: [{ op: 'append', name: 'retention.ms', value: '5' }] },
      false,
    );
    expect(notList).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_CONFIG });
    expect(!notList.ok && notList.errorMessage).toMatch(
      /Can't APPEND to key retention.ms because its type is not LIST/,
    );
    const empty = await h.controller.alterTopicConfigs(
      't',
      { ops: [{ op: 'subtract', name: 'cleanup.policy', value: 'compact' }] },
      false,
    );
    expect(empty).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_CONFIG });
    expect(configs(h)).toEqual({ 'cleanup.policy': 'compact' });
  });

  it('refuses a bad value and changes nothing of the request', async () => {
    const h = await withTopic({ 'retention.ms': '1000' });
    const r = await h.controller.alterTopicConfigs(
      't',
      {
        ops: [
          { op: 'set', name: 'retention.bytes', value: '5' },
          { op: 'set', name: 'segment.bytes', value: 'big' },
        ],
      },
      false,
    );
    expect(r).toMatchObject({ ok: false, errorCode: ErrorCode.INVALID_CONFIG });
    expect(!r.ok && r.errorMessage).toMatch(/segment\.bytes/);
    expect(configs(h)).toEqual({ 'retention.ms': '1000' });
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic', async () => {
    const { controller: c } = await open();
    expect(await c.alterTopicConfigs('nope', { replace: {} }, false)).toMatchObject({
      errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    });
  });

  it('validateOnly changes nothing', async () => {
    const h = await withTopic();
    const r = await h.controller.alterTopicConfigs('t', { replace: { 'retention.ms': '5' } }, true);
    expect(r.ok && r.topic.configs).toEqual({ 'retention.ms': '5' });
    expect(configs(h)).toEqual({});
  });
});

describe('controller > topics > persistence', () => {
  it('a reopened controller has the same cluster, topics, ids and configs', async () => {
    const { controller: c } = await open();
    await c.createTopic(topic('a', { numPartitions: 3, configs: { 'retention.ms': '1000' } }), false);
    await c.createTopic(topic('b'), false);
    await c.deleteTopic({ name: 'b' });
    const first = c.image();
    await c.close();
    const again = await openController({ store: new LocalFileStore({ dir, fs: nodeFs }) });
    opened.push(again);
    const second = again.controller.image();
    expect(second.clusterId).toBe(first.clusterId);
    expect(second.version).toBe(first.version + 1);
    expect(second.controllerEpoch).toBe(first.controllerEpoch + 1);
    expect([...second.topics.values()]).toEqual([...first.topics.values()]);
  });

  it('never hands out a producer id twice, across a reopen', async () => {
    const { controller: c } = await open();
    expect(await c.allocateProducerIds(10)).toBe(0n);
    expect(await c.allocateProducerIds(5)).toBe(10n);
    await c.close();
    const again = await openController({ store: new LocalFileStore({ dir, fs: nodeFs }) });
    opened.push(again);
    expect(await again.controller.allocateProducerIds(1)).toBe(15n);
  });

  it('publishes images with increasing versions, in order', async () => {
    const { controller: c, images } = await open();
    const from = images.length;
    await c.createTopic(topic('a'), false);
    await c.alterTopicConfigs('a', { replace: { 'retention.ms': '5' } }, false);
    await c.deleteTopic({ name: 'a' });
    const versions = images.slice(from).map((i) => i.version);
    expect(versions).toEqual([versions[0], versions[0] + 1, versions[0] + 2]);
  });
});
