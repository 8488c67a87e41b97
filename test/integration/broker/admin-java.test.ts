/**
 * Kafka's own command-line tools (3.9 jars, from Maven Central via hack/kafka/fetch.sh) against the
 * broker: kafka-topics (TopicCommand) and kafka-configs (ConfigCommand) drive the Java AdminClient,
 * which speaks the newest versions we serve (Metadata 12, CreateTopics 7, DeleteTopics 6,
 * CreatePartitions 3, DescribeConfigs 4, IncrementalAlterConfigs 1, DescribeCluster 1). Each tool
 * run starts a JVM (a second or two), hence the long timeouts.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ensureKafkaJars, runJavaClass } from '../../helpers/apache-kafka.ts';
import { startTestBroker, type TestBroker } from '../../helpers/broker.ts';

const TOPIC_COMMAND = 'org.apache.kafka.tools.TopicCommand';
const CONFIG_COMMAND = 'kafka.admin.ConfigCommand';
const SLOW = 120_000;

let tb: TestBroker;

beforeAll(async () => {
  await ensureKafkaJars();
  tb = await startTestBroker();
}, SLOW);
afterAll(async () => {
  await tb.remove();
});

async function tool(main: string, args: string[]): Promise<string> {
  const r = await runJavaClass(main, ['--bootstrap-server', tb.bootstrap, ...args]);
  return r.stdout;
}

describe('Kafka tools > kafka-topics and kafka-configs', () => {
  it(
    'create, describe, grow, reconfigure and delete a topic',
    async () => {
      const topic = `java-${randomBytes(4).toString('hex')}`;
      expect(
        await tool(TOPIC_COMMAND, [
          '--create',
          '--topic',
          topic,
          '--partitions',
          '2',
          '--config',
          'retention.ms=5000',
        ]),
      ).toContain(`Created topic ${topic}.`);
      const { topicId } = tb.broker.services.metadata().topics.get(topic)!;

      const described = await tool(TOPIC_COMMAND, ['--describe', '--topic', topic]);
      expect(described).toContain(
        `Topic: ${topic}\tTopicId: ${topicId}\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: retention.ms=5000`,
      );
      expect(described).toMatch(new RegExp(`Partition: 1\\tLeader: 0\\tReplicas: 0\\tIsr: 0`));

      await tool(TOPIC_COMMAND, ['--alter', '--topic', topic, '--partitions', '4']);
      expect(tb.broker.services.metadata().topics.get(topic)!.partitions).toHaveLength(4);

      const altered = await tool(CONFIG_COMMAND, [
        '--alter',
        '--entity-type',
        'topics',
        '--entity-name',
        topic,
        '--add-config',
        'cleanup.policy=[compact,delete],retention.bytes=1000',
        '--delete-config',
        'retention.ms',
      ]);
      expect(altered).toContain(`Completed updating config for topic ${topic}.`);
      expect(tb.broker.services.metadata().topics.get(topic)!.configs).toEqual({
        'cleanup.policy': 'compact,delete',
        'retention.bytes': '1000',
      });
      const configs = await tool(CONFIG_COMMAND, [
        '--describe',
        '--entity-type',
        'topics',
        '--entity-name',
        topic,
      ]);
      expect(configs).toContain(
        'retention.bytes=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.bytes=1000, ' +
          'DEFAULT_CONFIG:log.retention.bytes=-1}',
      );

      await tool(TOPIC_COMMAND, ['--delete', '--topic', topic]);
      expect(await tool(TOPIC_COMMAND, ['--list'])).not.toContain(topic);
    },
    SLOW,
  );

  it(
    "describe the broker's configs, each with where it comes from",
    async () => {
      const out = await tool(CONFIG_COMMAND, [
        '--describe',
        '--entity-type',
        'brokers',
        '--entity-name',
        '0',
        '--all',
      ]);
      expect(out).toContain('All configs for broker 0 are:');
      expect(out).toContain(
        'shutdown.timeout.ms=2000 sensitive=false synonyms={STATIC_BROKER_CONFIG:shutdown.timeout.ms=2000, ' +
          'DEFAULT_CONFIG:shutdown.timeout.ms=10000}',
      );
      expect(out).toContain(
        'log.retention.ms=604800000 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.hours=168}',
      );
    },
    SLOW,
  );
});
