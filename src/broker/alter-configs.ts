/**
 * What AlterConfigs (every override replaced) and IncrementalAlterConfigs (named changes) share:
 * the checks Kafka makes before a change reaches its controller, and the dispatch by resource type.
 *
 * Topic configs change through the controller (validated, persisted, applied to the logs). Broker
 * properties are static in Tributary: a change to one is refused with INVALID_REQUEST, the code
 * Kafka gives for a broker config it cannot change while running (a DELETE, which finds no dynamic
 * override to remove, succeeds).
 */
import { ErrorCode } from '../protocol/error-codes.ts';
import { brokerResourceId, ConfigResourceType } from './config-description.ts';
import { topicNameError } from '../controller/image.ts';
import type { ConfigOp } from '../controller/api.ts';
import type { BrokerServices } from './services.ts';

/** IncrementalAlterConfigs' operation codes (Kafka's AlterConfigOp.OpType). */
const OP_NAMES = ['set', 'delete', 'append', 'subtract'] as const;

export interface AlterRequestResource {
  resourceType: number;
  resourceName: string;
  /** `op` is IncrementalAlterConfigs' operation code; AlterConfigs sets every entry (op 0). */
  configs: Array<{ name: string; value: string | null; op: number }>;
}

export interface AlterOutcome {
  errorCode: number;
  errorMessage: string | null;
}

const OK: AlterOutcome = { errorCode: ErrorCode.NONE, errorMessage: null };

function invalid(errorMessage: string): AlterOutcome {
  return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage };
}

/** Applies each resource's changes; one resource's failure leaves the others unaffected. */
export async function alterConfigs(
  s: BrokerServices,
  resources: readonly AlterRequestResource[],
  o: { mode: 'replace' | 'incremental'; validateOnly: boolean },
): Promise<AlterOutcome[]> {
  const seen = new Map<string, number>();
  const key = (r: AlterRequestResource): string => `${r.resourceType}/${r.resourceName}`;
  for (const r of resources) seen.set(key(r), (seen.get(key(r)) ?? 0) + 1);
  const outcomes: AlterOutcome[] = [];
  for (const r of resources) {
    outcomes.push(
      seen.get(key(r))! > 1 ? invalid('Each resource must appear at most once.') : await alterOne(s, r, o),
    );
  }
  return outcomes;
}

async function alterOne(
  s: BrokerServices,
  r: AlterRequestResource,
  o: { mode: 'replace' | 'incremental'; validateOnly: boolean },
): Promise<AlterOutcome> {
  const names = r.configs.map((c) => c.name);
  if (new Set(names).size !== names.length) return invalid('Error due to duplicate config keys');
  const unknownOp = r.configs.find((c) => OP_NAMES[c.op] === undefined);
  if (unknownOp) return invalid(`Unknown operation type ${unknownOp.op} for config ${unknownOp.name}`);
  const nulls = r.configs.filter((c) => c.value === null && OP_NAMES[c.op] !== 'delete').map((c) => c.name);
  if (nulls.length > 0) return invalid(`Null value not supported for : ${nulls.join(', ')}`);

  switch (r.resourceType) {
    case ConfigResourceType.TOPIC: {
      if (r.resourceName === '') return invalid('Default topic resources are not allowed.');
      const badName = topicNameError(r.resourceName);
      if (badName) return { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: badName };
      const change =
        o.mode === 'replace'
          ? { replace: Object.fromEntries(r.configs.map((c) => [c.name, c.value])) }
          : { ops: r.configs.map((c) => toOp(c)) };
      const result = await s.admin.alterTopicConfigs(r.resourceName, change, o.validateOnly);
      if (!result.ok) return { errorCode: result.errorCode, errorMessage: result.errorMessage };
      if (!o.validateOnly) {
        s.log.info({ topic: r.resourceName, configs: result.topic.configs }, 'Altered topic configs');
      }
      return OK;
    }
    case ConfigResourceType.BROKER: {
      const id = brokerResourceId(r.resourceName, s.config.nodeId);
      if (typeof id === 'string') return invalid(id);
      if (r.configs.length === 0) return OK;
      // There are no dynamic broker overrides to delete, so a DELETE changes nothing and succeeds,
      // as deleting an absent override does in Kafka: `kafka-reassign-partitions --verify` and
      // `--cancel` delete the replication throttles on every broker, set or not.
      if (o.mode === 'incremental' && r.configs.every((c) => OP_NAMES[c.op] === 'delete')) return OK;
      return invalid(
        `Cannot update these configs dynamically: ${names.join(', ')}. Tributary reads broker configs ` +
          'only at start-up (dynamic broker configs are not supported yet): set them in the ' +
          "broker's configuration and restart it.",
      );
    }
    case ConfigResourceType.BROKER_LOGGER:
      if (o.mode === 'incremental') {
        return invalid(
          'Changing log levels at run time is not supported by Tributary: set log.level and restart.',
        );
      }
      return invalid(`Unknown resource type ${r.resourceType}`);
    default:
      return invalid(`Unknown resource type ${r.resourceType}`);
  }
}

function toOp(c: { name: string; value: string | null; op: number }): ConfigOp {
  const op = OP_NAMES[c.op];
  return op === 'delete' ? { op, name: c.name } : { op, name: c.name, value: c.value };
}
