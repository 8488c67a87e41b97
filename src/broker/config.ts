/**
 * The broker's configuration, by Kafka's property names so a `server.properties` reads the same.
 *
 * Sources, later ones winning: built-in defaults, a properties file (`--config`), environment
 * variables (`TRIBUTARY_LOG_DIRS` for `log.dirs`: upper case, dots as underscores), and flags
 * (`--set key=value`, plus a few short forms the CLI maps to keys). Every value is checked at start;
 * the first bad one stops the broker with ConfigInvalidError naming the property and what it allows.
 * Names Tributary does not know are reported back as warnings from a file or the environment (a
 * copied server.properties carries many) and refused from `--set` (where they are typos).
 */
import os from 'node:os';
import { ConfigInvalidError } from '../common/errors.ts';
import { LOG_LEVELS, type LogLevel } from '../common/logger.ts';
import { boolProp, enumProp, intProp, longProp, type PropertyDef, stringProp } from '../common/properties.ts';
import { type HostPort, hostPortListProp, hostPortProp } from './host-port.ts';
import { TOPIC_CONFIGS } from './topic-config.ts';

export interface BrokerConfig {
  nodeId: number;
  /** Where the Kafka listener binds. */
  listener: HostPort;
  /** What clients are told to connect to (Metadata); the listener's address unless set. */
  advertised: HostPort;
  /** Admin HTTP: /healthz, /readyz, /metrics. */
  adminListener: HostPort;
  dataDir: string;
  rack: string | null;
  autoCreateTopics: boolean;
  numPartitions: number;
  defaultReplicationFactor: number;
  deleteTopicEnable: boolean;
  /** The preferred-leader rebalance, decided by the controller (embedded or `tributary controller`). */
  autoLeaderRebalanceEnable: boolean;
  leaderImbalanceCheckIntervalSeconds: number;
  leaderImbalancePerBrokerPercentage: number;
  maxRequestBytes: number;
  maxInFlightBytes: number;
  idleTimeoutMs: number;
  retentionCheckIntervalMs: number;
  compactionIntervalMs: number;
  recoveryThreads: number;
  /** How long SIGTERM waits for in-flight requests before cutting connections. */
  shutdownTimeoutMs: number;
  logFormat: 'json' | 'pretty';
  logLevel: LogLevel;
  /** Consumer groups (src/broker/groups): the offsets topic, rebalances, committed offsets. */
  offsetsTopicPartitions: number;
  offsetsTopicReplicationFactor: number;
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupMaxSize: number;
  offsetsRetentionMinutes: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
  /** How long an idempotent producer may be silent before its state (sequences) is dropped. */
  producerIdExpirationMs: number;
  /**
   * The controller's API (`tributary controller`, the operator's replicas): one or more addresses,
   * each HOST of which may resolve to several, tried in turn for the one that is the controller
   * now; null: this broker runs alone with an embedded controller whose state is in its data
   * directory.
   */
  controllerAddress: HostPort[] | null;
  /** The shared secret every request to the controller carries; null when there is no controller. */
  controllerToken: string | null;
  /** A file holding the token (read at start), for a token mounted from a Secret. */
  controllerTokenFile: string | null;
  brokerHeartbeatIntervalMs: number;
  /** A follower that has not caught up to the leader's log end for this long leaves the ISR. */
  replicaLagTimeMaxMs: number;
  replicaFetchWaitMaxMs: number;
  replicaFetchMaxBytes: number;
  /** Where a follower fetches from when its leader is unreachable, before it tries again. */
  replicaFetchBackoffMs: number;
  /**
   * Broker-wide defaults of topic configs, by their broker names (`log.retention.ms`), as validated
   * strings; src/broker/topic-config.ts resolves a topic's settings from them.
   */
  topicDefaults: Readonly<Record<string, string>>;
  /** Every property set explicitly (file, environment, flags, role defaults), as given; for DescribeConfigs. */
  properties: ReadonlyMap<string, string>;
}

const MiB = 1024 * 1024;
const HOUR = 60 * 60 * 1000;

