/**
 * What to do about one Topic resource, decided from what the caches and the cluster's metadata
 * image say: the next change to make in Kafka (at most one; the reconciler plans again after it),
 * and the resource's Ready and Managed conditions. Pure: no requests, no clock.
 *
 * Which side wins (docs/adr/0019):
 * - a managed resource (applied by a person or a GitOps tool) is the desired state: a topic missing
 *   from Kafka is created, partitions are added, configs are set to exactly spec.config — changes
 *   made through Kafka's admin API are reverted. What Kafka cannot undo (more partitions than the
 *   spec, another replication factor) is reported, not hidden.
 * - a discovered resource (made by the operator from a topic it found) follows the cluster: this
 *   plan changes nothing in Kafka for it; discovery keeps its spec equal to the topic.
 */
import type { AdminError, CreateTopicRequest } from '../../../controller/api.ts';
import { NO_LEADER, type MetadataImage, type TopicState } from '../../../controller/image.ts';
import { ErrorCode, errorName } from '../../../protocol/error-codes.ts';
import { isReservedTopicName } from '../../api/meta.ts';
import type { ConditionUpdate } from '../../runtime/conditions.ts';
import { isDiscovered, kafkaTopicName, type TopicObject as Topic } from './names.ts';

export const Managed = 'Managed';

export type TopicAction =
  | { readonly kind: 'create'; readonly request: CreateTopicRequest }
  | { readonly kind: 'grow'; readonly partitions: number }
  /** Sets the topic's overrides to exactly these; `reverted` names the keys Kafka had otherwise. */
  | { readonly kind: 'configure'; readonly configs: Record<string, string>; readonly reverted: string[] };

export interface TopicFacts {
  readonly topic: Topic;
  /** `missing` and `deleting` stop everything; otherwise the number of brokers the Cluster asks for. */
  readonly cluster: 'missing' | 'deleting' | { readonly replicas: number };
  /** The cluster's metadata, or undefined while its controller is not open on this replica. */
  readonly image: MetadataImage | undefined;
  /** The resource that owns this Kafka topic, when it is another one (a conflict). */
  readonly owner?: Topic;
}

export interface TopicPlan {
  readonly action?: TopicAction;
  /** Ready and Managed, for when no action is taken or the action succeeds. */
  readonly conditions: readonly ConditionUpdate[];
  /** Look again after this long even if nothing changes. */
  readonly requeueAfterMs?: number;
}

/** The Cluster or its controller may come: look again now and then. */
export const WAIT_FOR_CLUSTER_MS = 30_000;
export const WAIT_FOR_CONTROLLER_MS = 2_000;

