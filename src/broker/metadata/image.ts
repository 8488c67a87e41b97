/**
 * The metadata image a broker serves from: brokers, topics, and each partition's replicas, leader,
 * leader epoch and ISR. Brokers never change it themselves; they apply images from the controller
 * (for a single broker, its own local controller — ./local-controller.ts), newest version wins.
 */

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionState {
  partition: number;
  /** -1 while the partition has no leader. */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

export interface TopicState {
  name: string;
  /** Canonical 22-character base64url UUID, as the codec reads and writes it. */
  topicId: string;
  internal: boolean;
  partitions: PartitionState[];
  /** Topic-level overrides only, by Kafka name; defaults come from the broker. */
  configs: Record<string, string>;
}

export interface MetadataImage {
  /** Increases with every change; a broker applies only newer images. */
  version: number;
  clusterId: string;
  controllerId: number;
  brokers: BrokerEndpoint[];
  topics: ReadonlyMap<string, TopicState>;
  topicsById: ReadonlyMap<string, TopicState>;
}

export function indexTopics(topics: Iterable<TopicState>): Pick<MetadataImage, 'topics' | 'topicsById'> {
  const byName = new Map<string, TopicState>();
  const byId = new Map<string, TopicState>();
  for (const t of topics) {
    byName.set(t.name, t);
    byId.set(t.topicId, t);
  }
  return { topics: byName, topicsById: byId };
}

/** Kafka's rule for topic names: 1–249 of [a-zA-Z0-9._-], not "." or "..". */
export function topicNameError(name: string): string | null {
  if (name.length === 0) return 'Topic name is empty';
  if (name === '.' || name === '..') return `Topic name cannot be "${name}"`;
  if (name.length > 249) return `Topic name is longer than 249 characters (${name.length})`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) {
    return `Topic name "${name}" is illegal: only ASCII letters, digits, '.', '_' and '-' are allowed`;
  }
  return null;
}
