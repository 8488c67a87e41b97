/**
 * The Topic reconciler: makes Kafka hold what a managed Topic resource says (./plan.ts decides),
 * deletes the topic behind a resource with `deletionPolicy: Delete`, and writes the resource's
 * Ready and Managed conditions with observedGeneration. Partition state and health conditions are
 * the status projector's (../../metadata/projector.ts): the two write under different field
 * managers and never touch each other's fields.
 *
 * It acts through the Cluster's metadata controller in this process (the operator replica that
 * leads), so it runs only while leading; a Cluster whose controller is not open yet is waited for.
 */
import type { ControllerService } from '../../../controller/api.ts';
import type { Clock } from '../../../common/clock.ts';
import { API_VERSION, type Cluster, type Topic } from '../../api/index.ts';
import type { Applier } from '../../runtime/apply.ts';
import { isNotFound } from '../../runtime/api-errors.ts';
import { type ConditionUpdate, findCondition, setConditions } from '../../runtime/conditions.ts';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { type Finalizers, hasFinalizer } from '../../runtime/finalizers.ts';
import { parseKey, type KubeObject } from '../../runtime/objects.ts';
import type { Lookup } from '../cluster/reconciler.ts';
import { isDiscovered, kafkaTopicName, TOPIC_FINALIZER, type TopicObject } from './names.ts';
import {
  planTopic,
  refused,
  topicOwner,
  type TopicAction,
  type TopicFacts,
  type TopicPlan,
  WAIT_FOR_CONTROLLER_MS,
} from './plan.ts';

export interface TopicReconcilerOptions {
  readonly caches: { readonly clusters: Lookup<Cluster>; readonly topics: Lookup<Topic> };
  /** The Cluster's metadata controller while it is open on this replica. */
  readonly metadata: { service(clusterKey: string): ControllerService | undefined };
  /** Applies status under the Topic reconciler's own field manager. */
  readonly statusApplier: Pick<Applier, 'applyStatus'>;
  readonly finalizers: Pick<Finalizers, 'add' | 'remove'>;
  readonly events: Pick<EventRecorder, 'normal' | 'warning'>;
  readonly clock: Clock;
}

/** Changes made in one reconcile before writing status; more wait for the next image. */
const MAX_ACTIONS = 4;

export class TopicReconciler {
  readonly #o: TopicReconcilerOptions;

  constructor(o: TopicReconcilerOptions) {
    this.#o = o;
  }

  readonly reconcile = async (key: string, _ctx: ReconcileContext): Promise<ReconcileResult | void> => {
    let topic = this.#o.caches.topics.get(key) as TopicObject | undefined;
    if (!topic) return;
    const clusterKey = `${parseKey(key).namespace}/${topic.spec.clusterRef.name}`;
    const cluster = this.#o.caches.clusters.get(clusterKey);
    const service = this.#o.metadata.service(clusterKey);
    if (topic.metadata.deletionTimestamp) return this.#finalize(topic, cluster, service);

    const deleteWithResource =
      !isDiscovered(topic) &&
      topic.spec.deletionPolicy === 'Delete' &&
      !!cluster &&
      !cluster.metadata.deletionTimestamp;
    if (deleteWithResource && !hasFinalizer(topic, TOPIC_FINALIZER)) {
      topic = await this.#o.finalizers.add(topic, TOPIC_FINALIZER);
    } else if (!deleteWithResource && hasFinalizer(topic, TOPIC_FINALIZER)) {
      topic = (await this.#o.finalizers.remove(topic, TOPIC_FINALIZER)) ?? topic;
    }

    const facts = (): TopicFacts => ({
      topic: topic!,
      cluster: !cluster
        ? 'missing'
        : cluster.metadata.deletionTimestamp
          ? 'deleting'
          : { replicas: cluster.spec.replicas },
      image: service?.image(),
      owner: this.#owner(topic!),
    });
    let plan = planTopic(facts());
    for (let n = 0; plan.action && service && n < MAX_ACTIONS; n++) {
      const failed = await this.#act(topic, service, plan.action, cluster?.spec.replicas ?? 0);
      if (failed) {
        plan = {
          ...failed,
          conditions: [...failed.conditions, ...plan.conditions.filter((c) => c.type !== 'Ready')],
        };
        break;
      }
      plan = planTopic(facts());
    }
    await this.#writeStatus(topic, plan.conditions);
    return plan.requeueAfterMs === undefined ? undefined : { requeueAfterMs: plan.requeueAfterMs };
  };

  /** The resource owning this one's Kafka topic, when it is another one. */
  #owner(topic: TopicObject): TopicObject | undefined {
    const name = kafkaTopicName(topic);
    const claimants = this.#o.caches.topics
      .list(topic.metadata.namespace)
      .filter((t) => t.spec.clusterRef.name === topic.spec.clusterRef.name && kafkaTopicName(t) === name);
    const owner = topicOwner(claimants as TopicObject[]);
    return owner && owner.metadata.uid !== topic.metadata.uid ? owner : undefined;
  }

