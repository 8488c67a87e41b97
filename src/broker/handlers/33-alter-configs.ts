/**
 * AlterConfigs (key 33), versions 0–2: replaces every config override of a resource with the ones
 * given (a config left out returns to its default). Deprecated in Kafka for
 * IncrementalAlterConfigs, but kafkajs and older tools still send it.
 *
 * v1 is v0 with throttling; v2 is the first flexible version. TOPIC resources change through the
 * controller; BROKER resources are refused (see src/broker/alter-configs.ts).
 */
import type { AlterConfigsRequest } from '../../protocol/messages/alter-configs-request.ts';
import { AlterConfigsResponse } from '../../protocol/messages/alter-configs-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import { alterConfigs } from '../alter-configs.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function alterConfigsHandler(s: BrokerServices): Handler<AlterConfigsRequest, AlterConfigsResponse> {
  return {
    apiKey: ApiKey.AlterConfigs,
    minVersion: 0,
    maxVersion: 2,
    async handle(_ctx, request) {
      const resources = request.resources.map((r) => ({
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: r.configs.map((c) => ({ name: c.name, value: c.value, op: 0 })),
      }));
      const outcomes = await alterConfigs(s, resources, {
        mode: 'replace',
        validateOnly: request.validateOnly,
      });
      return {
        ...AlterConfigsResponse.defaults(),
        responses: request.resources.map((r, i) => ({
          ...outcomes[i],
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        })),
      };
    },
  };
}
