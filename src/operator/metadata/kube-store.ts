/**
 * The metadata controller's store on Kubernetes (docs/adr/0018): a cluster's whole ClusterState in
 * one ConfigMap, `<cluster>-metadata`, gzipped JSON under binaryData. Every save is a PUT naming the
 * resourceVersion this store last read or wrote, so it is a compare-and-swap: a write by anyone else
 * in between fails with 409, and the stored state is read again and judged by `checkSwap` — a newer
 * controller epoch (another operator replica took over) deposes this controller; anything else (a
 * label edited by hand) is retried.
 *
 * One object per cluster keeps the commit point of a failover to one write however many partitions
 * the fenced broker led. Topic.status and Cluster.status show the same state to people and are
 * written after, from it; they are never read back as the truth.
 *
 * `stillLeading` is asked before every write: a replica that knows it lost the Lease writes nothing
 * more, even if no other replica has written yet.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import type { OwnerReference } from 'kubernetes-types/meta/v1.js';
import type { ClusterState } from '../../controller/state.ts';
import { checkSwap, type MetadataStore, parseState, StaleControllerError } from '../../controller/store.ts';
import { isAlreadyExists, isConflict, isNotFound } from '../runtime/api-errors.ts';
import type { KubeClient } from '../runtime/client.ts';
import { ConfigMaps, resourcePath } from '../runtime/resources.ts';

export const STATE_KEY = 'state.json.gz';
export const ANNOTATION_VERSION = 'tributary.dev/metadata-version';
export const ANNOTATION_EPOCH = 'tributary.dev/controller-epoch';
export const ANNOTATION_WRITER = 'tributary.dev/controller';

export function metadataConfigMapName(cluster: string): string {
  return `${cluster}-metadata`;
}

export interface KubeMetadataStoreOptions {
  client: Pick<KubeClient, 'request'>;
  namespace: string;
  /** The Cluster's name; the ConfigMap is `<cluster>-metadata`. */
  cluster: string;
  /** On the ConfigMap: the labels of the Cluster's children. */
  labels: Record<string, string>;
  /** The Cluster, so that deleting it deletes its metadata. */
  owner: OwnerReference;
  /** This operator replica, written on the ConfigMap with each save (who wrote it last). */
  identity: string;
  /** False once this replica knows it no longer holds the Lease: saves are refused from then on. */
  stillLeading: () => boolean;
}

/** What this store last read or wrote: the swap's guard. */
interface Seen {
  resourceVersion: string;
  state: Pick<ClusterState, 'controllerEpoch' | 'version'>;
}

export class KubeMetadataStore implements MetadataStore {
  readonly #o: KubeMetadataStoreOptions;
  readonly #path: string;
  readonly #collection: string;
  #seen: Seen | null = null;

  constructor(o: KubeMetadataStoreOptions) {
    this.#o = o;
    const name = metadataConfigMapName(o.cluster);
    this.#path = resourcePath(ConfigMaps, { namespace: o.namespace, name });
    this.#collection = resourcePath(ConfigMaps, { namespace: o.namespace });
  }

  get description(): string {
    return `ConfigMap ${this.#o.namespace}/${metadataConfigMapName(this.#o.cluster)}`;
  }

  async load(): Promise<ClusterState | null> {
    const stored = await this.#read();
    return stored?.state ?? null;
  }

  async save(next: ClusterState): Promise<void> {
    if (!this.#o.stillLeading()) {
      throw new StaleControllerError({ reason: 'this operator replica no longer holds the Lease' });
    }
    // The first save of a controller follows its load; a store used without one reads first.
    if (this.#seen === null) await this.#read();
    for (let attempt = 0; ; attempt++) {
      checkSwap(this.#seen?.state ?? null, next);
      try {
        const written = await this.#write(next);
        this.#seen = { resourceVersion: written.metadata?.resourceVersion ?? '', state: next };
        return;
      } catch (err) {
        if (!(isConflict(err) || isAlreadyExists(err) || isNotFound(err)) || attempt >= 3) throw err;
        // Someone else wrote (or created, or deleted) it: judge what is there now.
        await this.#read();
      }
    }
  }

  async #read(): Promise<{ state: ClusterState } | null> {
    let cm: ConfigMap;
    try {
      cm = await this.#o.client.request<ConfigMap>({ method: 'GET', path: this.#path });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.#seen = null;
      return null;
    }
    const state = decodeState(cm, this.description);
    this.#seen = { resourceVersion: cm.metadata?.resourceVersion ?? '', state };
    return { state };
  }

  #write(next: ClusterState): Promise<ConfigMap> {
    const o = this.#o;
    const body: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: metadataConfigMapName(o.cluster),
        namespace: o.namespace,
        labels: o.labels,
        annotations: {
          [ANNOTATION_VERSION]: String(next.version),
          [ANNOTATION_EPOCH]: String(next.controllerEpoch),
          [ANNOTATION_WRITER]: o.identity,
        },
        ownerReferences: [o.owner],
        ...(this.#seen ? { resourceVersion: this.#seen.resourceVersion } : {}),
      },
      binaryData: { [STATE_KEY]: encodeState(next) },
    };
    return this.#seen
      ? o.client.request<ConfigMap>({ method: 'PUT', path: this.#path, body })
      : o.client.request<ConfigMap>({ method: 'POST', path: this.#collection, body });
  }
}

export function encodeState(state: ClusterState): string {
  return gzipSync(JSON.stringify(state)).toString('base64');
}

export function decodeState(cm: ConfigMap, where: string): ClusterState {
  const data = cm.binaryData?.[STATE_KEY];
  if (data === undefined) {
    throw new Error(
      `${where} has no ${STATE_KEY}: it is not Tributary metadata, or was edited by hand; restore it or delete the Cluster`,
    );
  }
  let text: string;
  try {
    text = gunzipSync(Buffer.from(data, 'base64')).toString('utf8');
  } catch (err) {
    throw new Error(`${where}: ${STATE_KEY} is not gzip data; restore it from a backup`, { cause: err });
  }
  return parseState(text, `${where} (${STATE_KEY})`);
}
