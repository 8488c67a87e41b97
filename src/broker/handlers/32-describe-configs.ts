/**
 * DescribeConfigs (key 32), versions 1–4 (Kafka 4 dropped v0): the configs of topics and of this
 * broker, each with its value in force and where it comes from (a topic override, the broker's
 * properties, or the default).
 *
 * v1 adds includeSynonyms and configSource (replacing isDefault); v2 is v1; v3 adds
 * includeDocumentation and each config's type; v4 is the first flexible version.
 *
 * Resources: TOPIC (2) by name; BROKER (4) by this broker's id, or "" for the cluster-wide dynamic
 * defaults, of which Tributary has none (so the list is empty, as in a Kafka that never set one).
 * configurationKeys null or empty lists every config; names that are not configs are left out.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type {
  DescribeConfigsRequest,
  DescribeConfigsResource,
} from '../../protocol/messages/describe-configs-request.ts';
import {
  type DescribeConfigsResourceResult,
  DescribeConfigsResponse,
  type DescribeConfigsResult,
} from '../../protocol/messages/describe-configs-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import {
  brokerResourceId,
  type ConfigDescription,
  ConfigResourceType,
  describeBrokerConfigs,
  describeTopicConfigs,
} from '../config-description.ts';
import type { Handler } from '../handler.ts';
import { topicNameError } from '../../controller/image.ts';
import type { BrokerServices } from '../services.ts';

export function describeConfigsHandler(
  s: BrokerServices,
): Handler<DescribeConfigsRequest, DescribeConfigsResponse> {
  function result(
    resource: DescribeConfigsResource,
    outcome: { errorCode: number; errorMessage: string } | ConfigDescription[],
    o: { synonyms: boolean; documentation: boolean },
  ): DescribeConfigsResult {
    const base = { resourceType: resource.resourceType, resourceName: resource.resourceName };
    if (!Array.isArray(outcome)) return { ...base, ...outcome, configs: [] };
    const keys = resource.configurationKeys;
    const wanted = keys === null || keys.length === 0 ? null : new Set(keys);
    return {
      ...base,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      configs: outcome
        .filter((c) => wanted === null || wanted.has(c.name))
        .map((c): DescribeConfigsResourceResult => ({
          name: c.name,
          value: c.value,
          readOnly: c.readOnly,
          isDefault: false,
          configSource: c.source,
          isSensitive: false,
          synonyms: o.synonyms ? c.synonyms : [],
          configType: c.type,
          documentation: o.documentation ? c.documentation : null,
        })),
    };
  }

  function describe(
    resource: DescribeConfigsResource,
  ): { errorCode: number; errorMessage: string } | ConfigDescription[] {
    const name = resource.resourceName;
    switch (resource.resourceType) {
      case ConfigResourceType.TOPIC: {
        const invalid = topicNameError(name);
        if (invalid) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: invalid };
        const topic = s.metadata().topics.get(name);
        if (!topic) {
          return {
            errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: `Topic '${name}' does not exist.`,
          };
        }
        return describeTopicConfigs(topic.configs, s.config);
      }
      case ConfigResourceType.BROKER: {
        const id = brokerResourceId(name, s.config.nodeId);
        if (typeof id === 'string') return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: id };
        return id === null ? [] : describeBrokerConfigs(s.config);
      }
      default:
        return {
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `Unsupported resource type: ${resource.resourceType} (Tributary describes TOPIC (2) and BROKER (4) configs)`,
        };
    }
  }

  return {
    apiKey: ApiKey.DescribeConfigs,
    minVersion: 1,
    maxVersion: 4,
    handle(ctx, request) {
      const o = {
        synonyms: request.includeSynonyms,
        documentation: ctx.apiVersion >= 3 && request.includeDocumentation,
      };
      return {
        ...DescribeConfigsResponse.defaults(),
        results: request.resources.map((r) => result(r, describe(r), o)),
      };
    },
  };
}