/** The broker's own properties (topic-config defaults are added from TOPIC_CONFIGS below). */
const BROKER_PROPS = {
  nodeId: intProp('node.id', 0, "This broker's id, unique in its cluster.", { min: 0 }),
  listener: hostPortProp('listeners', 'PLAINTEXT://0.0.0.0:9092', 'Where the Kafka listener binds.'),
  advertised: hostPortProp('advertised.listeners', null, 'The address clients are told to connect to.'),
  adminListener: hostPortProp(
    'admin.listener',
    '0.0.0.0:9644',
    'Where the admin HTTP server (health, metrics) binds.',
  ),
  dataDir: stringProp('log.dirs', 'tributary-data', 'Directory holding the partition logs.', {
    test: (v) => v !== '' && !v.includes(','),
    allowed: 'one non-empty directory path',
  }),
  rack: stringProp('broker.rack', null, 'Rack (zone) of this broker, for replica placement.'),
  autoCreateTopics: boolProp(
    'auto.create.topics.enable',
    true,
    'Create a topic when a client asks for one that does not exist.',
  ),
  numPartitions: intProp(
    'num.partitions',
    1,
    'Partitions of an auto-created topic, or of one created with -1.',
    { min: 1, max: 100000 },
  ),
  defaultReplicationFactor: intProp(
    'default.replication.factor',
    1,
    'Replication factor of an auto-created topic, or of one created with -1.',
    {
      min: 1,
      max: 32767,
    },
  ),
  deleteTopicEnable: boolProp('delete.topic.enable', true, 'Allow DeleteTopics.'),
  autoLeaderRebalanceEnable: boolProp(
    'auto.leader.rebalance.enable',
    true,
    'Move leadership back to preferred replicas when a broker leads too few of its partitions.',
  ),
  leaderImbalanceCheckIntervalSeconds: intProp(
    'leader.imbalance.check.interval.seconds',
    300,
    'How often the controller checks the leader imbalance.',
    { min: 1, max: 86400 },
  ),
  leaderImbalancePerBrokerPercentage: intProp(
    'leader.imbalance.per.broker.percentage',
    10,
    'The share of its preferred partitions a broker may not lead before they are elected back to it.',
    { min: 0, max: 100 },
  ),
  maxRequestBytes: intProp('socket.request.max.bytes', 100 * MiB, 'The largest request accepted.', {
    min: 1024,
  }),
  maxInFlightBytes: intProp(
    'queued.max.request.bytes',
    16 * MiB,
    'Request bytes a connection may have awaiting responses before reading pauses.',
    {
      min: 1024,
    },
  ),
  idleTimeoutMs: longProp(
    'connections.max.idle.ms',
    10 * 60 * 1000,
    'Idle connections are closed after this long.',
    { min: 1 },
  ),
  retentionCheckIntervalMs: longProp(
    'log.retention.check.interval.ms',
    5 * 60 * 1000,
    'How often retention runs.',
    { min: 1 },
  ),
  compactionIntervalMs: longProp('log.cleaner.backoff.ms', 15 * 1000, 'Pause between compaction passes.', {
    min: 1,
  }),
  recoveryThreads: intProp('num.recovery.threads.per.data.dir', 8, 'Logs loaded at once at start-up.', {
    min: 1,
  }),
  shutdownTimeoutMs: longProp(
    'shutdown.timeout.ms',
    10 * 1000,
    'How long a shutdown waits for in-flight requests.',
    { min: 0 },
  ),
  logFormat: enumProp(
    'log.format',
    ['json', 'pretty'],
    'json',
    'json lines, or readable lines for a terminal.',
  ),
  logLevel: enumProp('log.level', LOG_LEVELS, 'info', 'Lowest level logged.'),
  // Consumer groups; defaults are Kafka's except the partition count (docs/adr/0010).
  offsetsTopicPartitions: intProp(
    'offsets.topic.num.partitions',
    16,
    'Partitions of the offsets topic (fixed once it exists: group ids hash onto them).',
    { min: 1, max: 1000 },
  ),
  offsetsTopicReplicationFactor: intProp(
    'offsets.topic.replication.factor',
    3,
    'Replication factor of the offsets topic (capped at the brokers present when it is created).',
    { min: 1, max: 32767 },
  ),
  groupInitialRebalanceDelayMs: intProp(
    'group.initial.rebalance.delay.ms',
    3000,
    "How long a new group's first rebalance waits for more members.",
    { min: 0 },
  ),
  groupMinSessionTimeoutMs: intProp(
    'group.min.session.timeout.ms',
    6000,
    'Shortest session timeout allowed.',
    {
      min: 0,
    },
  ),
  groupMaxSessionTimeoutMs: intProp(
    'group.max.session.timeout.ms',
    1800000,
    'Longest session timeout allowed.',
    { min: 0 },
  ),
  groupMaxSize: intProp('group.max.size', 2147483647, 'Most members a group may have.', { min: 1 }),
  offsetsRetentionMinutes: intProp(
    'offsets.retention.minutes',
    10080,
    'How long committed offsets are kept once their group is empty.',
    { min: 1 },
  ),
  offsetsRetentionCheckIntervalMs: longProp(
    'offsets.retention.check.interval.ms',
    600000,
    'How often expired offsets are looked for.',
    { min: 1 },
  ),
  offsetMetadataMaxBytes: intProp(
    'offset.metadata.max.bytes',
    4096,
    'Largest metadata string an offset commit may carry.',
    { min: 0 },
  ),
  producerIdExpirationMs: longProp(
    'producer.id.expiration.ms',
    24 * HOUR,
    'An idempotent producer silent this long is forgotten (its sequences are no longer checked).',
    { min: 1 },
  ),
  controllerAddress: hostPortListProp(
    'controller.address',
    "The controller's HOST:PORT (`tributary controller`), or the operator's: several, comma-separated, " +
      'or a name resolving to several, are tried in turn for the current one; unset, the broker runs alone.',
  ),
  controllerToken: stringProp(
    'controller.token',
    null,
    'The shared secret sent to the controller (better set as TRIBUTARY_CONTROLLER_TOKEN or a file).',
  ),
  controllerTokenFile: stringProp('controller.token.file', null, 'A file holding the controller token.'),
  brokerHeartbeatIntervalMs: intProp(
    'broker.heartbeat.interval.ms',
    250,
    'How often the broker tells the controller it is alive.',
    { min: 10, max: 60000 },
  ),
  replicaLagTimeMaxMs: longProp(
    'replica.lag.time.max.ms',
    10000,
    "A follower that has not reached the leader's log end for this long is taken out of the ISR.",
    { min: 1 },
  ),
  replicaFetchWaitMaxMs: intProp(
    'replica.fetch.wait.max.ms',
    500,
    'How long a follower fetch waits on the leader for new data.',
    { min: 0 },
  ),
  replicaFetchMaxBytes: intProp(
    'replica.fetch.max.bytes',
    MiB,
    'Bytes a follower fetch asks for per partition (at least one batch is always returned).',
    { min: 1024 },
  ),
  replicaFetchBackoffMs: intProp(
    'replica.fetch.backoff.ms',
    200,
    'Pause after a failed follower fetch before the next.',
    { min: 0 },
  ),
} satisfies Record<keyof Omit<BrokerConfig, 'topicDefaults' | 'properties'>, PropertyDef>;

