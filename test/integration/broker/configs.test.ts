import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { AlterConfigsRequest } from '../../../src/protocol/messages/alter-configs-request.ts';
import type { AlterConfigsResponse } from '../../../src/protocol/messages/alter-configs-response.ts';
import { DescribeConfigsRequest } from '../../../src/protocol/messages/describe-configs-request.ts';
import type {
  DescribeConfigsResourceResult,
  DescribeConfigsResponse,
} from '../../../src/protocol/messages/describe-configs-response.ts';
import { IncrementalAlterConfigsRequest } from '../../../src/protocol/messages/incremental-alter-configs-request.ts';
import type { IncrementalAlterConfigsResponse } from '../../../src/protocol/messages/incremental-alter-configs-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { TOPIC_CONFIGS } from '../../../src/broker/topic-config.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';
import { RawClient } from '../../helpers/raw-client.ts';

const TOPIC = 2;
const BROKER = 4;
const BROKER_LOGGER = 8;
const [SET, DELETE, APPEND, SUBTRACT] = [0, 1, 2, 3];

const topicName = () => `cfg-${randomBytes(5).toString('hex')}`;

let tb: TestBroker;
let client: RawClient;

beforeAll(async () => {
  tb = await startTestBroker({ properties: { 'log.retention.hours': '24', 'num.partitions': '2' } });
  client = await RawClient.connect(tb.port);
});
afterAll(async () => {
  client.close();
  await tb.remove();
});

async function createTopic(configs: Record<string, string> = {}): Promise<string> {
  const name = topicName();
  const r = await tb.broker.services.admin.createTopic(
    { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs },
    false,
  );
  if (!r.ok) throw new Error(r.errorMessage);
  return name;
}

const overrides = (name: string) => tb.broker.services.metadata().topics.get(name)!.configs;

function describeConfigs(version: number, o: Partial<DescribeConfigsRequest>) {
  return client.call<DescribeConfigsResponse>(ApiKey.DescribeConfigs, version, {
    ...DescribeConfigsRequest.defaults(),
    ...o,
  });
}

const byName = (configs: DescribeConfigsResourceResult[]) => new Map(configs.map((c) => [c.name, c]));

describe('DescribeConfigs > topics', () => {
  it.each([1, 2, 3, 4])('v%i lists every topic config with its value and source', async (v) => {
    const name = await createTopic({ 'cleanup.policy': 'compact' });
    const res = await describeConfigs(v, {
      resources: [{ resourceType: TOPIC, resourceName: name, configurationKeys: null }],
    });
    const [r] = res.results;
    expect(r).toMatchObject({ errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: name });
    expect(r.configs.map((c) => c.name)).toEqual(TOPIC_CONFIGS.map((c) => c.def.name));
    const c = byName(r.configs);
    expect(c.get('cleanup.policy')).toMatchObject({
      value: 'compact',
      configSource: 1, // DYNAMIC_TOPIC_CONFIG
      readOnly: false,
      isDefault: false,
      isSensitive: false,
      synonyms: [],
    });
    expect(c.get('retention.ms')).toMatchObject({ value: '86400000', configSource: 4 }); // STATIC_BROKER_CONFIG
    expect(c.get('segment.bytes')).toMatchObject({ value: '1073741824', configSource: 5 }); // DEFAULT_CONFIG
    if (v >= 3) {
      expect(c.get('cleanup.policy')!.configType).toBe(7); // LIST
      expect(c.get('segment.bytes')!.configType).toBe(3); // INT
      expect(c.get('retention.ms')!.documentation).toBeNull(); // not asked for
    }
  });

  it('includes synonyms, in precedence order, only when asked', async () => {
    const name = await createTopic({ 'retention.ms': '1000' });
    const res = await describeConfigs(4, {
      resources: [
        { resourceType: TOPIC, resourceName: name, configurationKeys: ['retention.ms', 'flush.ms'] },
      ],
      includeSynonyms: true,
    });
    const c = byName(res.results[0].configs);
    expect([...c.keys()]).toEqual(['flush.ms', 'retention.ms']);
    expect(c.get('retention.ms')!.synonyms).toEqual([
      { name: 'retention.ms', value: '1000', source: 1 },
      { name: 'log.retention.hours', value: '24', source: 4 },
      { name: 'log.retention.hours', value: '168', source: 5 },
    ]);
    expect(c.get('flush.ms')!.synonyms).toEqual([
      { name: 'log.flush.interval.ms', value: '1000', source: 5 },
    ]);
  });

  it('v3+ documents each config when asked', async () => {
    const name = await createTopic();
    const res = await describeConfigs(3, {
      resources: [{ resourceType: TOPIC, resourceName: name, configurationKeys: ['min.insync.replicas'] }],
      includeDocumentation: true,
    });
    expect(res.results[0].configs[0].documentation).toMatch(/NOT_ENOUGH_REPLICAS/);
  });

  it('leaves out keys that are not configs, and answers each resource on its own', async () => {
    const name = await createTopic();
    const res = await describeConfigs(1, {
      resources: [
        { resourceType: TOPIC, resourceName: name, configurationKeys: ['no.such', 'retention.bytes'] },
        { resourceType: TOPIC, resourceName: topicName(), configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'bad/name', configurationKeys: null },
      ],
    });
    expect(res.results[0].configs.map((c) => c.name)).toEqual(['retention.bytes']);
    expect(res.results[1]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, configs: [] });
    expect(res.results[2]).toMatchObject({ errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, configs: [] });
  });
});

