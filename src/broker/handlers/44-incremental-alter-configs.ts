/**
 * IncrementalAlterConfigs (key 44), versions 0–1: changes the named config overrides of a resource,
 * each by an operation: SET (0), DELETE (1, back to the default), APPEND (2) and SUBTRACT (3) for
 * list configs (cleanup.policy). A resource's changes apply together or not at all.
 *
 * v1 is the first flexible version. TOPIC resources change through the controller; BROKER and
 * BROKER_LOGGER resources are refused (see src/broker/alter-configs.ts).
 */
import { ApiKey } from '../../protocol/messages/index.ts';
import type { IncrementalAlterConfigsRequest } from '../../protocol/messages/incremental-alter-configs-request.ts';
import { IncrementalAlterConfigsResponse } from '../../protocol/messages/incremental-alter-configs-response.ts';
import { alterConfigs } from '../alter-configs.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function incrementalAlterConfigsHandler(
  s: BrokerServices,
): Handler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> {
  return {
    apiKey: ApiKey.IncrementalAlterConfigs,
    minVersion: 0,
    maxVersion: 1,
    async handle(_ctx, request) {
      const resources = request.resources.map((r) => ({
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configs: r.configs.map((c) => ({ name: c.name, value: c.value, op: c.configOperation })),
      }));
      const outcomes = await alterConfigs(s, resources, {
        mode: 'incremental',
        validateOnly: request.validateOnly,
      });
      return {
        ...IncrementalAlterConfigsResponse.defaults(),
        responses: request.resources.map((r, i) => ({
          ...outcomes[i],
          resourceType: r.resourceType,
          resourceName: r.resourceName,
        })),
      };
    },
  };
}