/**
 * Broker names that also set a topic default, in another unit (Kafka's synonyms); for one `of`,
 * earlier entries win over later ones, and `of` itself over all of them.
 */
const UNIT_SYNONYMS: ReadonlyArray<{ name: string; of: string; factor: number; def: PropertyDef<number> }> = [
  {
    name: 'log.retention.minutes',
    of: 'log.retention.ms',
    factor: 60 * 1000,
    def: longProp('log.retention.minutes', null, 'retention in minutes', { min: -1 }),
  },
  {
    name: 'log.retention.hours',
    of: 'log.retention.ms',
    factor: HOUR,
    def: longProp('log.retention.hours', 168, 'retention in hours', { min: -1 }),
  },
  {
    name: 'log.roll.hours',
    of: 'log.roll.ms',
    factor: HOUR,
    def: longProp('log.roll.hours', 168, 'segment age in hours', { min: 1 }),
  },
];

/** Every property name the broker knows, with its definition. */
export const BROKER_PROPERTIES: ReadonlyMap<string, PropertyDef> = new Map<string, PropertyDef>([
  ...Object.values(BROKER_PROPS).map((d): [string, PropertyDef] => [d.name, d]),
  ...TOPIC_CONFIGS.map((c): [string, PropertyDef] => [
    c.brokerKey,
    { ...c.def, name: c.brokerKey, parse: renamed(c.def, c.brokerKey) },
  ]),
  ...UNIT_SYNONYMS.map((s): [string, PropertyDef] => [s.name, s.def]),
]);

function renamed(def: PropertyDef, name: string): (raw: string) => unknown {
  return (raw) => {
    try {
      return def.parse(raw);
    } catch (err) {
      if (err instanceof ConfigInvalidError) {
        throw new ConfigInvalidError({ ...err.params, field: name });
      }
      throw err;
    }
  };
}

export interface ConfigSources {
  /** Parsed properties file, if any. */
  file?: ReadonlyMap<string, string>;
  /** The process environment; only TRIBUTARY_* variables are read. */
  env?: Readonly<Record<string, string | undefined>>;
  /** `--set key=value` and the CLI's short forms, already mapped to property names. */
  flags?: ReadonlyMap<string, string>;
  /** Defaults that differ for this role (dev mode binds to loopback). */
  roleDefaults?: ReadonlyMap<string, string>;
}