describe('DescribeConfigs > broker', () => {
  it.each([1, 4])('v%i lists every broker property for our id, read-only', async (v) => {
    const res = await describeConfigs(v, {
      resources: [{ resourceType: BROKER, resourceName: '0', configurationKeys: null }],
      includeSynonyms: true,
    });
    const [r] = res.results;
    expect(r.errorCode).toBe(0);
    const c = byName(r.configs);
    expect(c.get('num.partitions')).toMatchObject({
      value: '2',
      configSource: 4,
      readOnly: true,
      synonyms: [
        { name: 'num.partitions', value: '2', source: 4 },
        { name: 'num.partitions', value: '1', source: 5 },
      ],
    });
    expect(c.get('log.retention.ms')).toMatchObject({ value: '86400000', configSource: 4 });
    expect(c.get('delete.topic.enable')).toMatchObject({ value: 'true', configSource: 5 });
    expect(r.configs.every((x) => x.readOnly)).toBe(true);
  });

  it('answers the cluster default ("") with no configs, and another id with INVALID_REQUEST', async () => {
    const res = await describeConfigs(2, {
      resources: [
        { resourceType: BROKER, resourceName: '', configurationKeys: null },
        { resourceType: BROKER, resourceName: '1', configurationKeys: null },
        { resourceType: BROKER, resourceName: 'zero', configurationKeys: null },
        { resourceType: BROKER_LOGGER, resourceName: '0', configurationKeys: null },
      ],
    });
    expect(res.results.map((r) => [r.errorCode, r.configs.length])).toEqual([
      [0, 0],
      [ErrorCode.INVALID_REQUEST, 0],
      [ErrorCode.INVALID_REQUEST, 0],
      [ErrorCode.INVALID_REQUEST, 0],
    ]);
    expect(res.results[1].errorMessage).toBe(
      'Unexpected broker id, expected 0 or empty string, but received 1',
    );
  });
});

function alterConfigs(version: number, o: Partial<AlterConfigsRequest>) {
  return client.call<AlterConfigsResponse>(ApiKey.AlterConfigs, version, {
    ...AlterConfigsRequest.defaults(),
    ...o,
  });
}

