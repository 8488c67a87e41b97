/**
 * DeleteTopics (key 20), versions 1–6: deletes topics, their partitions and logs.
 *
 * v0–5 name topics (topicNames); v1 adds throttleTimeMs; v4 is the first flexible version; v5 adds
 * errorMessage; v6 names each topic by name or by id (topics), and answers with both.
 *
 * As in Kafka: a topic named twice fails with INVALID_REQUEST; with delete.topic.enable=false every
 * topic fails with TOPIC_DELETION_DISABLED (INVALID_REQUEST before v3, which has no such code).
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { DeleteTopicsRequest } from '../../protocol/messages/delete-topics-request.ts';
import {
  type DeletableTopicResult,
  DeleteTopicsResponse,
} from '../../protocol/messages/delete-topics-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import { ZERO_UUID } from '../../protocol/primitives/index.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

interface TopicRef {
  name: string | null;
  topicId: string;
}

export function deleteTopicsHandler(s: BrokerServices): Handler<DeleteTopicsRequest, DeleteTopicsResponse> {
  return {
    apiKey: ApiKey.DeleteTopics,
    minVersion: 1,
    maxVersion: 6,
    async handle(ctx, request) {
      const v = ctx.apiVersion;
      const refs: TopicRef[] =
        v >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
      const keyOf = (r: TopicRef): string => (r.topicId !== ZERO_UUID ? `id:${r.topicId}` : `name:${r.name}`);
      const count = new Map<string, number>();
      for (const r of refs) count.set(keyOf(r), (count.get(keyOf(r)) ?? 0) + 1);

      const response = DeleteTopicsResponse.defaults();
      // Names are required in results before v6; an id-only entry (v6) may leave it null.
      const answer = (r: TopicRef, errorCode: number, errorMessage: string | null): void => {
        response.responses.push({
          name: r.name ?? (v >= 6 ? null : ''),
          topicId: r.topicId,
          errorCode,
          errorMessage,
        });
      };
      const answered = new Set<string>();
      for (const r of refs) {
        const key = keyOf(r);
        if (answered.has(key)) continue;
        answered.add(key);
        if (r.name === null && r.topicId === ZERO_UUID) {
          answer(r, ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.');
        } else if (r.name !== null && r.topicId !== ZERO_UUID) {
          answer(r, ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.');
        } else if (count.get(key)! > 1) {
          answer(
            r,
            ErrorCode.INVALID_REQUEST,
            r.name === null ? 'Duplicate topic id.' : 'Duplicate topic name.',
          );
        } else if (!s.config.deleteTopicEnable) {
          answer(
            r,
            v < 3 ? ErrorCode.INVALID_REQUEST : ErrorCode.TOPIC_DELETION_DISABLED,
            'Topic deletion is disabled (delete.topic.enable=false).',
          );
        } else {
          const result = await s.admin.deleteTopic(
            r.name !== null ? { name: r.name } : { topicId: r.topicId },
          );
          if (!result.ok) {
            answer(r, result.errorCode, result.errorMessage);
            continue;
          }
          const deleted: DeletableTopicResult = {
            name: result.topic.name,
            topicId: result.topic.topicId,
            errorCode: ErrorCode.NONE,
            errorMessage: null,
          };
          response.responses.push(deleted);
          s.log.info({ topic: result.topic.name, topicId: result.topic.topicId }, 'Deleted topic');
        }
      }
      return response;
    },
  };
}