export function planTopic(facts: TopicFacts): TopicPlan {
  const { topic } = facts;
  const name = kafkaTopicName(topic);
  const clusterName = topic.spec.clusterRef.name;
  const discovered = isDiscovered(topic);
  const managed: ConditionUpdate = discovered
    ? {
        type: Managed,
        status: 'False',
        reason: 'ClusterWins',
        message:
          'Discovered in the cluster: this resource follows the topic in Kafka. Apply a spec of your own to manage the topic from this resource.',
      }
    : {
        type: Managed,
        status: 'True',
        reason: 'ResourceWins',
        message:
          'This resource is the desired state: the topic is created, grown and configured to match it, and config changes made through Kafka are reverted.',
      };
  const result = (ready: Omit<ConditionUpdate, 'type'>, rest: Omit<TopicPlan, 'conditions'> = {}) => ({
    ...rest,
    conditions: [{ type: 'Ready', ...ready }, managed],
  });

  if (facts.cluster === 'missing') {
    return result(
      {
        status: 'False',
        reason: 'ClusterNotFound',
        message: `Cluster ${clusterName} does not exist in this namespace: create it, or set spec.clusterRef.name to an existing Cluster.`,
      },
      { requeueAfterMs: WAIT_FOR_CLUSTER_MS },
    );
  }
  if (facts.cluster === 'deleting') {
    return result({
      status: 'False',
      reason: 'ClusterDeleting',
      message: `Cluster ${clusterName} is being deleted.`,
    });
  }
  if (!facts.image) {
    return result(
      {
        status: 'False',
        reason: 'WaitingForController',
        message: `Waiting for the metadata controller of Cluster ${clusterName} to start.`,
      },
      { requeueAfterMs: WAIT_FOR_CONTROLLER_MS },
    );
  }
  if (facts.owner) {
    const other = facts.owner.metadata.name;
    return result({
      status: 'False',
      reason: 'TopicConflict',
      message: `Topic resource ${other} already manages Kafka topic ${name} (it is older, or it is managed and this one discovered): delete this resource, or set spec.topicName to another topic.`,
    });
  }
  const state = facts.image.topics.get(name);
  if (discovered) return planDiscovered(name, state, result);
  if (isReservedTopicName(name) || state?.internal) {
    return result({
      status: 'False',
      reason: 'InternalTopic',
      message: `${name} is an internal topic, kept by the brokers: a Topic resource cannot manage it. Delete this resource; set spec.discovery.internalTopics on the Cluster to see it as a discovered Topic.`,
    });
  }
  if (!state) {
    return {
      action: { kind: 'create', request: createRequest(name, topic) },
      conditions: [
        { type: 'Ready', status: 'False', reason: 'Creating', message: `Creating topic ${name}.` },
        managed,
      ],
    };
  }
  return planExisting(topic, state, facts.cluster.replicas, result);
}

type Result = (ready: Omit<ConditionUpdate, 'type'>, rest?: Omit<TopicPlan, 'conditions'>) => TopicPlan;

function planDiscovered(name: string, state: TopicState | undefined, result: Result): TopicPlan {
  if (!state) {
    return result({
      status: 'False',
      reason: 'TopicNotFound',
      message: `Topic ${name} is no longer in the cluster; this discovered resource is being removed.`,
    });
  }
  return result({
    status: 'True',
    reason: 'Discovered',
    message: `Mirrors topic ${name}: ${summary(state)}.`,
  });
}

function planExisting(topic: Topic, state: TopicState, brokers: number, result: Result): TopicPlan {
  const name = state.name;
  const spec = topic.spec;
  const partitions = state.partitions.length;
  const rf = state.partitions[0]?.replicas.length ?? 0;

  if (partitions < spec.partitions) {
    return {
      ...result(creating(`Adding partitions to topic ${name}: ${partitions} → ${spec.partitions}.`)),
      action: { kind: 'grow', partitions: spec.partitions },
    };
  }
  const desired = desiredConfigs(topic);
  const reverted = differingKeys(state.configs, desired);
  if (reverted.length > 0) {
    return {
      ...result(creating(`Setting the configs of topic ${name}.`)),
      action: { kind: 'configure', configs: desired, reverted },
    };
  }
  if (partitions > spec.partitions) {
    return result({
      status: 'False',
      reason: 'PartitionsAboveSpec',
      message: `Topic ${name} has ${partitions} partitions in Kafka and spec.partitions is ${spec.partitions}: Kafka cannot remove partitions; set spec.partitions to ${partitions}.`,
    });
  }
  if (rf !== spec.replicationFactor) {
    const hint =
      spec.replicationFactor > brokers
        ? ` The Cluster has ${brokers} brokers; a topic cannot have more replicas than brokers.`
        : '';
    return result({
      status: 'False',
      reason: 'ReplicationFactorMismatch',
      message: `Topic ${name} has ${rf} replicas per partition and spec.replicationFactor is ${spec.replicationFactor}: the operator does not change a topic's replication factor.${hint}`,
    });
  }
  const offline = state.partitions.filter((p) => p.leader === NO_LEADER).map((p) => p.partition);
  if (offline.length > 0) {
    return result({
      status: 'False',
      reason: 'PartitionsOffline',
      message: `Topic ${name} has no leader for ${offline.length === 1 ? 'partition' : 'partitions'} ${offline.join(', ')}: its replicas' brokers are down.`,
    });
  }
  return result({ status: 'True', reason: 'TopicReady', message: `Topic ${name}: ${summary(state)}.` });
}