describe('AlterConfigs', () => {
  it.each([0, 1, 2])('v%i replaces every override of a topic', async (v) => {
    const name = await createTopic({ 'retention.ms': '1000', 'segment.bytes': '100000' });
    const res = await alterConfigs(v, {
      resources: [
        { resourceType: TOPIC, resourceName: name, configs: [{ name: 'cleanup.policy', value: 'compact' }] },
      ],
    });
    expect(res.responses).toEqual([
      { errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: name },
    ]);
    expect(overrides(name)).toEqual({ 'cleanup.policy': 'compact' });
    expect(tb.broker.services.replicas.topicConfig(name).log.cleanupPolicy).toBe('compact');
  });

  it('answers each resource on its own', async () => {
    const ok = await createTopic();
    const bad = await createTopic({ 'retention.ms': '1000' });
    const ok2 = await createTopic();
    const res = await alterConfigs(1, {
      resources: [
        { resourceType: TOPIC, resourceName: ok, configs: [{ name: 'retention.ms', value: '5' }] },
        { resourceType: TOPIC, resourceName: bad, configs: [{ name: 'retention.ms', value: 'x' }] },
        { resourceType: TOPIC, resourceName: topicName(), configs: [] },
        { resourceType: TOPIC, resourceName: ok2, configs: [{ name: 'retention.bytes', value: null }] },
        { resourceType: BROKER, resourceName: '0', configs: [{ name: 'num.partitions', value: '3' }] },
        { resourceType: BROKER_LOGGER, resourceName: '0', configs: [] },
      ],
    });
    expect(res.responses.map((r) => r.errorCode)).toEqual([
      ErrorCode.NONE,
      ErrorCode.INVALID_CONFIG,
      ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    expect(res.responses[1].errorMessage).toMatch(/retention\.ms/);
    expect(res.responses[3].errorMessage).toBe('Null value not supported for : retention.bytes');
    expect(res.responses[4].errorMessage).toMatch(/Cannot update these configs dynamically: num\.partitions/);
    expect(overrides(ok)).toEqual({ 'retention.ms': '5' });
    expect(overrides(bad)).toEqual({ 'retention.ms': '1000' });
  });

  it('refuses a resource given twice, or a key given twice, with INVALID_REQUEST', async () => {
    const name = await createTopic();
    const res = await alterConfigs(2, {
      resources: [
        { resourceType: TOPIC, resourceName: name, configs: [] },
        { resourceType: TOPIC, resourceName: name, configs: [] },
        {
          resourceType: TOPIC,
          resourceName: await createTopic(),
          configs: [
            { name: 'retention.ms', value: '1' },
            { name: 'retention.ms', value: '2' },
          ],
        },
      ],
    });
    expect(res.responses.map((r) => [r.errorCode, r.errorMessage])).toEqual([
      [ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.'],
      [ErrorCode.INVALID_REQUEST, 'Each resource must appear at most once.'],
      [ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys'],
    ]);
  });

  it('validateOnly checks without changing anything', async () => {
    const name = await createTopic({ 'retention.ms': '1000' });
    const res = await alterConfigs(0, {
      resources: [
        { resourceType: TOPIC, resourceName: name, configs: [{ name: 'retention.ms', value: '5' }] },
      ],
      validateOnly: true,
    });
    expect(res.responses[0].errorCode).toBe(0);
    expect(overrides(name)).toEqual({ 'retention.ms': '1000' });
  });

  it('accepts an empty change to our broker, which changes nothing', async () => {
    const res = await alterConfigs(0, {
      resources: [{ resourceType: BROKER, resourceName: '', configs: [] }],
    });
    expect(res.responses[0].errorCode).toBe(0);
  });
});

function incrementalAlter(version: number, o: Partial<IncrementalAlterConfigsRequest>) {
  return client.call<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, version, {
    ...IncrementalAlterConfigsRequest.defaults(),
    ...o,
  });
}

describe('IncrementalAlterConfigs', () => {
  it.each([0, 1])('v%i sets, deletes, appends and subtracts overrides', async (v) => {
    const name = await createTopic({ 'retention.ms': '1000', 'segment.bytes': '100000' });
    const res = await incrementalAlter(v, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: name,
          configs: [
            { name: 'retention.bytes', configOperation: SET, value: '4096' },
            { name: 'segment.bytes', configOperation: DELETE, value: null },
            { name: 'cleanup.policy', configOperation: APPEND, value: 'compact' },
          ],
        },
      ],
    });
    expect(res.responses).toEqual([
      { errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: name },
    ]);
    expect(overrides(name)).toEqual({
      'retention.ms': '1000',
      'retention.bytes': '4096',
      'cleanup.policy': 'delete,compact',
    });
    await incrementalAlter(v, {
      resources: [
        {
          resourceType: TOPIC,
          resourceName: name,
          configs: [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }],
        },
      ],
    });
    expect(overrides(name)['cleanup.policy']).toBe('compact');
    expect(tb.broker.services.replicas.topicConfig(name).log.cleanupPolicy).toBe('compact');
  });

  it('refuses the whole resource when one change is wrong', async () => {
    const name = await createTopic({ 'retention.ms': '1000' });
    const change = (configs: IncrementalAlterConfigsRequest['resources'][number]['configs']) => ({
      resourceType: TOPIC,
      resourceName: name,
      configs,
    });
    const res = await incrementalAlter(1, {
      resources: [
        change([
          { name: 'retention.ms', configOperation: SET, value: '5' },
          { name: 'retention.bytes', configOperation: APPEND, value: '5' },
        ]),
      ],
    });
    expect(res.responses[0]).toMatchObject({
      errorCode: ErrorCode.INVALID_CONFIG,
      errorMessage: "Can't APPEND to key retention.bytes because its type is not LIST.",
    });
    for (const [configs, code] of [
      [[{ name: 'retention.ms', configOperation: 7, value: '5' }], ErrorCode.INVALID_REQUEST],
      [[{ name: 'retention.ms', configOperation: SET, value: null }], ErrorCode.INVALID_REQUEST],
      [[{ name: 'preallocate', configOperation: SET, value: 'true' }], ErrorCode.INVALID_CONFIG],
      [[{ name: 'no.such.config', configOperation: SET, value: '1' }], ErrorCode.INVALID_CONFIG],
    ] as const) {
      const r = await incrementalAlter(1, { resources: [change([...configs])] });
      expect(r.responses[0].errorCode).toBe(code);
    }
    expect(overrides(name)).toEqual({ 'retention.ms': '1000' });
  });

  it('refuses broker and broker-logger changes with INVALID_REQUEST, saying why', async () => {
    const res = await incrementalAlter(0, {
      resources: [
        {
          resourceType: BROKER,
          resourceName: '0',
          configs: [{ name: 'log.retention.ms', configOperation: SET, value: '5' }],
        },
        {
          resourceType: BROKER_LOGGER,
          resourceName: '0',
          configs: [{ name: 'root', configOperation: SET, value: 'DEBUG' }],
        },
      ],
    });
    expect(res.responses.map((r) => r.errorCode)).toEqual([
      ErrorCode.INVALID_REQUEST,
      ErrorCode.INVALID_REQUEST,
    ]);
    expect(res.responses[0].errorMessage).toMatch(/dynamic broker configs are not supported/);
    expect(res.responses[1].errorMessage).toMatch(/log\.level/);
  });

  it('accepts DELETEs of broker configs, which find no dynamic override to remove', async () => {
    // kafka-reassign-partitions --verify and --cancel clear the replication throttles this way.
    const throttles = ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'];
    const res = await incrementalAlter(0, {
      resources: [
        {
          resourceType: BROKER,
          resourceName: '0',
          configs: throttles.map((name) => ({ name, configOperation: DELETE, value: null })),
        },
      ],
    });
    expect(res.responses.map((r) => r.errorCode)).toEqual([ErrorCode.NONE]);
  });
});

