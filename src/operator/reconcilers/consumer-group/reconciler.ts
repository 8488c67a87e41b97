/**
 * The ConsumerGroup reconciler: every `refreshIntervalSeconds` it reads the group from Kafka
 * (./admins.ts), carries out a pending offset reset (./reset.ts), writes the status
 * (./status.ts) and exports the lag (./metrics.ts). Deleting the resource deletes the group's
 * offsets in Kafka, behind the finalizer `tributary.dev/consumergroup-offsets`, once the group has
 * no members.
 *
 * Status is written with server-side apply on the status subresource under the field manager
 * `tributary-groups`, which owns every status field of the kind; it is written only when it differs
 * from the cached one. Kafka being unreachable is reported in Ready, not thrown: the next refresh
 * tries again (sooner than the interval). What only a changed object can fix (a missing Cluster)
 * is a condition and a slow requeue — the Cluster's own events wake the resource earlier.
 */
import type { Clock } from '../../../common/clock.ts';
import { ErrorCode, errorName } from '../../../protocol/error-codes.ts';
import { ConnectionError } from '../../../protocol/kafka-connection.ts';
import {
  API_VERSION,
  ConsumerGroupResource,
  withDefaults,
  type Cluster,
  type ConsumerGroup,
  type ConsumerGroupStatus,
  type OffsetResetStatus,
} from '../../api/index.ts';
import { EARLIEST, KafkaAdminError, LATEST, partitionKey, type KafkaAdmin } from '../../kafka/admin.ts';
import type { CommittedOffset, GroupDescription, TopicPartition } from '../../kafka/types.ts';
import { isNotFound } from '../../runtime/api-errors.ts';
import { APPLY_PATCH } from '../../runtime/apply.ts';
import type { KubeClient } from '../../runtime/client.ts';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { Finalizers, hasFinalizer } from '../../runtime/finalizers.ts';
import { resourcePath, ResourceMapper, type ResourceType } from '../../runtime/resources.ts';
import type { Lookup } from '../cluster/reconciler.ts';
import type { ClusterAdmins, ClusterConnection } from './admins.ts';
import { ANNOTATION_KEEP_OFFSETS, groupIdOf } from './discovery.ts';
import type { GroupMetrics } from './metrics.ts';
import { describeMembers, observedStatus, type ObservedStatus } from './observe.ts';
import { groupBecameActive, resetOutcome, resetScope, resetTargets } from './reset.ts';
import { groupStatus, type Health } from './status.ts';

export const FINALIZER = 'tributary.dev/consumergroup-offsets';
/** The field manager of ConsumerGroup status, and of the resources discovery creates. */
export const GROUPS_FIELD_MANAGER = 'tributary-groups';

export const ConsumerGroups: ResourceType = {
  apiVersion: API_VERSION,
  kind: 'ConsumerGroup',
  plural: 'consumergroups',
  namespaced: true,
};

/** The metadata controller is not open yet (a new term): look again soon. */
const WAIT_FOR_CONTROLLER_MS = 1000;
/** A ConsumerGroup whose Cluster is missing; the Cluster's creation wakes it sooner. */
const WAIT_FOR_CLUSTER_MS = 60_000;
/** Kafka did not answer: try again before the interval. */
const RETRY_KAFKA_MS = 2000;

export interface ConsumerGroupReconcilerOptions {
  readonly client: KubeClient;
  readonly caches: { readonly clusters: Lookup<Cluster>; readonly consumerGroups: Lookup<ConsumerGroup> };
  readonly admins: ClusterAdmins;
  readonly events: Pick<EventRecorder, 'record'>;
  readonly metrics: GroupMetrics;
  readonly clock: Clock;
}

type Stored = ConsumerGroup & { metadata: { namespace: string; deletionTimestamp?: string } };

export class ConsumerGroupReconciler {
  readonly #o: ConsumerGroupReconcilerOptions;
  readonly #finalizers: Finalizers;