export interface LoadedConfig {
  config: BrokerConfig;
  /** Unknown names from the file or environment: worth a log line, not a refusal. */
  warnings: string[];
}

/** Environment variable for a property: `log.dirs` ↔ `TRIBUTARY_LOG_DIRS`. */
export function envName(property: string): string {
  return `TRIBUTARY_${property.toUpperCase().replace(/[.-]/g, '_')}`;
}

const ENV_TO_PROPERTY = new Map([...BROKER_PROPERTIES.keys()].map((k) => [envName(k), k]));
/** Variables that configure the CLI itself, not a property. */
const ENV_NOT_PROPERTIES = new Set(['TRIBUTARY_CONFIG', 'TRIBUTARY_EXIT_WITH_PARENT']);

export function loadBrokerConfig(sources: ConfigSources): LoadedConfig {
  const warnings: string[] = [];
  const raw = new Map<string, string>(sources.roleDefaults ?? []);
  for (const [k, v] of sources.file ?? []) {
    if (BROKER_PROPERTIES.has(k)) raw.set(k, v);
    else warnings.push(`Ignored unknown property ${k} in the config file`);
  }
  for (const [k, v] of Object.entries(sources.env ?? {})) {
    if (!k.startsWith('TRIBUTARY_') || v === undefined || ENV_NOT_PROPERTIES.has(k)) continue;
    const property = ENV_TO_PROPERTY.get(k);
    if (property) raw.set(property, v);
    else warnings.push(`Ignored environment variable ${k}: it names no property`);
  }
  for (const [k, v] of sources.flags ?? []) {
    if (!BROKER_PROPERTIES.has(k)) {
      throw new ConfigInvalidError({
        field: k,
        value: v,
        allowed: 'a known property name (see `tributary broker --help`)',
      });
    }
    raw.set(k, v);
  }
  return { config: resolve(raw), warnings };
}

function resolve(raw: ReadonlyMap<string, string>): BrokerConfig {
  const value = <T>(def: PropertyDef<T>): T => {
    const text = raw.get(def.name) ?? def.default;
    if (text === null) return null as T;
    return def.parse(text);
  };
  const topicDefaults: Record<string, string> = {};
  for (const c of TOPIC_CONFIGS) {
    const text = raw.get(c.brokerKey);
    if (text !== undefined) {
      BROKER_PROPERTIES.get(c.brokerKey)!.parse(text);
      topicDefaults[c.brokerKey] = text.trim();
    }
  }
  for (const s of UNIT_SYNONYMS) {
    const text = raw.get(s.name);
    if (text === undefined || topicDefaults[s.of] !== undefined) continue;
    const n = s.def.parse(text);
    topicDefaults[s.of] = String(n < 0 ? -1 : n * s.factor);
  }
  const listener = value(BROKER_PROPS.listener);
  const advertised = value(BROKER_PROPS.advertised) ?? defaultAdvertised(listener);
  if (advertised.port === 0 && listener.port !== 0) advertised.port = listener.port;
  return {
    nodeId: value(BROKER_PROPS.nodeId),
    listener,
    advertised,
    adminListener: value(BROKER_PROPS.adminListener),
    dataDir: value(BROKER_PROPS.dataDir),
    rack: value(BROKER_PROPS.rack) || null,
    autoCreateTopics: value(BROKER_PROPS.autoCreateTopics),
    numPartitions: value(BROKER_PROPS.numPartitions),
    defaultReplicationFactor: value(BROKER_PROPS.defaultReplicationFactor),
    deleteTopicEnable: value(BROKER_PROPS.deleteTopicEnable),
    autoLeaderRebalanceEnable: value(BROKER_PROPS.autoLeaderRebalanceEnable),
    leaderImbalanceCheckIntervalSeconds: value(BROKER_PROPS.leaderImbalanceCheckIntervalSeconds),
    leaderImbalancePerBrokerPercentage: value(BROKER_PROPS.leaderImbalancePerBrokerPercentage),
    maxRequestBytes: value(BROKER_PROPS.maxRequestBytes),
    maxInFlightBytes: value(BROKER_PROPS.maxInFlightBytes),
    idleTimeoutMs: value(BROKER_PROPS.idleTimeoutMs),
    retentionCheckIntervalMs: value(BROKER_PROPS.retentionCheckIntervalMs),
    compactionIntervalMs: value(BROKER_PROPS.compactionIntervalMs),
    recoveryThreads: value(BROKER_PROPS.recoveryThreads),
    shutdownTimeoutMs: value(BROKER_PROPS.shutdownTimeoutMs),
    logFormat: value(BROKER_PROPS.logFormat),
    logLevel: value(BROKER_PROPS.logLevel),
    offsetsTopicPartitions: value(BROKER_PROPS.offsetsTopicPartitions),
    offsetsTopicReplicationFactor: value(BROKER_PROPS.offsetsTopicReplicationFactor),
    groupInitialRebalanceDelayMs: value(BROKER_PROPS.groupInitialRebalanceDelayMs),
    groupMinSessionTimeoutMs: value(BROKER_PROPS.groupMinSessionTimeoutMs),
    groupMaxSessionTimeoutMs: value(BROKER_PROPS.groupMaxSessionTimeoutMs),
    groupMaxSize: value(BROKER_PROPS.groupMaxSize),
    offsetsRetentionMinutes: value(BROKER_PROPS.offsetsRetentionMinutes),
    offsetsRetentionCheckIntervalMs: value(BROKER_PROPS.offsetsRetentionCheckIntervalMs),
    offsetMetadataMaxBytes: value(BROKER_PROPS.offsetMetadataMaxBytes),
    producerIdExpirationMs: value(BROKER_PROPS.producerIdExpirationMs),
    controllerAddress: value(BROKER_PROPS.controllerAddress),
    controllerToken: value(BROKER_PROPS.controllerToken) || null,
    controllerTokenFile: value(BROKER_PROPS.controllerTokenFile) || null,
    brokerHeartbeatIntervalMs: value(BROKER_PROPS.brokerHeartbeatIntervalMs),
    replicaLagTimeMaxMs: value(BROKER_PROPS.replicaLagTimeMaxMs),
    replicaFetchWaitMaxMs: value(BROKER_PROPS.replicaFetchWaitMaxMs),
    replicaFetchMaxBytes: value(BROKER_PROPS.replicaFetchMaxBytes),
    replicaFetchBackoffMs: value(BROKER_PROPS.replicaFetchBackoffMs),
    topicDefaults,
    properties: raw,
  };
}

