/**
 * Topic discovery, carried out: one reconcile per Cluster key, on each of its images and each
 * change of its Topics, makes the steps ./discovery-plan.ts decides. Every write is conditional on
 * the resource as planned (create fails if the name was taken meanwhile; update, delete and adopt
 * carry its resourceVersion), so a person's edit racing discovery is never overwritten: the write
 * fails, and the next round sees the edit.
 */
import type { Clock } from '../../../common/clock.ts';
import type { ControllerService } from '../../../controller/api.ts';
import { API_VERSION, type Cluster, type Topic, type TopicSpec } from '../../api/index.ts';
import { isAlreadyExists, isConflict, isInvalid, isNotFound } from '../../runtime/api-errors.ts';
import type { KubeClient } from '../../runtime/client.ts';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { parseKey } from '../../runtime/objects.ts';
import { resourcePath, type ResourceType } from '../../runtime/resources.ts';
import type { Lookup } from '../cluster/reconciler.ts';
import { planDiscovery, type DiscoveryStep } from './discovery-plan.ts';
import {
  ANNOTATION_DISCOVERED_SPEC,
  DISCOVERY_FIELD_MANAGER,
  LABEL_DISCOVERED,
  specDigest,
  type TopicObject,
} from './names.ts';
import { WAIT_FOR_CONTROLLER_MS } from './plan.ts';

export const Topics: ResourceType = {
  apiVersion: API_VERSION,
  kind: 'Topic',
  plural: 'topics',
  namespaced: true,
};

export interface TopicDiscoveryOptions {
  readonly client: Pick<KubeClient, 'request'>;
  readonly caches: { readonly clusters: Lookup<Cluster>; readonly topics: Lookup<Topic> };
  readonly metadata: { service(clusterKey: string): ControllerService | undefined };
  readonly events: Pick<EventRecorder, 'normal'>;
  readonly clock: Clock;
}

/** Writes at once, per round. */
const CONCURRENCY = 8;
const MERGE_PATCH = 'application/merge-patch+json';

export class TopicDiscovery {
  readonly #o: TopicDiscoveryOptions;
  /** Writes the API server refused as invalid, logged once each. */
  readonly #refused = new Set<string>();

  constructor(o: TopicDiscoveryOptions) {
    this.#o = o;
  }

  /** `key`: a Cluster's `namespace/name`. */
  readonly reconcile = async (key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> => {
    const cluster = this.#o.caches.clusters.get(key);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    const service = this.#o.metadata.service(key);
    if (!service) return { requeueAfterMs: WAIT_FOR_CONTROLLER_MS };
    const steps = planDiscovery({
      cluster,
      image: service.image(),
      resources: this.#o.caches.topics.list(parseKey(key).namespace) as TopicObject[],
    });
    let failed = 0;
    await pool(steps, CONCURRENCY, async (step) => {
      try {
        await this.#take(step);
      } catch (err) {
        // Taken meanwhile, edited meanwhile, or gone: the next round decides again.
        if (isAlreadyExists(err) || isConflict(err) || isNotFound(err)) return;
        if (isInvalid(err)) {
          // The topic cannot be shown as a resource (a config the schema refuses): said once.
          const what = `${key} ${step.kind} ${stepName(step)}`;
          if (!this.#refused.has(what)) {
            this.#refused.add(what);
            ctx.log.warn(
              { reason: (err as Error).message },
              `Topic discovery cannot ${step.kind} ${stepName(step)}`,
            );
          }
          return;
        }
        failed++;
        ctx.log.warn({ err, step: step.kind }, `Topic discovery could not ${step.kind} a resource`);
      }
    });
    if (failed > 0) throw new Error(`${failed} of ${steps.length} discovery writes failed`);
  };

  async #take(step: DiscoveryStep): Promise<void> {
    const client = this.#o.client;
    switch (step.kind) {
      case 'create': {
        const { namespace } = step.topic.metadata;
        await client.request({
          method: 'POST',
          path: resourcePath(Topics, { namespace }),
          query: { fieldManager: DISCOVERY_FIELD_MANAGER },
          body: step.topic,
        });
        return;
      }
      case 'update':
        await this.#patch(step.resource, {
          metadata: {
            resourceVersion: step.resource.metadata.resourceVersion,
            annotations: { [ANNOTATION_DISCOVERED_SPEC]: specDigest(step.spec) },
          },
          spec: mergeSpec(step.resource.spec, step.spec),
        });
        return;
      case 'delete': {
        const { name, namespace, uid, resourceVersion } = step.resource.metadata;
        await client.request({
          method: 'DELETE',
          path: resourcePath(Topics, { namespace, name }),
          body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid, resourceVersion } },
        });
        return;
      }
      case 'adopt': {
        const r = step.resource;
        await this.#patch(r, {
          metadata: {
            resourceVersion: r.metadata.resourceVersion,
            labels: { [LABEL_DISCOVERED]: null },
            annotations: { [ANNOTATION_DISCOVERED_SPEC]: null },
          },
        });
        void this.#o.events.normal(
          { ...r, apiVersion: API_VERSION, kind: 'Topic' },
          'Adopted',
          'Adopt',
          'Its spec was edited: this resource now manages the topic, and its spec wins over the cluster.',
        );
        return;
      }
    }
  }

  #patch(resource: TopicObject, body: unknown): Promise<unknown> {
    const { name, namespace } = resource.metadata;
    return this.#o.client.request({
      method: 'PATCH',
      path: resourcePath(Topics, { namespace, name }),
      query: { fieldManager: DISCOVERY_FIELD_MANAGER },
      contentType: MERGE_PATCH,
      body,
    });
  }
}

function stepName(step: DiscoveryStep): string {
  return step.kind === 'create' ? step.topic.metadata.name : step.resource.metadata.name;
}

/** A merge patch turning spec `from` into `to`: config keys that went are set to null. */
function mergeSpec(from: TopicSpec, to: TopicSpec): Record<string, unknown> {
  const config: Record<string, string | null> = { ...to.config };
  for (const k of Object.keys(from.config ?? {})) if (!(k in config)) config[k] = null;
  return { partitions: to.partitions, replicationFactor: to.replicationFactor, config };
}

async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
