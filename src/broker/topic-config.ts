/**
 * Topic configs, by Kafka's names (`retention.ms`, `cleanup.policy`, …): which ones Tributary
 * honours, their broker-wide synonyms (`log.retention.ms`), and how a topic's overrides plus the
 * broker's defaults become the settings its partition logs and produce path run with.
 *
 * A config Kafka knows but Tributary does not apply is refused (INVALID_CONFIG, saying so) rather
 * than stored and silently ignored; an unknown name is refused as Kafka refuses it.
 */
import { ConfigInvalidError } from '../common/errors.ts';
import { boolProp, enumProp, intProp, longProp, type PropertyDef } from '../common/properties.ts';
import type { CleanupPolicy, LogConfig } from '../storage/config.ts';
import { DEFAULT_LOG_CONFIG, MAX_SEGMENT_BYTES } from '../storage/config.ts';

const DAY = 24 * 60 * 60 * 1000;

export interface TopicConfigDef {
  readonly def: PropertyDef;
  /** The broker property that sets this config's default for every topic. */
  readonly brokerKey: string;
}

function topic(def: PropertyDef, brokerKey: string): TopicConfigDef {
  return { def, brokerKey };
}

const CLEANUP_POLICIES = ['delete', 'compact', 'compact,delete', 'delete,compact'] as const;

export const TOPIC_CONFIGS: readonly TopicConfigDef[] = [
  topic(
    // A list in Kafka (DescribeConfigs says LIST; IncrementalAlterConfigs may APPEND/SUBTRACT to it).
    {
      ...enumProp(
        'cleanup.policy',
        CLEANUP_POLICIES,
        'delete',
        'delete: old segments go by time/size; compact: keep the latest record per key.',
      ),
      type: 'list',
    },
    'log.cleanup.policy',
  ),
  topic(
    enumProp(
      'compression.type',
      ['producer'],
      'producer',
      'Batches are stored as the producer compressed them (re-compression is not supported).',
    ),
    'compression.type',
  ),
  topic(
    longProp('delete.retention.ms', DAY, 'How long tombstones are kept after compaction.', { min: 0 }),
    'log.cleaner.delete.retention.ms',
  ),
  topic(
    longProp(
      'flush.messages',
      Infinity,
      'fsync once this many records are unflushed (1 = every batch before it is acknowledged).',
      { min: 1 },
    ),
    'log.flush.interval.messages',
  ),
  topic(
    longProp('flush.ms', 1000, 'fsync at most this long after the first unflushed batch.', { min: 0 }),
    'log.flush.interval.ms',
  ),
  topic(
    intProp('index.interval.bytes', 4096, 'Bytes between entries of the offset index.', { min: 0 }),
    'log.index.interval.bytes',
  ),
  topic(
    intProp('max.message.bytes', DEFAULT_LOG_CONFIG.maxMessageBytes, 'The largest record batch accepted.', {
      min: 0,
    }),
    'message.max.bytes',
  ),
  topic(
    longProp(
      'message.timestamp.after.max.ms',
      Infinity,
      'How far in the future a create-time timestamp may be.',
      { min: 0 },
    ),
    'log.message.timestamp.after.max.ms',
  ),
  topic(
    longProp(
      'message.timestamp.before.max.ms',
      Infinity,
      'How far in the past a create-time timestamp may be.',
      { min: 0 },
    ),
    'log.message.timestamp.before.max.ms',
  ),
  topic(
    enumProp(
      'message.timestamp.type',
      ['CreateTime', 'LogAppendTime'],
      'CreateTime',
      "CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's clock.",
    ),
    'log.message.timestamp.type',
  ),
  topic(
    intProp(
      'min.insync.replicas',
      1,
      'acks=all produces fail with NOT_ENOUGH_REPLICAS below this many in-sync replicas.',
      { min: 1 },
    ),
    'min.insync.replicas',
  ),
  topic(
    longProp(
      'retention.bytes',
      -1,
      'Size a partition may reach before its oldest segments are deleted (-1: no limit).',
      { min: -1 },
    ),
    'log.retention.bytes',
  ),
  topic(
    longProp('retention.ms', 7 * DAY, 'Age after which segments are deleted (-1: forever).', { min: -1 }),
    'log.retention.ms',
  ),
  topic(
    intProp('segment.bytes', DEFAULT_LOG_CONFIG.segmentBytes, 'Size at which a segment is rolled.', {
      min: 14,
      max: MAX_SEGMENT_BYTES,
    }),
    'log.segment.bytes',
  ),
  topic(longProp('segment.ms', 7 * DAY, 'Age at which a segment is rolled.', { min: 1 }), 'log.roll.ms'),
  topic(
    boolProp(
      'unclean.leader.election.enable',
      false,
      'Allow a replica outside the ISR to become leader (may lose data).',
    ),
    'unclean.leader.election.enable',
  ),
];

