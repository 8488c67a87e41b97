/**
 * The internal `__consumer_offsets` topic: found in the metadata image, or created on first need —
 * once, however many FindCoordinator requests ask at the same moment.
 */
import type { Logger } from '../../common/logger.ts';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { MetadataImage, TopicState } from '../../controller/image.ts';
import type { TopicAdmin } from '../../controller/api.ts';
import { OFFSETS_TOPIC } from './records.ts';

/** Kafka's segment size for the offsets topic (offsets.topic.segment.bytes): small, so it compacts. */
const OFFSETS_TOPIC_SEGMENT_BYTES = '104857600';

export interface OffsetsTopicOptions {
  partitions: number;
  replicationFactor: number;
  metadata: () => MetadataImage;
  admin: Pick<TopicAdmin, 'createTopic'>;
  log: Logger;
  /** Called once the topic exists, before it is returned (the coordinator loads its partitions). */
  onCreated: () => Promise<void>;
}

export class OffsetsTopic {
  readonly #o: OffsetsTopicOptions;
  #creating: Promise<TopicState | null> | null = null;

  constructor(o: OffsetsTopicOptions) {
    this.#o = o;
  }

  /** The topic, created first if need be; null when it cannot be created. */
  get(): Promise<TopicState | null> {
    const existing = this.#o.metadata().topics.get(OFFSETS_TOPIC);
    if (existing) return Promise.resolve(existing);
    this.#creating ??= this.#create().finally(() => (this.#creating = null));
    return this.#creating;
  }

  async #create(): Promise<TopicState | null> {
    const o = this.#o;
    // A cluster smaller than the configured factor still gets groups (Kafka would refuse until it
    // grows); the factor is capped, with a warning, rather than groups not working at all. The cap
    // counts every registered broker, live or not: a cluster still starting (or with one broker
    // restarting) must not get an offsets topic with fewer replicas for ever. Until enough brokers
    // are live the creation fails and the client is told COORDINATOR_NOT_AVAILABLE, and retries.
    const image = o.metadata();
    const brokers = Math.max(image.registrations.length, image.brokers.length);
    const rf = Math.min(o.replicationFactor, Math.max(brokers, 1));
    if (rf < o.replicationFactor) {
      o.log.warn(
        { configured: o.replicationFactor, brokers, replicationFactor: rf },
        'Creating the offsets topic with fewer replicas than offsets.topic.replication.factor',
      );
    }
    const result = await o.admin.createTopic(
      {
        name: OFFSETS_TOPIC,
        numPartitions: o.partitions,
        replicationFactor: rf,
        assignments: [],
        configs: {
          'cleanup.policy': 'compact',
          'segment.bytes': OFFSETS_TOPIC_SEGMENT_BYTES,
          'compression.type': 'producer',
        },
        internal: true,
      },
      false,
    );
    if (result.ok) {
      o.log.info({ partitions: o.partitions, replicationFactor: rf }, 'Created the offsets topic');
    } else if (result.errorCode === ErrorCode.INVALID_REPLICATION_FACTOR) {
      o.log.info(
        { replicationFactor: rf, live: image.brokers.length },
        'Waiting for more live brokers before creating the offsets topic',
      );
      return null;
    } else if (result.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      o.log.error(
        { errorCode: result.errorCode, message: result.errorMessage },
        'Failed to create the offsets topic',
      );
      return null;
    }
    await o.onCreated();
    return o.metadata().topics.get(OFFSETS_TOPIC) ?? null;
  }
}
