/**
 * Auto-creation of topics (`auto.create.topics.enable`): a Metadata request naming an unknown topic
 * (when the client allows it) or a Produce to one creates it with the broker's default partitions
 * and replication factor, as Kafka does.
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import type { BrokerServices } from './services.ts';

/** Created by their coordinators with their own partition counts and configs, never on demand. */
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

/**
 * Creates `name` if it does not exist and auto-creation is on. Returns null when the topic exists
 * (now or already), else the error code to answer for it: UNKNOWN_TOPIC_OR_PARTITION when
 * auto-creation is off, INVALID_TOPIC_EXCEPTION for an illegal name, or the creation's own error.
 */
export async function autoCreateTopic(s: BrokerServices, name: string): Promise<number | null> {
  if (s.metadata().topics.has(name)) return null;
  if (!s.config.autoCreateTopics || INTERNAL_TOPICS.has(name)) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  const result = await s.admin.createTopic(
    { name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: {} },
    false,
  );
  if (result.ok) {
    s.log.info({ topic: name, partitions: result.topic.partitions.length }, 'Auto-created topic');
    return null;
  }
  // Another request created it meanwhile: that is success for this one.
  if (result.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) return null;
  return result.errorCode;
}
