/**
 * Names the Topic reconciler and topic discovery share: labels, the finalizer, field managers, and
 * the resource name a discovered topic gets.
 */
import { createHash } from 'node:crypto';
import type { Topic, TopicSpec } from '../../api/index.ts';
import { kafkaTopicName } from '../../metadata/projection.ts';
import type { KubeObject } from '../../runtime/objects.ts';

/** A Topic as the cache holds it, with the API's own metadata (uid, timestamps, finalizers). */
export type TopicObject = Topic & KubeObject;

export { kafkaTopicName };

/** On Topics (and ConsumerGroups) the operator made from what it found in the cluster. */
export const LABEL_DISCOVERED = 'tributary.dev/discovered';
/**
 * The digest of the spec discovery last wrote. A spec that no longer matches it was written by
 * someone else: the resource is adopted (it becomes managed, and the resource wins from then on).
 */
export const ANNOTATION_DISCOVERED_SPEC = 'tributary.dev/discovered-spec';
/** Held by Topics with `deletionPolicy: Delete` until their topic is deleted. */
export const TOPIC_FINALIZER = 'tributary.dev/topic';
/** Writes Topic.status' Ready and Managed conditions and observedGeneration. */
export const TOPICS_FIELD_MANAGER = 'tributary-topics';
/** Creates and updates discovered Topics. */
export const DISCOVERY_FIELD_MANAGER = 'tributary-discovery';

export function isDiscovered(topic: Pick<Topic, 'metadata'>): boolean {
  return topic.metadata.labels?.[LABEL_DISCOVERED] === 'true';
}

/** Still as discovery wrote it: no one else has edited its spec. */
export function untouchedSinceDiscovery(topic: Pick<Topic, 'metadata' | 'spec'>): boolean {
  return topic.metadata.annotations?.[ANNOTATION_DISCOVERED_SPEC] === specDigest(topic.spec);
}

/** A digest of a Topic spec, insensitive to key order and to an absent versus empty `config`. */
export function specDigest(spec: TopicSpec): string {
  const canonical = {
    clusterRef: spec.clusterRef.name,
    topicName: spec.topicName ?? null,
    partitions: spec.partitions,
    replicationFactor: spec.replicationFactor,
    config: Object.entries(spec.config ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    deletionPolicy: spec.deletionPolicy ?? 'Retain',
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

/** DNS-1123 subdomain: dot-separated labels, each starting and ending with a letter or digit. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A resource name without spec.topicName is the topic name, which Kafka caps at 249. */
const MAX_PLAIN_NAME = 249;
const MAX_PREFIX = 200;

/**
 * The resource name for Kafka topic `topic`: the topic name itself when it is a valid resource
 * name and not taken; otherwise a valid name derived from it with 8 hex digits of its hash (the
 * resource then carries spec.topicName).
 */
export function discoveredName(topic: string, taken: (name: string) => boolean): string {
  if (DNS_SUBDOMAIN.test(topic) && topic.length <= MAX_PLAIN_NAME && !taken(topic)) return topic;
  // Each dot-separated part made a valid label; empty parts dropped.
  const base =
    topic
      .toLowerCase()
      .split('.')
      .map((part) => part.replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, ''))
      .filter((part) => part !== '')
      .join('.')
      .slice(0, MAX_PREFIX)
      .replace(/[^a-z0-9]+$/, '') || 'topic';
  const hash = createHash('sha256').update(topic).digest('hex');
  for (let i = 0; i + 8 <= hash.length; i += 8) {
    const name = `${base}-${hash.slice(i, i + 8)}`;
    if (!taken(name)) return name;
  }
  throw new Error(`no free resource name for topic ${topic}`);
}