export const TOPIC_CONFIG_BY_NAME: ReadonlyMap<string, TopicConfigDef> = new Map(
  TOPIC_CONFIGS.map((c) => [c.def.name, c]),
);

/** Topic configs of Kafka's that Tributary refuses, with the reason given to the client. */
const NOT_SUPPORTED = new Set([
  'file.delete.delay.ms',
  'follower.replication.throttled.replicas',
  'leader.replication.throttled.replicas',
  'local.retention.bytes',
  'local.retention.ms',
  'max.compaction.lag.ms',
  'message.downconversion.enable',
  'message.format.version',
  'message.timestamp.difference.max.ms',
  'min.cleanable.dirty.ratio',
  'min.compaction.lag.ms',
  'preallocate',
  'remote.storage.enable',
  'segment.index.bytes',
  'segment.jitter.ms',
]);

/** Why a topic config is refused, or null when `name=value` is acceptable. */
export function checkTopicConfig(name: string, value: string | null): string | null {
  const known = TOPIC_CONFIG_BY_NAME.get(name);
  if (!known) {
    return NOT_SUPPORTED.has(name)
      ? `Topic config ${name} is not supported by Tributary yet`
      : `Unknown topic config name: ${name}`;
  }
  if (value === null) return `Null value not supported for topic config ${name}`;
  try {
    known.def.parse(value);
    return null;
  } catch (err) {
    return err instanceof ConfigInvalidError ? err.message : String(err);
  }
}

/** What the produce path needs beyond the log's own settings. */
export interface TopicPolicy {
  timestampType: 'create' | 'log-append';
  timestampBeforeMaxMs: number;
  timestampAfterMaxMs: number;
  minInsyncReplicas: number;
  uncleanLeaderElection: boolean;
}

export interface EffectiveTopicConfig {
  log: Partial<LogConfig>;
  policy: TopicPolicy;
}

/** A config's value for a topic: its override, else the broker's setting, else Kafka's default. */
export function effectiveValue(
  name: string,
  overrides: Readonly<Record<string, string>>,
  brokerDefaults: Readonly<Record<string, string>>,
): { value: string | null; source: 'topic' | 'broker' | 'default' } {
  const c = TOPIC_CONFIG_BY_NAME.get(name);
  if (!c) throw new Error(`unknown topic config ${name}`);
  if (overrides[name] !== undefined) return { value: overrides[name], source: 'topic' };
  if (brokerDefaults[c.brokerKey] !== undefined)
    return { value: brokerDefaults[c.brokerKey], source: 'broker' };
  return { value: c.def.default, source: 'default' };
}

/**
 * The settings a topic's logs and produce path run with. Overrides were checked when they were set;
 * broker defaults when the broker started.
 */
export function resolveTopicConfig(
  overrides: Readonly<Record<string, string>>,
  brokerDefaults: Readonly<Record<string, string>>,
): EffectiveTopicConfig {
  const get = <T>(name: string): T => {
    const { value } = effectiveValue(name, overrides, brokerDefaults);
    return TOPIC_CONFIG_BY_NAME.get(name)!.def.parse(value ?? '') as T;
  };
  const unlimited = (v: number): number => (v < 0 ? Infinity : v);
  const policy = get<string>('cleanup.policy');
  return {
    log: {
      cleanupPolicy: (policy === 'delete,compact' ? 'compact,delete' : policy) as CleanupPolicy,
      deleteRetentionMs: get<number>('delete.retention.ms'),
      flush: { messages: get<number>('flush.messages'), ms: get<number>('flush.ms') },
      indexIntervalBytes: Math.max(1, get<number>('index.interval.bytes')),
      maxMessageBytes: Math.max(1, get<number>('max.message.bytes')),
      retentionBytes: unlimited(get<number>('retention.bytes')),
      retentionMs: unlimited(get<number>('retention.ms')),
      segmentBytes: get<number>('segment.bytes'),
      segmentMs: get<number>('segment.ms'),
    },
    policy: {
      timestampType: get<string>('message.timestamp.type') === 'LogAppendTime' ? 'log-append' : 'create',
      timestampBeforeMaxMs: get<number>('message.timestamp.before.max.ms'),
      timestampAfterMaxMs: get<number>('message.timestamp.after.max.ms'),
      minInsyncReplicas: get<number>('min.insync.replicas'),
      uncleanLeaderElection: get<boolean>('unclean.leader.election.enable'),
    },
  };
}