/**
 * The value `name` runs with: as set, else derived from a synonym in another unit, else its
 * default (null when it has none).
 */
export function brokerPropertyValue(config: BrokerConfig, name: string): string | null {
  const def = BROKER_PROPERTIES.get(name);
  if (!def) throw new Error(`unknown broker property ${name}`);
  const derived = config.topicDefaults[name] as string | undefined;
  return derived ?? config.properties.get(name)?.trim() ?? def.default;
}

/**
 * Where `name`'s value can come from, the one in force first, as Kafka's DescribeConfigs lists
 * synonyms: every explicitly set name of its chain (`log.retention.ms`, then `…minutes`, then
 * `…hours`, from `name` down), then their defaults. A name with lower-unit synonyms has no default
 * of its own here, as in Kafka: `log.retention.hours=168` is the default of `log.retention.ms`.
 */
export function brokerPropertySynonyms(
  config: BrokerConfig,
  name: string,
): Array<{ name: string; value: string; source: 'static' | 'default' }> {
  const base = UNIT_SYNONYMS.find((s) => s.name === name)?.of ?? name;
  const full = [base, ...UNIT_SYNONYMS.filter((s) => s.of === base).map((s) => s.name)];
  const chain = full.slice(full.indexOf(name));
  const set = chain.flatMap((n) => {
    const v = config.properties.get(n);
    return v === undefined ? [] : [{ name: n, value: v.trim(), source: 'static' as const }];
  });
  const defaults = chain.flatMap((n) => {
    const d = BROKER_PROPERTIES.get(n)?.default ?? null;
    const shadowed = UNIT_SYNONYMS.some((s) => s.of === n);
    return d === null || shadowed ? [] : [{ name: n, value: d, source: 'default' as const }];
  });
  return [...set, ...defaults];
}

/** Clients cannot connect to 0.0.0.0: advertise the host name instead, as Kafka does. */
function defaultAdvertised(listener: HostPort): HostPort {
  const wildcard = listener.host === '0.0.0.0' || listener.host === '::';
  return { host: wildcard ? os.hostname() : listener.host, port: listener.port };
}

/** The properties and their defaults, for `--help` and docs. */
export function describeBrokerProperties(): string[] {
  return [...BROKER_PROPERTIES.values()].map(
    (d) => `  ${d.name.padEnd(38)} ${d.doc}${d.default === null ? '' : ` (default ${d.default})`}`,
  );
}
