/**
 * CreateTopics (key 19), versions 2–7 (Kafka 4 dropped 0–1): creates topics with a partition count
 * and replication factor (-1: the broker's num.partitions / default.replication.factor) or explicit
 * replica assignments, and config overrides. The controller judges each topic on its own; one
 * topic's error does not stop the others.
 *
 * v1 adds validateOnly and errorMessage; v2 throttleTimeMs; v5 is the first flexible version and
 * answers each created topic with its partition count, replication factor and configs (as
 * DescribeConfigs would list them); v7 adds the topic id.
 *
 * As in Kafka, a name given twice in one request fails (INVALID_REQUEST) and is not created, and a
 * request for more than 10,000 new partitions in all fails whole (POLICY_VIOLATION).
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { CreatableTopic, CreateTopicsRequest } from '../../protocol/messages/create-topics-request.ts';
import {
  type CreatableTopicResult,
  CreateTopicsResponse,
} from '../../protocol/messages/create-topics-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import { ZERO_UUID } from '../../protocol/primitives/index.ts';
import { describeTopicConfigs } from '../config-description.ts';
import type { Handler } from '../handler.ts';
import { MAX_PARTITIONS_PER_REQUEST, tooManyPartitions } from '../../controller/topics.ts';
import type { BrokerServices } from '../services.ts';

function errorResult(name: string, errorCode: number, errorMessage: string): CreatableTopicResult {
  return {
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    topicConfigErrorCode: ErrorCode.NONE,
    numPartitions: -1,
    replicationFactor: -1,
    configs: [],
  };
}

export function createTopicsHandler(s: BrokerServices): Handler<CreateTopicsRequest, CreateTopicsResponse> {
  /** New partitions the request asks for, as Kafka counts them against its per-request limit. */
  function partitionsAskedFor(t: CreatableTopic): number {
    if (t.assignments.length > 0) return t.assignments.length;
    return t.numPartitions === -1 ? s.config.numPartitions : Math.max(0, t.numPartitions);
  }

  async function create(t: CreatableTopic, validateOnly: boolean, v: number): Promise<CreatableTopicResult> {
    const configs: Record<string, string | null> = {};
    for (const c of t.configs) configs[c.name] = c.value;
    const result = await s.admin.createTopic(
      {
        name: t.name,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        assignments: t.assignments.map((a) => ({ partition: a.partitionIndex, brokerIds: a.brokerIds })),
        configs,
      },
      validateOnly,
    );
    if (!result.ok) return errorResult(t.name, result.errorCode, result.errorMessage);
    const topic = result.topic;
    if (!validateOnly) {
      s.log.info({ topic: topic.name, partitions: topic.partitions.length }, 'Created topic');
    }
    return {
      name: topic.name,
      // A validate-only answer describes a topic that was not created: it has no id.
      topicId: validateOnly ? ZERO_UUID : topic.topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topicConfigErrorCode: ErrorCode.NONE,
      numPartitions: topic.partitions.length,
      replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
      configs:
        v >= 5
          ? describeTopicConfigs(topic.configs, s.config).map((c) => ({
              name: c.name,
              value: c.value,
              readOnly: c.readOnly,
              configSource: c.source,
              isSensitive: false,
            }))
          : [],
    };
  }

  return {
    apiKey: ApiKey.CreateTopics,
    minVersion: 2,
    maxVersion: 7,
    async handle(ctx, request) {
      const response = CreateTopicsResponse.defaults();
      const occurrences = new Map<string, number>();
      for (const t of request.topics) occurrences.set(t.name, (occurrences.get(t.name) ?? 0) + 1);
      const unique = request.topics.filter((t) => occurrences.get(t.name) === 1);
      const total = unique.reduce((n, t) => n + partitionsAskedFor(t), 0);
      const tooMany = total > MAX_PARTITIONS_PER_REQUEST ? tooManyPartitions() : null;
      const answered = new Set<string>();
      for (const t of request.topics) {
        if (answered.has(t.name)) continue;
        answered.add(t.name);
        if (occurrences.get(t.name)! > 1) {
          response.topics.push(errorResult(t.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
        } else if (tooMany) {
          response.topics.push(errorResult(t.name, tooMany.errorCode, tooMany.errorMessage));
        } else {
          response.topics.push(await create(t, request.validateOnly, ctx.apiVersion));
        }
      }
      return response;
    },
  };
}