function creating(message: string): Omit<ConditionUpdate, 'type'> {
  return { status: 'False', reason: 'Updating', message };
}

function createRequest(name: string, topic: Topic): CreateTopicRequest {
  return {
    name,
    numPartitions: topic.spec.partitions,
    replicationFactor: topic.spec.replicationFactor,
    assignments: [],
    configs: desiredConfigs(topic),
  };
}

/** spec.config as the controller stores it (values trimmed). */
export function desiredConfigs(topic: Topic): Record<string, string> {
  return Object.fromEntries(Object.entries(topic.spec.config ?? {}).map(([k, v]) => [k, v.trim()]));
}

/** Keys whose value differs between the two override sets, sorted. */
export function differingKeys(a: Record<string, string>, b: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => a[k] !== b[k]).sort();
}

function summary(state: TopicState): string {
  const rf = state.partitions[0]?.replicas.length ?? 0;
  return `${state.partitions.length} partitions, ${rf} replicas each`;
}

/**
 * Of the resources naming one Kafka topic in one Cluster, the one that owns it: a managed resource
 * before a discovered one, then the oldest, then by name. Resources being deleted still own their
 * topic until they are gone (their finalizer may be deleting it).
 */
export function topicOwner(claimants: readonly Topic[]): Topic | undefined {
  const rank = (t: Topic) =>
    [isDiscovered(t) ? 1 : 0, t.metadata.creationTimestamp ?? '', t.metadata.name] as const;
  return [...claimants].sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! < rb[i]! ? -1 : 1;
    return 0;
  })[0];
}

/** Ready when Kafka refused `action`: the reason, and a message that says what to change. */
export function refused(action: TopicAction, error: AdminError, brokers: number): TopicPlan {
  const code = error.errorCode;
  const what =
    action.kind === 'create'
      ? 'create the topic'
      : action.kind === 'grow'
        ? 'add partitions'
        : 'set the configs';
  const because = `Kafka refused to ${what}: ${error.errorMessage}`;
  switch (code) {
    case ErrorCode.INVALID_CONFIG:
      return refusal(
        'InvalidConfig',
        `${because} Fix that key in spec.config; nothing of this change was applied.`,
      );
    case ErrorCode.INVALID_REPLICATION_FACTOR:
      return refusal(
        'InvalidReplicationFactor',
        `${because} The Cluster asks for ${brokers} brokers: delete this Topic and apply it again with a replicationFactor of at most ${brokers}, or scale the Cluster.`,
        WAIT_FOR_CLUSTER_MS,
      );
    case ErrorCode.INVALID_PARTITIONS:
    case ErrorCode.POLICY_VIOLATION:
      return refusal('InvalidPartitions', `${because} Change spec.partitions.`);
    case ErrorCode.INVALID_TOPIC_EXCEPTION:
      return refusal('InvalidTopicName', `${because} Set spec.topicName to a name Kafka accepts.`);
    case ErrorCode.TOPIC_ALREADY_EXISTS:
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_CONTROLLER:
      // A race with another change, or a controller that was just replaced: plan again shortly.
      return refusal('Retrying', because, WAIT_FOR_CONTROLLER_MS);
    default:
      return refusal('KafkaError', `${because} (${errorName(code)})`, WAIT_FOR_CLUSTER_MS);
  }
}

function refusal(reason: string, message: string, requeueAfterMs?: number): TopicPlan {
  return { conditions: [{ type: 'Ready', status: 'False', reason, message }], requeueAfterMs };
}