  /** Carries out `action`; the refusal as a plan when Kafka says no. */
  async #act(
    topic: TopicObject,
    service: ControllerService,
    action: TopicAction,
    brokers: number,
  ): Promise<TopicPlan | undefined> {
    const name = kafkaTopicName(topic);
    const result =
      action.kind === 'create'
        ? await service.createTopic(action.request, false)
        : action.kind === 'grow'
          ? await service.createPartitions(name, action.partitions, null, false)
          : await service.alterTopicConfigs(name, { replace: action.configs }, false);
    if (!result.ok) return refused(action, result, brokers);
    const regarding = { ...topic, apiVersion: API_VERSION, kind: 'Topic' };
    if (action.kind === 'create' && topic.status?.topicId) {
      void this.#o.events.warning(
        regarding,
        'TopicRecreated',
        'Create',
        `Topic ${name} was deleted in Kafka; created it again as this resource says.`,
      );
    } else if (action.kind === 'configure' && topic.status?.topicId) {
      void this.#o.events.normal(
        regarding,
        'ConfigApplied',
        'AlterConfigs',
        `Set ${action.reverted.join(', ')} on topic ${name} to match spec.config.`,
      );
    } else if (action.kind === 'grow') {
      void this.#o.events.normal(
        regarding,
        'PartitionsAdded',
        'CreatePartitions',
        `Topic ${name} now has ${action.partitions} partitions.`,
      );
    }
    return undefined;
  }

  /** A deleted resource: its topic goes too if the resource held the finalizer (deletionPolicy Delete). */
  async #finalize(
    topic: TopicObject,
    cluster: (Cluster & KubeObject) | undefined,
    service: ControllerService | undefined,
  ): Promise<ReconcileResult | void> {
    if (!hasFinalizer(topic, TOPIC_FINALIZER)) return;
    const name = kafkaTopicName(topic);
    // Without its Cluster there is no topic left to delete; another owner keeps its topic.
    if (cluster && !cluster.metadata.deletionTimestamp && !this.#owner(topic)) {
      if (!service) {
        await this.#writeStatus(topic, [
          waiting(
            `Waiting for the metadata controller of Cluster ${cluster.metadata.name} to delete topic ${name}.`,
          ),
        ]);
        return { requeueAfterMs: WAIT_FOR_CONTROLLER_MS };
      }
      if (service.image().topics.has(name)) {
        const result = await service.deleteTopic({ name });
        if (!result.ok && service.image().topics.has(name)) {
          await this.#writeStatus(topic, [
            {
              type: 'Ready',
              status: 'False',
              reason: 'DeleteFailed',
              message: `Kafka refused to delete topic ${name}: ${result.errorMessage}`,
            },
          ]);
          return { requeueAfterMs: WAIT_FOR_CONTROLLER_MS * 5 };
        }
        void this.#o.events.normal(
          { ...topic, apiVersion: API_VERSION, kind: 'Topic' },
          'TopicDeleted',
          'Delete',
          `Deleted topic ${name} (deletionPolicy: Delete).`,
        );
      }
    }
    await this.#o.finalizers.remove(topic, TOPIC_FINALIZER);
  }

  /** Ready and Managed with observedGeneration, written only when they change. */
  async #writeStatus(topic: TopicObject, updates: readonly ConditionUpdate[]): Promise<void> {
    const generation = topic.metadata.generation ?? 0;
    const stamped = updates.map((u) => ({ ...u, observedGeneration: generation }));
    const own = new Set(stamped.map((u) => u.type));
    const current = (topic.status?.conditions ?? []).filter((c) => own.has(c.type));
    const next = setConditions(current, stamped, this.#o.clock.now());
    if (!next.changed && current.length === stamped.length && topic.status?.observedGeneration === generation)
      return;
    const conditions = stamped.map((u) => findCondition(next.conditions, u.type)!);
    await this.#o.statusApplier
      .applyStatus({
        apiVersion: API_VERSION,
        kind: 'Topic',
        metadata: { name: topic.metadata.name, namespace: topic.metadata.namespace },
        status: { observedGeneration: generation, conditions },
      })
      .catch((err: unknown) => {
        if (!isNotFound(err)) throw err; // deleted meanwhile: nothing to report on
      });
  }
}

function waiting(message: string): ConditionUpdate {
  return { type: 'Ready', status: 'False', reason: 'WaitingForController', message };
}
