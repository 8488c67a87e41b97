import { describe, expect, it } from '@jest/globals';
import {
  brokerResourceId,
  ConfigSource,
  describeBrokerConfigs,
  describeTopicConfigs,
} from '../../../src/broker/config-description.ts';
import { BROKER_PROPERTIES, loadBrokerConfig } from '../../../src/broker/config.ts';
import { TOPIC_CONFIGS } from '../../../src/broker/topic-config.ts';

const configWith = (props: Record<string, string>) =>
  loadBrokerConfig({ file: new Map(Object.entries(props)) }).config;

describe('config description > topics', () => {
  it('lists every topic config, with source and synonyms: override, then broker, then default', () => {
    const config = configWith({ 'log.retention.hours': '24', 'log.cleanup.policy': 'compact' });
    const byName = new Map(
      describeTopicConfigs({ 'segment.bytes': '1000000' }, config).map((d) => [d.name, d]),
    );
    expect([...byName.keys()]).toEqual(TOPIC_CONFIGS.map((c) => c.def.name));

    expect(byName.get('segment.bytes')).toMatchObject({
      value: '1000000',
      source: ConfigSource.DYNAMIC_TOPIC_CONFIG,
      readOnly: false,
      type: 3, // INT
      synonyms: [
        { name: 'segment.bytes', value: '1000000', source: ConfigSource.DYNAMIC_TOPIC_CONFIG },
        { name: 'log.segment.bytes', value: '1073741824', source: ConfigSource.DEFAULT_CONFIG },
      ],
    });
    expect(byName.get('retention.ms')).toMatchObject({
      value: '86400000',
      source: ConfigSource.STATIC_BROKER_CONFIG,
      type: 5, // LONG
      synonyms: [
        { name: 'log.retention.hours', value: '24', source: ConfigSource.STATIC_BROKER_CONFIG },
        { name: 'log.retention.hours', value: '168', source: ConfigSource.DEFAULT_CONFIG },
      ],
    });
    expect(byName.get('cleanup.policy')).toMatchObject({
      value: 'compact',
      source: ConfigSource.STATIC_BROKER_CONFIG,
      type: 7, // LIST
    });
    expect(byName.get('min.insync.replicas')).toMatchObject({
      value: '1',
      source: ConfigSource.DEFAULT_CONFIG,
      documentation: expect.stringContaining('NOT_ENOUGH_REPLICAS'),
    });
  });
});

describe('config description > broker', () => {
  it('lists every broker property in name order, read-only, static when set', () => {
    const described = describeBrokerConfigs(configWith({ 'num.partitions': '6' }));
    expect(described.map((d) => d.name)).toEqual([...BROKER_PROPERTIES.keys()].sort());
    expect(described.every((d) => d.readOnly)).toBe(true);
    const byName = new Map(described.map((d) => [d.name, d]));
    expect(byName.get('num.partitions')).toMatchObject({
      value: '6',
      source: ConfigSource.STATIC_BROKER_CONFIG,
    });
    expect(byName.get('delete.topic.enable')).toMatchObject({
      value: 'true',
      source: ConfigSource.DEFAULT_CONFIG,
      type: 1, // BOOLEAN
    });
  });
});

describe('config description > broker resource names', () => {
  it('reads "" as the cluster default and our id as us, and explains anything else', () => {
    expect(brokerResourceId('', 3)).toBeNull();
    expect(brokerResourceId('3', 3)).toBe(3);
    expect(brokerResourceId('4', 3)).toBe('Unexpected broker id, expected 3 or empty string, but received 4');
    expect(brokerResourceId('b1', 3)).toBe('Broker id must be an integer, but it is: b1');
  });
});