describe('configs > kafkajs end to end', () => {
  it('describes and alters topic configs', async () => {
    const kafka = new Kafka({ brokers: [tb.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const name = topicName();
      await admin.createTopics({
        topics: [{ topic: name, configEntries: [{ name: 'retention.ms', value: '60000' }] }],
      });
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name,
            configEntries: [
              { name: 'retention.ms', value: '120000' },
              { name: 'max.message.bytes', value: '2048' },
            ],
          },
        ],
      });
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name,
            configNames: ['retention.ms', 'max.message.bytes', 'flush.ms'],
          },
        ],
      });
      const entries = described.resources[0].configEntries;
      expect(entries.map((e) => [e.configName, e.configValue, e.isDefault])).toEqual([
        ['flush.ms', '1000', true],
        ['max.message.bytes', '2048', false],
        ['retention.ms', '120000', false],
      ]);
      await expect(
        admin.alterConfigs({
          validateOnly: false,
          resources: [
            { type: ConfigResourceTypes.TOPIC, name, configEntries: [{ name: 'retention.ms', value: 'x' }] },
          ],
        }),
      ).rejects.toMatchObject({ type: 'INVALID_CONFIG' });
      const broker = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configNames: ['num.partitions'] }],
      });
      expect(broker.resources[0].configEntries).toEqual([
        expect.objectContaining({ configName: 'num.partitions', configValue: '2', readOnly: true }),
      ]);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('configs > persistence', () => {
  it('a restarted broker keeps altered topic configs and runs its logs with them', async () => {
    const first = await startTestBroker();
    const name = topicName();
    await first.broker.services.admin.createTopic(
      { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: { 'retention.ms': '1000' } },
      false,
    );
    const raw = await RawClient.connect(first.port);
    try {
      const res = await raw.call<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, 1, {
        ...IncrementalAlterConfigsRequest.defaults(),
        resources: [
          {
            resourceType: TOPIC,
            resourceName: name,
            configs: [
              { name: 'retention.ms', configOperation: DELETE, value: null },
              { name: 'segment.bytes', configOperation: SET, value: '1048576' },
            ],
          },
        ],
      });
      expect(res.responses[0].errorCode).toBe(0);
    } finally {
      raw.close();
    }
    await first.stop();
    const second = await startTestBroker({ dataDir: first.dataDir });
    try {
      expect(second.broker.services.metadata().topics.get(name)!.configs).toEqual({
        'segment.bytes': '1048576',
      });
      expect(second.broker.services.replicas.topicConfig(name).log).toMatchObject({
        segmentBytes: 1048576,
        retentionMs: 7 * 24 * 3600 * 1000,
      });
    } finally {
      await second.remove();
    }
  });
});
