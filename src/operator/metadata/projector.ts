/**
 * Writes ./projection.ts's projections of each Cluster's metadata image: `Cluster.status` (cluster
 * id, metadata version, broker registry, BrokersRegistered / PartitionsUnderReplicated /
 * PartitionsOffline) and `Topic.status` of every Topic resource of the Cluster whose topic the
 * image has, and records the Events of failovers on the Cluster.
 *
 * `project()` never blocks the controller: it computes the Events (cheap: a diff of registrations)
 * and remembers the image; the writes follow on a timer, at most one round per Cluster every
 * `intervalMs`, always of the latest image, so a burst of images costs one write per object that
 * changed. Writes are server-side apply on the status subresource under the field manager
 * `tributary-metadata`, not the reconcilers' `tributary-operator`: each owns its own fields and
 * conditions, and neither takes the other's. A write that fails is logged and the round retried
 * with backoff; nothing is thrown to the caller.
 *
 * Only the replica that leads writes: the caller projects only while leading, and `stillLeading()`
 * is asked again before every write and Event.
 */
import type { Clock, TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { isNewer, type MetadataImage } from '../../controller/image.ts';
import { API_VERSION, type Cluster, type Topic } from '../api/index.ts';
import { isNotFound, retryOnConflict } from '../runtime/api-errors.ts';
import { APPLY_PATCH } from '../runtime/apply.ts';
import { backoffDelay } from '../runtime/backoff.ts';
import type { KubeClient } from '../runtime/client.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { objectKey, parseKey, type KubeObject } from '../runtime/objects.ts';
import { resourcePath, type ResourceType } from '../runtime/resources.ts';
import type { Lookup } from '../reconcilers/cluster/reconciler.ts';
import {
  brokerEvents,
  projectCluster,
  projectTopic,
  type ProjectOptions,
  type Projection,
} from './projection.ts';

/** The field manager of the projected status fields. */
export const METADATA_FIELD_MANAGER = 'tributary-metadata';

export interface StatusProjectorOptions {
  readonly client: Pick<KubeClient, 'request'>;
  readonly caches: { readonly clusters: Lookup<Cluster>; readonly topics: Lookup<Topic> };
  readonly events: Pick<EventRecorder, 'record'>;
  readonly clock: Clock;
  readonly log: Logger;
  /** Asked before every write; false: write nothing (this replica lost the Lease). */
  readonly stillLeading?: () => boolean;
  /** The least time between two write rounds of one Cluster (200 ms). */
  readonly intervalMs?: number;
  /** Status writes in flight at once per Cluster (8). */
  readonly concurrency?: number;
}

const Clusters: ResourceType = {
  apiVersion: API_VERSION,
  kind: 'Cluster',
  plural: 'clusters',
  namespaced: true,
};
const Topics: ResourceType = { apiVersion: API_VERSION, kind: 'Topic', plural: 'topics', namespaced: true };

const RETRY = { initialMs: 1000, maxMs: 30_000 };
/** A fencing reason not matched by an image within this long is stale. */
const REASON_TTL_MS = 60_000;

type Conditions = NonNullable<NonNullable<Cluster['status']>['conditions']>;

/** What this projector last wrote to one object. */
interface Written {
  readonly uid: string | undefined;
  readonly digest: string;
  /** The resourceVersion the projection was computed from, and the one the write returned. */
  readonly before: string | undefined;
  readonly after: string | undefined;
  readonly conditions: Conditions;
}

/** One Cluster's images and writes. */
interface Slot {
  /** The last image seen: Events are between it and the next. */
  image?: MetadataImage;
  readonly seenActive: Set<number>;
  readonly reasons: Map<number, { reason: string; at: number }>;
  readonly written: Map<string, Written>;
  timer?: TimerHandle;
  running?: Promise<void>;
  /** Another round is wanted once the running one ends. */
  again: boolean;
  lastRoundAt: number;
  failures: number;
}

export class StatusProjector {
  readonly #o: StatusProjectorOptions;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #slots = new Map<string, Slot>();
  readonly #recording = new Set<Promise<void>>();
  #closed = false;

  constructor(options: StatusProjectorOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: 'status-projector' });
    this.#intervalMs = options.intervalMs ?? 200;
  }

  /**
   * A new image of the Cluster `namespace/name`: records the Events since the previous one and
   * schedules the status writes. An image older than one already seen is ignored.
   */
  project(clusterKey: string, image: MetadataImage): void {
    if (this.#closed) return;
    const slot = this.#slot(clusterKey);
    if (slot.image && !isNewer(image, slot.image)) return;
    const now = this.#o.clock.now();
    for (const [id, r] of slot.reasons) if (now - r.at > REASON_TTL_MS) slot.reasons.delete(id);
    const events = brokerEvents(slot.image, image, {
      reasons: new Map([...slot.reasons].map(([id, r]) => [id, r.reason])),
      seenActive: slot.seenActive,
    });
    for (const r of image.registrations) {
      if (!r.fenced) slot.seenActive.add(r.nodeId);
      else slot.reasons.delete(r.nodeId);
    }
    slot.image = image;
    if (events.length > 0) this.#record(clusterKey, events);
    this.#schedule(clusterKey, slot);
  }

  /**
   * Writes the latest image again (no Events): a Topic resource of the Cluster was created or
   * changed, or the Cluster's spec was, and its status should follow without waiting for an image.
   */
  refresh(clusterKey: string): void {
    const slot = this.#slots.get(clusterKey);
    if (!this.#closed && slot?.image) this.#schedule(clusterKey, slot);
  }

  /**
   * Why broker `nodeId` is about to be fenced ("pod orders-broker-2 deleted"), for the Event of the
   * image that fences it. Call it before `Controller.fenceBroker`.
   */
  noteFenceReason(clusterKey: string, nodeId: number, reason: string): void {
    if (this.#closed) return;
    this.#slot(clusterKey).reasons.set(nodeId, { reason, at: this.#o.clock.now() });
  }

  /** Forgets a Cluster whose controller closed here: its next image starts afresh (no Events). */
  forget(clusterKey: string): void {
    const slot = this.#slots.get(clusterKey);
    if (!slot) return;
    if (slot.timer) this.#o.clock.clearTimeout(slot.timer);
    this.#slots.delete(clusterKey);
  }

  /** Stops writing; resolves once the writes and Events in flight are done. */
  async close(): Promise<void> {
    this.#closed = true;
    const running: Promise<void>[] = [...this.#recording];
    for (const slot of this.#slots.values()) {
      if (slot.timer) this.#o.clock.clearTimeout(slot.timer);
      slot.timer = undefined;
      if (slot.running) running.push(slot.running);
    }
    await Promise.allSettled(running);
  }

  #slot(clusterKey: string): Slot {
    let slot = this.#slots.get(clusterKey);
    if (!slot) {
      slot = {
        seenActive: new Set(),
        reasons: new Map(),
        written: new Map(),
        again: false,
        lastRoundAt: -Infinity,
        failures: 0,
      };
      this.#slots.set(clusterKey, slot);
    }
    return slot;
  }

  #leading(): boolean {
    return !this.#closed && (this.#o.stillLeading?.() ?? true);
  }

  #record(clusterKey: string, events: ReturnType<typeof brokerEvents>): void {
    const cluster = this.#o.caches.clusters.get(clusterKey);
    if (!cluster || !this.#leading()) return;
    const regarding = { ...cluster, apiVersion: API_VERSION, kind: 'Cluster' };
    for (const e of events) {
      const { type, reason, action, note } = e;
      const p = this.#o.events.record(regarding, { type, reason, action, note });
      this.#recording.add(p);
      void p.finally(() => this.#recording.delete(p));
    }
  }

  #schedule(clusterKey: string, slot: Slot): void {
    if (slot.timer || this.#closed) return;
    if (slot.running) {
      slot.again = true;
      return;
    }
    const now = this.#o.clock.now();
    const delay =
      slot.failures > 0
        ? backoffDelay(slot.failures, RETRY)
        : Math.max(0, slot.lastRoundAt + this.#intervalMs - now);
    slot.timer = this.#o.clock.setTimeout(() => this.#round(clusterKey, slot), delay);
  }

  #round(clusterKey: string, slot: Slot): void {
    slot.timer = undefined;
    const image = slot.image;
    if (this.#closed || !image || this.#slots.get(clusterKey) !== slot) return;
    slot.lastRoundAt = this.#o.clock.now();
    slot.running = this.#writeAll(clusterKey, slot, image)
      .then((ok) => {
        slot.failures = ok ? 0 : slot.failures + 1;
      })
      .finally(() => {
        slot.running = undefined;
        const retry = slot.failures > 0;
        if (slot.again || retry) {
          slot.again = false;
          this.#schedule(clusterKey, slot);
        }
      });
  }

  /** One round: the Cluster's status and its Topics'. True when every write succeeded. */
  async #writeAll(clusterKey: string, slot: Slot, image: MetadataImage): Promise<boolean> {
    const cluster = this.#o.caches.clusters.get(clusterKey);
    if (!cluster) return true;
    const { namespace, name } = parseKey(clusterKey);
    const topics = this.#o.caches.topics
      .list(namespace)
      .filter((t) => t.spec.clusterRef.name === name && !t.metadata.deletionTimestamp);
    const jobs: (() => Promise<boolean>)[] = [
      () => this.#write(slot, Clusters, cluster, (o) => projectCluster(cluster, image, o)),
      ...topics.map((t) => () => this.#write(slot, Topics, t, (o) => projectTopic(t, image, o))),
    ];
    const results = await pool(jobs, this.#o.concurrency ?? 8);
    return results.every((ok) => ok);
  }

  async #write<S extends { conditions: Conditions }>(
    slot: Slot,
    type: ResourceType,
    obj: KubeObject & { metadata: { name: string; namespace?: string } },
    project: (o: ProjectOptions) => Projection<S> | undefined,
  ): Promise<boolean> {
    const key = `${type.kind}/${objectKey(obj)}`;
    const uid = obj.metadata.uid;
    const rv = obj.metadata.resourceVersion;
    const last = slot.written.get(key);
    // What this projector wrote last, if the cached object shows nothing newer than that write:
    // the cache may lag it, and its conditions' transition times are the ones to keep.
    const mine = last && last.uid === uid && (rv === last.before || rv === last.after) ? last : undefined;
    const projection = project({ nowMs: this.#o.clock.now(), previousConditions: mine?.conditions });
    if (!projection?.changed) return true;
    const digest = JSON.stringify(projection.status);
    if (mine?.digest === digest) return true;
    if (!this.#leading()) return true;
    const { name, namespace } = obj.metadata;
    try {
      const stored = await retryOnConflict(() =>
        this.#o.client.request<KubeObject>({
          method: 'PATCH',
          path: resourcePath(type, { namespace, name, subresource: 'status' }),
          query: { fieldManager: METADATA_FIELD_MANAGER, force: true },
          contentType: APPLY_PATCH,
          body: {
            apiVersion: type.apiVersion,
            kind: type.kind,
            metadata: { name, namespace },
            status: projection.status,
          },
        }),
      );
      slot.written.set(key, {
        uid,
        digest,
        before: rv,
        after: stored.metadata?.resourceVersion,
        conditions: projection.status.conditions,
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return true; // deleted meanwhile: nothing to report on
      this.#log.warn(
        { err, kind: type.kind, namespace, name },
        `Failed to write the status of ${type.kind} ${name}`,
      );
      return false;
    }
  }
}

/** Runs `jobs`, at most `limit` at once; their results in order. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
