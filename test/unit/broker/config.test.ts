import os from 'node:os';
import { describe, expect, it } from '@jest/globals';
import {
  BROKER_PROPERTIES,
  brokerPropertySynonyms,
  brokerPropertyValue,
  describeBrokerProperties,
  envName,
  loadBrokerConfig,
} from '../../../src/broker/config.ts';
import { ConfigInvalidError } from '../../../src/common/errors.ts';
import { parsePropertiesText } from '../../../src/common/properties.ts';

const map = (o: Record<string, string>) => new Map(Object.entries(o));

describe('broker config > sources', () => {
  it('has Kafka-like defaults', () => {
    const { config, warnings } = loadBrokerConfig({});
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      nodeId: 0,
      listener: { host: '0.0.0.0', port: 9092 },
      advertised: { host: os.hostname(), port: 9092 },
      adminListener: { host: '0.0.0.0', port: 9644 },
      dataDir: 'tributary-data',
      rack: null,
      autoCreateTopics: true,
      numPartitions: 1,
      defaultReplicationFactor: 1,
      deleteTopicEnable: true,
      logFormat: 'json',
      logLevel: 'info',
      topicDefaults: {},
    });
    expect(config.properties.size).toBe(0);
  });

  it('lets flags beat the environment, the environment beat the file, the file beat role defaults', () => {
    const { config } = loadBrokerConfig({
      roleDefaults: map({ 'node.id': '1', 'num.partitions': '2', 'broker.rack': 'r1', 'log.dirs': '/role' }),
      file: map({ 'num.partitions': '3', 'broker.rack': 'r2', 'log.dirs': '/file' }),
      env: { TRIBUTARY_BROKER_RACK: 'r3', TRIBUTARY_LOG_DIRS: '/env', HOME: '/home/x' },
      flags: map({ 'log.dirs': '/flag' }),
    });
    expect(config.nodeId).toBe(1);
    expect(config.numPartitions).toBe(3);
    expect(config.rack).toBe('r3');
    expect(config.dataDir).toBe('/flag');
    expect(config.properties.get('log.dirs')).toBe('/flag');
  });

  it('warns about unknown names in the file and the environment, and refuses them as flags', () => {
    const { warnings } = loadBrokerConfig({
      file: map({ 'zookeeper.connect': 'x:2181' }),
      env: { TRIBUTARY_NO_SUCH: '1', TRIBUTARY_CONFIG: '/etc/t.properties' },
    });
    expect(warnings).toEqual([
      'Ignored unknown property zookeeper.connect in the config file',
      'Ignored environment variable TRIBUTARY_NO_SUCH: it names no property',
    ]);
    expect(() => loadBrokerConfig({ flags: map({ 'num.partition': '3' }) })).toThrow(
      /Config field num\.partition has invalid value '3'; allowed: a known property name/,
    );
  });

  it.each([
    ['num.partitions', '0', /num\.partitions.*'0'.*\[1, 100000\]/],
    ['auto.create.topics.enable', 'yes', /auto\.create\.topics\.enable.*'yes'.*'true', 'false'/],
    ['listeners', 'PLAINTEXT://a:1,SSL://a:2', /listeners.*one HOST:PORT/],
    ['listeners', 'localhost:70000', /listeners/],
    ['log.dirs', '/a,/b', /log\.dirs.*one non-empty directory/],
    ['log.level', 'loud', /log\.level/],
    ['log.retention.ms', 'week', /log\.retention\.ms.*'week'/],
    ['log.retention.hours', '-5', /log\.retention\.hours/],
  ])('refuses %s=%s with an error naming the field', (name, value, message) => {
    let err: unknown;
    try {
      loadBrokerConfig({ file: map({ [name]: value }) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigInvalidError);
    expect((err as ConfigInvalidError).message).toMatch(message);
    expect((err as ConfigInvalidError).params.field).toBe(name);
  });

  it('reads listeners with or without a listener name, IPv6 included, and advertises the bound address', () => {
    const a = loadBrokerConfig({ flags: map({ listeners: 'PLAINTEXT://127.0.0.1:19092' }) }).config;
    expect(a.listener).toEqual({ host: '127.0.0.1', port: 19092 });
    expect(a.advertised).toEqual({ host: '127.0.0.1', port: 19092 });
    const b = loadBrokerConfig({
      flags: map({ listeners: '[::1]:0', 'advertised.listeners': 'kafka.local:9093' }),
    }).config;
    expect(b.listener).toEqual({ host: '::1', port: 0 });
    expect(b.advertised).toEqual({ host: 'kafka.local', port: 9093 });
  });

  it('keeps topic defaults by their broker names, validated and trimmed', () => {
    const { config } = loadBrokerConfig({
      file: map({ 'log.cleanup.policy': ' compact ', 'message.max.bytes': '2000000' }),
    });
    expect(config.topicDefaults).toEqual({ 'log.cleanup.policy': 'compact', 'message.max.bytes': '2000000' });
  });

  it('turns log.retention.hours and .minutes into log.retention.ms; ms beats minutes beats hours', () => {
    const hours = loadBrokerConfig({ file: map({ 'log.retention.hours': '2' }) }).config;
    expect(hours.topicDefaults['log.retention.ms']).toBe(String(2 * 3600_000));
    const both = loadBrokerConfig({
      file: map({ 'log.retention.hours': '2', 'log.retention.minutes': '3' }),
    }).config;
    expect(both.topicDefaults['log.retention.ms']).toBe(String(3 * 60_000));
    const all = loadBrokerConfig({
      file: map({ 'log.retention.hours': '2', 'log.retention.minutes': '3', 'log.retention.ms': '7' }),
    }).config;
    expect(all.topicDefaults['log.retention.ms']).toBe('7');
    const forever = loadBrokerConfig({
      file: map({ 'log.roll.hours': '1', 'log.retention.hours': '-1' }),
    }).config;
    expect(forever.topicDefaults).toEqual({ 'log.roll.ms': '3600000', 'log.retention.ms': '-1' });
  });

  it('names environment variables after the property', () => {
    expect(envName('log.dirs')).toBe('TRIBUTARY_LOG_DIRS');
    expect(envName('num.recovery.threads.per.data.dir')).toBe('TRIBUTARY_NUM_RECOVERY_THREADS_PER_DATA_DIR');
  });

  it('describes every property for --help', () => {
    const lines = describeBrokerProperties();
    expect(lines).toHaveLength(BROKER_PROPERTIES.size);
    expect(lines.find((l) => l.includes('num.partitions'))).toMatch(/\(default 1\)/);
  });
});

