/**
 * The "authorized operations" bitfields of Metadata (v8+), DescribeCluster and DescribeGroups: bit n
 * set means the client may perform the ACL operation with code n. Tributary has no authorizer yet,
 * and Kafka without one answers every operation a resource type supports, so these are constants.
 */

/** Kafka's AclOperation codes. */
const Op = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;

function bits(ops: number[]): number {
  return ops.reduce((field, op) => field | (1 << op), 0);
}

/** The schemas' default: the client did not ask for authorized operations. */
export const NOT_REQUESTED = -2147483648;

export const TOPIC_OPERATIONS = bits([
  Op.READ,
  Op.WRITE,
  Op.CREATE,
  Op.DELETE,
  Op.ALTER,
  Op.DESCRIBE,
  Op.DESCRIBE_CONFIGS,
  Op.ALTER_CONFIGS,
]);

export const CLUSTER_OPERATIONS = bits([
  Op.CREATE,
  Op.CLUSTER_ACTION,
  Op.DESCRIBE_CONFIGS,
  Op.ALTER_CONFIGS,
  Op.IDEMPOTENT_WRITE,
  Op.ALTER,
  Op.DESCRIBE,
]);

export const GROUP_OPERATIONS = bits([Op.READ, Op.DESCRIBE, Op.DELETE]);
