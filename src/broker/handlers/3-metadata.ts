/**
 * Metadata (key 3), versions 0–12: the brokers, the cluster id and controller, and each topic's
 * partitions with their leader, leader epoch, replicas and ISR. Clients call it to learn where to
 * send everything else.
 *
 * v0 reads an empty topic list as "every topic"; from v1 that is null, and an empty list asks for
 * none. v1 adds controllerId, isInternal and racks; v2 clusterId; v3 throttleTimeMs; v4
 * allowAutoTopicCreation (v0–3 always allow it); v5 offlineReplicas; v7 leaderEpoch; v8 authorized
 * operations (the cluster's only up to v10); v9 is the first flexible version; v10 topic ids in the
 * response; v12 topics may be asked for by id alone.
 *
 * A topic asked for by name that does not exist is created when both the client and the broker
 * (`auto.create.topics.enable`) allow it, never for "every topic". Kafka answers such a topic with
 * LEADER_NOT_AVAILABLE until its controller has placed it; ours is placed before we answer, so the
 * answer carries its leaders at once and clients skip a retry.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { MetadataRequest } from '../../protocol/messages/metadata-request.ts';
import {
  MetadataResponse,
  type MetadataResponsePartition,
  type MetadataResponseTopic,
} from '../../protocol/messages/metadata-response.ts';
import { ZERO_UUID } from '../../protocol/primitives/index.ts';
import { autoCreateTopic } from '../auto-create.ts';
import type { Handler } from '../handler.ts';
import { type TopicState, topicNameError } from '../../controller/image.ts';
import type { BrokerServices } from '../services.ts';
import { CLUSTER_OPERATIONS, NOT_REQUESTED, TOPIC_OPERATIONS } from '../authorized-operations.ts';

/** Kafka's internal topics: reported as internal even before they exist, and never auto-created. */
const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

/**
 * A topic as clients see it. Replicas on brokers that are fenced (dead, or not yet caught up after a
 * restart) are listed as offline (v5+), as Kafka lists replicas on brokers it does not see alive.
 */
function topicAnswer(t: TopicState, live: ReadonlySet<number>): MetadataResponseTopic {
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.topicId,
    isInternal: t.internal,
    partitions: t.partitions.map((p): MetadataResponsePartition => ({
      errorCode: p.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: p.partition,
      leaderId: p.leader,
      leaderEpoch: p.leaderEpoch,
      replicaNodes: [...p.replicas],
      isrNodes: [...p.isr],
      offlineReplicas: p.replicas.filter((id) => !live.has(id)),
    })),
    topicAuthorizedOperations: NOT_REQUESTED,
  };
}

function errorAnswer(errorCode: number, name: string | null, topicId = ZERO_UUID): MetadataResponseTopic {
  return {
    errorCode,
    name,
    topicId,
    isInternal: name !== null && INTERNAL_TOPICS.has(name),
    partitions: [],
    topicAuthorizedOperations: NOT_REQUESTED,
  };
}

export function metadataHandler(s: BrokerServices): Handler<MetadataRequest, MetadataResponse> {
  const liveBrokers = (): ReadonlySet<number> => new Set(s.metadata().brokers.map((b) => b.nodeId));
  /** A topic asked for by name: its state, created first when allowed, or the error to answer. */
  async function byName(name: string, autoCreate: boolean): Promise<MetadataResponseTopic> {
    const known = s.metadata().topics.get(name);
    if (known) return topicAnswer(known, liveBrokers());
    if (topicNameError(name) !== null) return errorAnswer(ErrorCode.INVALID_TOPIC_EXCEPTION, name);
    // The internal topics need their own partitions and configs; whoever owns them creates them.
    if (!autoCreate || INTERNAL_TOPICS.has(name)) {
      return errorAnswer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name);
    }
    const error = await autoCreateTopic(s, name);
    const created = s.metadata().topics.get(name);
    return error === null && created
      ? topicAnswer(created, liveBrokers())
      : errorAnswer(error ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name);
  }

  async function answerTopics(request: MetadataRequest, v: number): Promise<MetadataResponseTopic[]> {
    const asked = request.topics;
    if (asked === null || (v === 0 && asked.length === 0)) {
      const live = liveBrokers();
      return [...s.metadata().topics.values()].map((t) => topicAnswer(t, live));
    }
    if (v < 12 && asked.some((t) => t.name === null || t.topicId !== ZERO_UUID)) {
      // Kafka refuses the whole request, answering each topic with the error.
      return asked.map((t) => errorAnswer(ErrorCode.INVALID_REQUEST, t.name ?? '', t.topicId));
    }
    const autoCreate = v < 4 || request.allowAutoTopicCreation;
    const answers: MetadataResponseTopic[] = [];
    const seen = new Set<string>();
    for (const t of asked) {
      const key = t.topicId !== ZERO_UUID ? `id:${t.topicId}` : `name:${t.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      if (t.topicId !== ZERO_UUID) {
        const found = s.metadata().topicsById.get(t.topicId);
        answers.push(
          found
            ? topicAnswer(found, liveBrokers())
            : errorAnswer(ErrorCode.UNKNOWN_TOPIC_ID, null, t.topicId),
        );
      } else if (t.name === null) {
        answers.push(errorAnswer(ErrorCode.INVALID_REQUEST, null));
      } else {
        answers.push(await byName(t.name, autoCreate));
      }
    }
    return answers;
  }

  return {
    apiKey: ApiKey.Metadata,
    minVersion: 0,
    maxVersion: 12,
    async handle(ctx, request) {
      const v = ctx.apiVersion;
      const topics = await answerTopics(request, v);
      // Read after the topics: auto-creation may have published a newer image meanwhile.
      const image = s.metadata();
      const response: MetadataResponse = {
        ...MetadataResponse.defaults(),
        brokers: image.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
        clusterId: image.clusterId,
        controllerId: image.controllerId,
        topics,
        clusterAuthorizedOperations: NOT_REQUESTED,
      };
      if (v >= 8) {
        if (v <= 10 && request.includeClusterAuthorizedOperations) {
          response.clusterAuthorizedOperations = CLUSTER_OPERATIONS;
        }
        if (request.includeTopicAuthorizedOperations) {
          for (const t of response.topics) t.topicAuthorizedOperations = TOPIC_OPERATIONS;
        }
      }
      return response;
    },
  };
}