describe('broker config > values and synonyms for DescribeConfigs', () => {
  it('reports a set value as static and an unset one as its default', () => {
    const { config } = loadBrokerConfig({ file: map({ 'num.partitions': ' 4 ' }) });
    expect(brokerPropertyValue(config, 'num.partitions')).toBe('4');
    expect(brokerPropertySynonyms(config, 'num.partitions')).toEqual([
      { name: 'num.partitions', value: '4', source: 'static' },
      { name: 'num.partitions', value: '1', source: 'default' },
    ]);
    expect(brokerPropertyValue(config, 'delete.topic.enable')).toBe('true');
    expect(brokerPropertyValue(config, 'advertised.listeners')).toBeNull();
    expect(brokerPropertySynonyms(config, 'advertised.listeners')).toEqual([]);
  });

  it('derives log.retention.ms from log.retention.hours, listing the chain as Kafka does', () => {
    const { config } = loadBrokerConfig({ file: map({ 'log.retention.hours': '24' }) });
    expect(brokerPropertyValue(config, 'log.retention.ms')).toBe('86400000');
    expect(brokerPropertySynonyms(config, 'log.retention.ms')).toEqual([
      { name: 'log.retention.hours', value: '24', source: 'static' },
      { name: 'log.retention.hours', value: '168', source: 'default' },
    ]);
    // A lower-precedence name lists only itself and those below it.
    expect(brokerPropertySynonyms(config, 'log.retention.hours').map((s) => s.name)).toEqual([
      'log.retention.hours',
      'log.retention.hours',
    ]);
  });

  it('puts every set name of a chain before every default', () => {
    const { config } = loadBrokerConfig({
      file: map({ 'log.retention.ms': '5', 'log.retention.minutes': '1' }),
    });
    expect(brokerPropertySynonyms(config, 'log.retention.ms')).toEqual([
      { name: 'log.retention.ms', value: '5', source: 'static' },
      { name: 'log.retention.minutes', value: '1', source: 'static' },
      { name: 'log.retention.hours', value: '168', source: 'default' },
    ]);
    expect(brokerPropertyValue(config, 'log.retention.ms')).toBe('5');
  });

  it('throws for a name that is not a property (a programming error)', () => {
    const { config } = loadBrokerConfig({});
    expect(() => brokerPropertyValue(config, 'nope')).toThrow(/unknown broker property nope/);
  });
});

describe('broker config > properties files', () => {
  it('reads key=value, key: value and key value, skipping comments and blank lines', () => {
    const text = [
      '# a comment',
      '! another',
      '',
      'node.id=3',
      'log.dirs : /var/lib/t',
      'broker.rack   zone-a',
      '  num.partitions=4  ',
    ].join('\n');
    expect(parsePropertiesText(text)).toEqual(
      map({ 'node.id': '3', 'log.dirs': '/var/lib/t', 'broker.rack': 'zone-a', 'num.partitions': '4  ' }),
    );
  });

  it('joins continued lines, reads escapes and lets the last duplicate win', () => {
    const text =
      'listeners=PLAINTEXT://\\\n    127.0.0.1:9092\r\nkey\\=with\\:colon=a\\tb\\u0041\nnode.id=1\nnode.id=2';
    expect(parsePropertiesText(text)).toEqual(
      map({ listeners: 'PLAINTEXT://127.0.0.1:9092', 'key=with:colon': 'a\tbA', 'node.id': '2' }),
    );
  });

  it('feeds loadBrokerConfig', () => {
    const { config } = loadBrokerConfig({ file: parsePropertiesText('node.id=7\nbroker.rack=r\n') });
    expect(config.nodeId).toBe(7);
    expect(config.rack).toBe('r');
  });
});