  constructor(options: ConsumerGroupReconcilerOptions) {
    this.#o = options;
    this.#finalizers = new Finalizers({
      client: options.client,
      resources: new ResourceMapper(options.client),
    });
  }

  readonly reconcile = async (key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
    const found = this.#o.caches.consumerGroups.get(key);
    if (!found) {
      this.#o.metrics.forget(key);
      return;
    }
    const cg = {
      ...withDefaults(ConsumerGroupResource, found),
      apiVersion: API_VERSION,
      kind: 'ConsumerGroup',
    } as Stored;
    const { namespace } = cg.metadata;
    const clusterName = cg.spec.clusterRef.name;
    const clusterKey = `${namespace}/${clusterName}`;
    const cluster = this.#o.caches.clusters.get(clusterKey);
    const clusterGone = !cluster || Boolean(cluster.metadata.deletionTimestamp);
    const refreshMs = (cg.spec.refreshIntervalSeconds ?? 10) * 1000;

    if (cg.metadata.deletionTimestamp) {
      this.#o.metrics.forget(key);
      return this.#finalize(cg, clusterGone, refreshMs, ctx);
    }
    if (clusterGone) {
      this.#o.metrics.forget(key);
      await this.#write(cg, {
        kind: 'unavailable',
        reason: 'ClusterNotFound',
        message:
          `Cluster ${clusterName} does not exist in namespace ${namespace}: create it, or make this ` +
          `ConsumerGroup again with spec.clusterRef.name naming an existing Cluster`,
      });
      return { requeueAfterMs: WAIT_FOR_CLUSTER_MS };
    }
    if (!hasFinalizer(cg, FINALIZER)) await this.#finalizers.add(cg, FINALIZER);
    const conn = this.#o.admins.get(clusterKey);
    if (!conn) return { requeueAfterMs: WAIT_FOR_CONTROLLER_MS };
    if (conn.image().brokers.length === 0) {
      await this.#write(cg, {
        kind: 'unavailable',
        reason: 'ClusterUnavailable',
        message: `Cluster ${clusterName} has no live brokers to read group ${groupIdOf(cg)} from`,
      });
      return { requeueAfterMs: RETRY_KAFKA_MS };
    }

    let observed: ObservedStatus;
    let offsetReset: OffsetResetStatus | undefined;
    try {
      const r = await this.#observe(cg, conn);
      observed = r.observed;
      offsetReset = r.offsetReset;
    } catch (err) {
      if (!isKafkaFailure(err)) throw err;
      ctx.log.warn({ err }, 'Failed to read the consumer group from Kafka');
      await this.#write(cg, {
        kind: 'unavailable',
        reason: 'KafkaUnavailable',
        message: `could not read group ${groupIdOf(cg)} from Cluster ${clusterName}: ${(err as Error).message}`,
      });
      return { requeueAfterMs: Math.min(refreshMs, RETRY_KAFKA_MS) };
    }
    await this.#write(cg, { kind: 'observed', observed, cluster: clusterName }, offsetReset);
    this.#o.metrics.update(key, { namespace, cluster: clusterName, group: observed.groupId }, observed);
    return { requeueAfterMs: refreshMs };
  };

  /** Reads the group, carries out a reset that may run now, and reads the offsets after it. */
  async #observe(
    cg: Stored,
    { admin, image }: ClusterConnection,
  ): Promise<{ observed: ObservedStatus; offsetReset?: OffsetResetStatus }> {
    const groupId = groupIdOf(cg);
    const group = await admin.describeGroup(groupId);
    let committed = await admin.fetchOffsets(groupId);
    const previous = cg.status?.offsetReset;
    const topics = new Map(
      [...image().topics].map(([name, t]) => [name, t.partitions.map((p) => p.partition)]),
    );
    const scope = resetScope({
      reset: cg.spec.offsetReset,
      previous,
      group,
      committed,
      topics,
      nowMs: this.#o.clock.now(),
    });
    let offsetReset: OffsetResetStatus | undefined;
    if (scope.kind === 'pending' || scope.kind === 'failed') offsetReset = scope.status;
    if (scope.kind === 'run') {
      offsetReset = await this.#reset(cg, admin, group, scope.partitions, committed);
      committed = await admin.fetchOffsets(groupId);
    }
    if (
      offsetReset &&
      (offsetReset.state !== previous?.state || offsetReset.requestId !== previous.requestId)
    ) {
      await this.#announce(cg, offsetReset);
    }
    const logEnd = await admin.listOffsets(committed, LATEST);
    return { observed: observedStatus({ group, committed, logEnd }), offsetReset };
  }

  async #reset(
    cg: Stored,
    admin: KafkaAdmin,
    group: GroupDescription,
    partitions: readonly TopicPartition[],
    committed: readonly CommittedOffset[],
  ): Promise<OffsetResetStatus> {
    const reset = cg.spec.offsetReset!;
    const [start, end, atTime] = await Promise.all([
      admin.listOffsets(partitions, EARLIEST),
      admin.listOffsets(partitions, LATEST),
      reset.to === 'timestamp'
        ? admin.listOffsets(partitions, BigInt(Date.parse(reset.timestamp!)))
        : undefined,
    ]);
    for (const tp of partitions) {
      for (const m of [start, end, atTime]) {
        const r = m?.get(partitionKey(tp));
        // Topics and partitions were checked against the image: a refusal here is a leader moving.
        if (m && r?.errorCode !== ErrorCode.NONE) {
          throw new KafkaAdminError(
            `could not read the log offsets of ${tp.topic}-${tp.partition}: ${errorName(r?.errorCode ?? -1)}`,
            r?.errorCode,
          );
        }
      }
    }
    const offsetsOf = (m: Map<string, { offset: bigint }>) => new Map([...m].map(([k, v]) => [k, v.offset]));
    const targets = resetTargets(reset, partitions, {
      start: offsetsOf(start),
      end: offsetsOf(end),
      atTime: atTime && offsetsOf(atTime),
    });
    const results = await admin.commitOffsets(group.groupId, targets);
    const nowMs = this.#o.clock.now();
    if (results.some((r) => groupBecameActive(r.errorCode))) {
      // Members joined between the read and the commit: the next round waits for them to leave.
      const again = await admin.describeGroup(group.groupId);
      const scope = resetScope({
        reset,
        previous: cg.status?.offsetReset,
        group: again,
        committed,
        topics: new Map(),
        nowMs,
      });
      if (scope.kind === 'pending') return scope.status;
    }
    return resetOutcome(reset, group.groupId, targets, results, cg.status?.offsetReset, nowMs);
  }

  async #finalize(
    cg: Stored,
    clusterGone: boolean,
    refreshMs: number,
    ctx: ReconcileContext,
  ): Promise<ReconcileResult | void> {
    if (!hasFinalizer(cg, FINALIZER)) return;
    const groupId = groupIdOf(cg);
    // The Cluster went (its data with it), or whoever deleted this asked to keep the offsets
    // (discovery does, for a group that is gone).
    if (clusterGone || cg.metadata.annotations?.[ANNOTATION_KEEP_OFFSETS] !== undefined) {
      await this.#finalizers.remove(cg, FINALIZER);
      return;
    }
    const conn = this.#o.admins.get(`${cg.metadata.namespace}/${cg.spec.clusterRef.name}`);
    if (!conn) return { requeueAfterMs: WAIT_FOR_CONTROLLER_MS };
    const code = await conn.admin.deleteGroup(groupId);
    if (code === ErrorCode.NONE || code === ErrorCode.GROUP_ID_NOT_FOUND) {
      if (code === ErrorCode.NONE) {
        ctx.log.info({ group: groupId }, `Deleted group ${groupId} and its offsets`);
        await this.#o.events.record(cg, {
          type: 'Normal',
          reason: 'DeletedOffsets',
          action: 'Delete',
          note: `Deleted group ${groupId} and its committed offsets`,
        });
      }
      await this.#finalizers.remove(cg, FINALIZER);
      return;
    }
    if (code !== ErrorCode.NON_EMPTY_GROUP) {
      throw new KafkaAdminError(`could not delete group ${groupId}: ${errorName(code)}`, code);
    }
    const group = await conn.admin.describeGroup(groupId);
    const n = group.members.length;
    await this.#write(cg, {
      kind: 'unavailable',
      reason: 'WaitingForMembersToLeave',
      message:
        `deleting the offsets of group ${groupId} waits for its ${n} active member${n === 1 ? '' : 's'} ` +
        `to leave: ${describeMembers(group)}`,
    });
    return { requeueAfterMs: refreshMs };
  }

  async #announce(cg: Stored, r: OffsetResetStatus): Promise<void> {
    const type = r.state === 'Failed' ? 'Warning' : 'Normal';
    const reason = `OffsetReset${r.state}`;
    await this.#o.events.record(cg, {
      type,
      reason,
      action: 'ResetOffsets',
      note: `request ${r.requestId}: ${r.message}`,
    });
  }

  async #write(cg: Stored, health: Health, offsetReset?: OffsetResetStatus): Promise<void> {
    const { status, changed } = groupStatus({
      previous: cg.status,
      generation: cg.metadata.generation,
      health,
      offsetReset,
      nowMs: this.#o.clock.now(),
    });
    if (!changed) return;
    const { name, namespace } = cg.metadata;
    try {
      await this.#o.client.request({
        method: 'PATCH',
        path: resourcePath(ConsumerGroups, { namespace, name, subresource: 'status' }),
        query: { fieldManager: GROUPS_FIELD_MANAGER, force: true },
        contentType: APPLY_PATCH,
        body: {
          apiVersion: API_VERSION,
          kind: 'ConsumerGroup',
          metadata: { name, namespace },
          status: status as ConsumerGroupStatus,
        },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err; // deleted meanwhile
    }
  }
}

function isKafkaFailure(err: unknown): boolean {
  return err instanceof KafkaAdminError || err instanceof ConnectionError;
}
