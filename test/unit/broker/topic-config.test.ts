import { describe, expect, it } from '@jest/globals';
import { BROKER_PROPERTIES } from '../../../src/broker/config.ts';
import {
  checkTopicConfig,
  effectiveValue,
  resolveTopicConfig,
  TOPIC_CONFIG_BY_NAME,
  TOPIC_CONFIGS,
} from '../../../src/broker/topic-config.ts';

describe('topic configs > checkTopicConfig', () => {
  it.each([
    ['retention.ms', '1000'],
    ['retention.ms', '-1'],
    ['retention.bytes', '9223372036854775807'],
    ['cleanup.policy', 'compact,delete'],
    ['cleanup.policy', 'Compact'],
    ['message.timestamp.type', 'LogAppendTime'],
    ['unclean.leader.election.enable', 'TRUE'],
    ['segment.bytes', '14'],
  ])('accepts %s=%s', (name, value) => {
    expect(checkTopicConfig(name, value)).toBeNull();
  });

  it.each([
    ['retention.ms', '-2', /retention\.ms.*-2.*≥ -1/],
    ['segment.bytes', '13', /segment\.bytes.*\[14, /],
    ['cleanup.policy', 'forever', /cleanup\.policy.*forever.*one of/],
    ['min.insync.replicas', '1.5', /min\.insync\.replicas/],
    ['compression.type', 'gzip', /compression\.type.*'producer'/],
  ])('refuses %s=%s, naming the config and what it allows', (name, value, message) => {
    expect(checkTopicConfig(name, value)).toMatch(message);
  });

  it('refuses a null value', () => {
    expect(checkTopicConfig('retention.ms', null)).toMatch(
      /Null value not supported for topic config retention\.ms/,
    );
  });

  it('tells an unknown name from one Kafka has but Tributary does not apply', () => {
    expect(checkTopicConfig('retention.forever', '1')).toBe('Unknown topic config name: retention.forever');
    expect(checkTopicConfig('preallocate', 'true')).toMatch(/not supported by Tributary/);
  });
});

describe('topic configs > the catalogue', () => {
  it('lists configs in name order, each default valid, each broker synonym a broker property', () => {
    const names = TOPIC_CONFIGS.map((c) => c.def.name);
    expect(names).toEqual([...names].sort());
    for (const c of TOPIC_CONFIGS) {
      expect(c.def.default === null || checkTopicConfig(c.def.name, c.def.default) === null).toBe(true);
      expect(BROKER_PROPERTIES.has(c.brokerKey)).toBe(true);
    }
  });

  it('types cleanup.policy as a list, as Kafka describes it', () => {
    expect(TOPIC_CONFIG_BY_NAME.get('cleanup.policy')!.def.type).toBe('list');
    expect(TOPIC_CONFIG_BY_NAME.get('retention.ms')!.def.type).toBe('long');
  });
});

describe('topic configs > effectiveValue', () => {
  it('takes the override, else the broker default, else the built-in default', () => {
    const broker = { 'log.retention.ms': '5000' };
    expect(effectiveValue('retention.ms', { 'retention.ms': '10' }, broker)).toEqual({
      value: '10',
      source: 'topic',
    });
    expect(effectiveValue('retention.ms', {}, broker)).toEqual({ value: '5000', source: 'broker' });
    expect(effectiveValue('retention.ms', {}, {})).toEqual({ value: '604800000', source: 'default' });
  });

  it('throws for a name that is not a topic config (a programming error)', () => {
    expect(() => effectiveValue('nope', {}, {})).toThrow(/unknown topic config nope/);
  });
});

describe('topic configs > resolveTopicConfig', () => {
  it('gives Kafka defaults when nothing is set', () => {
    const c = resolveTopicConfig({}, {});
    expect(c.log).toMatchObject({
      cleanupPolicy: 'delete',
      retentionMs: 7 * 24 * 3600 * 1000,
      retentionBytes: Infinity,
      segmentBytes: 1024 * 1024 * 1024,
      flush: { messages: Infinity, ms: 1000 },
    });
    expect(c.policy).toEqual({
      timestampType: 'create',
      timestampBeforeMaxMs: Infinity,
      timestampAfterMaxMs: Infinity,
      minInsyncReplicas: 1,
      uncleanLeaderElection: false,
    });
  });

  it('applies overrides over broker defaults, normalising values', () => {
    const c = resolveTopicConfig(
      { 'cleanup.policy': 'delete,compact', 'retention.ms': '-1', 'message.timestamp.type': 'LogAppendTime' },
      { 'log.segment.bytes': '1048576', 'log.retention.ms': '1000', 'min.insync.replicas': '2' },
    );
    expect(c.log.cleanupPolicy).toBe('compact,delete');
    expect(c.log.retentionMs).toBe(Infinity);
    expect(c.log.segmentBytes).toBe(1048576);
    expect(c.policy.timestampType).toBe('log-append');
    expect(c.policy.minInsyncReplicas).toBe(2);
  });
});
