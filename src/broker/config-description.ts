/**
 * What DescribeConfigs and CreateTopics (v5+) tell clients about configs: for each one, the value in
 * force, where it comes from (Kafka's ConfigSource), its synonyms in precedence order (the one in
 * force first), its type and its documentation.
 *
 * A topic config's synonyms are its override, then the broker properties that set its default
 * (`retention.ms` ← `log.retention.ms`, `log.retention.minutes`, `log.retention.hours`).
 * Broker properties are all static: none can be changed while the broker runs, so all are read-only.
 */
import { PROPERTY_TYPE_CODE } from '../common/properties.ts';
import {
  BROKER_PROPERTIES,
  type BrokerConfig,
  brokerPropertySynonyms,
  brokerPropertyValue,
} from './config.ts';
import { effectiveValue, TOPIC_CONFIGS } from './topic-config.ts';

/** DescribeConfigsResponse's ConfigSource codes (the ones Tributary reports). */
export const ConfigSource = {
  DYNAMIC_TOPIC_CONFIG: 1,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** DescribeConfigs' resource types (Kafka's ConfigResource.Type). */
export const ConfigResourceType = {
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
} as const;

export interface ConfigSynonym {
  name: string;
  value: string | null;
  source: number;
}

export interface ConfigDescription {
  name: string;
  value: string | null;
  source: number;
  readOnly: boolean;
  /** Precedence order; the first is the one in force (empty when only the built-in default applies). */
  synonyms: ConfigSynonym[];
  /** DescribeConfigs' config_type code. */
  type: number;
  documentation: string;
}

function brokerSynonyms(config: BrokerConfig, name: string): ConfigSynonym[] {
  return brokerPropertySynonyms(config, name).map((s) => ({
    name: s.name,
    value: s.value,
    source: s.source === 'static' ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG,
  }));
}

/** Every topic config Tributary honours, for a topic with `overrides`, in name order. */
export function describeTopicConfigs(
  overrides: Readonly<Record<string, string>>,
  config: BrokerConfig,
): ConfigDescription[] {
  return TOPIC_CONFIGS.map(({ def, brokerKey }) => {
    const own = overrides[def.name];
    const synonyms: ConfigSynonym[] = [
      ...(own === undefined
        ? []
        : [{ name: def.name, value: own, source: ConfigSource.DYNAMIC_TOPIC_CONFIG }]),
      ...brokerSynonyms(config, brokerKey),
    ];
    return {
      name: def.name,
      value: effectiveValue(def.name, overrides, config.topicDefaults).value,
      source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
      readOnly: false,
      synonyms,
      type: PROPERTY_TYPE_CODE[def.type],
      documentation: def.doc,
    };
  });
}

/** Every broker property, with the value this broker runs with, in name order. */
export function describeBrokerConfigs(config: BrokerConfig): ConfigDescription[] {
  return [...BROKER_PROPERTIES.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((def) => {
      const synonyms = brokerSynonyms(config, def.name);
      return {
        name: def.name,
        value: brokerPropertyValue(config, def.name),
        source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
        readOnly: true,
        synonyms,
        type: PROPERTY_TYPE_CODE[def.type],
        documentation: def.doc,
      };
    });
}

/**
 * The broker a BROKER resource names: null for "" (the cluster-wide defaults), else `self`, or
 * Kafka's INVALID_REQUEST message when the name is not this broker's id.
 */
export function brokerResourceId(name: string, self: number): number | null | string {
  if (name === '') return null;
  if (!/^-?\d+$/.test(name) || !Number.isSafeInteger(Number(name))) {
    return `Broker id must be an integer, but it is: ${name}`;
  }
  return Number(name) === self
    ? self
    : `Unexpected broker id, expected ${self} or empty string, but received ${name}`;
}
