/**
 * The metadata controllers of every Cluster, hosted by the operator replica that holds the Lease
 * (docs/adr/0018). For each Cluster with an admin token it opens one src/controller Controller on a
 * KubeMetadataStore; brokers reach it over the controller HTTP API, the token in their request
 * picking their Cluster's controller ({@link MetadataHost.route}).
 *
 * Opening a controller takes over its cluster: a new controller epoch is written before anything is
 * answered, so a replica that led before and has not noticed yet can no longer win a write. On losing
 * the Lease every controller is closed at once and the replica answers as a standby, which sends
 * brokers on to the next address they know.
 *
 * Kubernetes tells of failures before heartbeats do: a broker pod being deleted, or the node under
 * it turning NotReady, fences that broker at once (./fencing.ts decides which).
 */
import type { Node, Pod, Secret } from 'kubernetes-types/core/v1.js';
import type { EventRecorder } from '../runtime/events.ts';
import type { Registry } from 'prom-client';
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { ControllerService } from '../../controller/api.ts';
import type { Heard } from '../../controller/brokers.ts';
import type { MetadataImage } from '../../controller/image.ts';
import { Controller as MetadataController } from '../../controller/controller.ts';
import { type ControllerRoute, tokenDigest } from '../../controller/http-server.ts';
import { API_VERSION, type Cluster, type Topic } from '../api/index.ts';
import { ADMIN_TOKEN_KEY, topologyKey } from '../reconcilers/cluster/children.ts';
import { childLabels, clusterNames, podName } from '../reconcilers/cluster/names.ts';
import type { KubeClient } from '../runtime/client.ts';
import { Controller } from '../runtime/controller.ts';
import { parseKey } from '../runtime/objects.ts';
import { controllerReference } from '../runtime/owner.ts';
import type { Lookup } from '../reconcilers/cluster/reconciler.ts';
import type { FenceOrder } from './fencing.ts';
import { controllerSettings } from './settings.ts';
import { KubeMetadataStore } from './kube-store.ts';
import { StatusProjector } from './projector.ts';

export interface MetadataHostOptions {
  readonly client: Pick<KubeClient, 'request'>;
  readonly caches: {
    readonly clusters: Lookup<Cluster>;
    readonly topics: Lookup<Topic>;
    readonly secrets: Lookup<Secret>;
    readonly pods: Lookup<Pod>;
    readonly nodes: Lookup<Node>;
  };
  /** This replica, written with each metadata save. */
  readonly identity: string;
  /** Events on Clusters (failovers), written by the status projector. */
  readonly events: Pick<EventRecorder, 'record'>;
  /** A broker whose heartbeats stop for this long is fenced (1.5 s). */
  readonly sessionTimeoutMs?: number;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry?: Registry;
}

interface Open {
  readonly uid: string;
  readonly controller: MetadataController;
  /** Stops projecting its images into the Cluster's and Topics' status. */
  readonly unsubscribe: () => void;
  /** What brokers talk to: the controller, with racks filled in from the nodes. */
  readonly service: ControllerService;
}

/** Told of each image of a Cluster (`namespace/name`) whose controller is open here. */
export type ImageWatcher = (clusterKey: string, image: MetadataImage) => void;

const DEFAULT_SESSION_TIMEOUT_MS = 1500;
const WAIT_FOR_TOKEN_MS = 1000;
/**
 * Requests further apart than this are two runs. A broker calls every heartbeat (250 ms), or every
 * round of timeouts while the old controller is stopped (about 1 s).
 */
const HEARD_GAP_MS = 3000;

export class MetadataHost {
  /** The queue of Cluster keys to open or close controllers for; runs only while leading. */
  readonly queue: Controller;
  readonly #o: MetadataHostOptions;
  readonly #log: Logger;
  readonly #open = new Map<string, Open>();
  /** Cluster key by token hash, for every Cluster whose token this replica has seen (standbys too). */
  readonly #byToken = new Map<string, string>();
  /** Which brokers of each Cluster asked this replica, and since when (standby or not). */
  readonly #heard = new Map<string, Map<number, Heard>>();
  #leading = false;
  readonly #watchers = new Set<ImageWatcher>();
  /** Writes Cluster.status and Topic.status from each controller's images; one per leading term. */
  #projector: StatusProjector | null = null;

  constructor(o: MetadataHostOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'metadata' });
    this.queue = new Controller({
      kind: 'ClusterMetadata',
      reconcile: (key) => this.#reconcile(key),
      clock: o.clock,
      log: o.log,
      registry: o.registry,
    });
  }

  /** Becomes the clusters' controller (the Lease is held): opens a controller for each Cluster. */
  start(): void {
    this.#leading = true;
    this.#projector = new StatusProjector({
      client: this.#o.client,
      caches: this.#o.caches,
      events: this.#o.events,
      clock: this.#o.clock,
      log: this.#o.log,
      stillLeading: () => this.#leading,
    });
    this.queue.start();
  }

  /** Stops being the controller: closes every cluster's controller; brokers are sent elsewhere. */
  async stop(): Promise<void> {
    this.#leading = false;
    await this.queue.stop();
    const open = [...this.#open.entries()];
    this.#open.clear();
    await Promise.all(open.map(([key, o]) => this.#close(key, o)));
    await this.#projector?.close();
    this.#projector = null;
  }

  /** A Topic of the Cluster `key` (or its spec) changed: its status follows without waiting for an image. */
  refresh(key: string): void {
    if (this.#open.has(key)) this.#projector?.refresh(key);
  }

  get leading(): boolean {
    return this.#leading;
  }

  /**
   * The metadata controller of Cluster `key` (`namespace/name`) while it is open on this replica —
   * it leads and has taken the cluster over — for the Topic and ConsumerGroup reconcilers.
   */
  service(key: string): ControllerService | undefined {
    const open = this.#open.get(key);
    return this.#leading && open && !open.controller.deposed ? open.service : undefined;
  }

  /** Fences a broker Kubernetes says is gone (./fencing.ts), if its cluster's controller is open here. */
  async fence(order: FenceOrder): Promise<void> {
    const controller = this.#open.get(order.cluster)?.controller;
    if (!controller) return;
    this.#projector?.noteFenceReason(order.cluster, order.nodeId, order.reason);
    try {
      await controller.fenceBroker(order.nodeId, order.reason);
    } catch (err) {
      this.#log.error({ err, cluster: order.cluster }, `Failed to fence broker ${order.nodeId}`);
    }
  }

  /**
   * Who answers a broker sending `token` (see the HTTP server's `route`). Constant time in the token.
   * A request naming its broker is also evidence that the broker is alive: a standby remembers it,
   * so that on taking over it can fence at once the brokers that went silent with the old leader.
   */
  route(token: string, nodeId?: number): ControllerRoute {
    const key = this.#tokenKey(token);
    if (key === undefined) return null;
    if (nodeId !== undefined) this.#hear(key, nodeId);
    if (!this.#leading) return { standby: 'this operator replica is a standby; the leader holds the Lease' };
    const open = this.#open.get(key);
    if (!open || open.controller.deposed) {
      return { standby: `the controller of cluster ${key} is not open yet on this replica` };
    }
    return { service: open.service };
  }

  #hear(key: string, nodeId: number): void {
    const now = this.#o.clock.now();
    let brokers = this.#heard.get(key);
    if (!brokers) this.#heard.set(key, (brokers = new Map()));
    const h = brokers.get(nodeId);
    if (!h || now - h.last > HEARD_GAP_MS) brokers.set(nodeId, { first: now, last: now });
    else h.last = now;
  }

  #tokenKey(token: string): string | undefined {
    const hash = tokenDigest(token);
    const cached = this.#byToken.get(hash);
    // Still that Cluster's token? A Cluster made again under the same name has a new one.
    if (cached !== undefined) {
      const current = this.#token(cached);
      if (current !== undefined && tokenDigest(current) === hash) return cached;
      this.#byToken.delete(hash);
    }
    // Tokens of Clusters not reconciled here yet (a standby): look through the cached Secrets.
    for (const cluster of this.#o.caches.clusters.list()) {
      const key = `${cluster.metadata.namespace}/${cluster.metadata.name}`;
      const t = this.#token(key);
      if (t !== undefined && tokenDigest(t) === hash) {
        this.#byToken.set(hash, key);
        return key;
      }
    }
    return undefined;
  }

  #token(key: string): string | undefined {
    const { namespace, name } = parseKey(key);
    const secret = this.#o.caches.secrets.get(`${namespace}/${clusterNames(name).adminSecret}`);
    const data = secret?.data?.[ADMIN_TOKEN_KEY];
    return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
  }

  async #reconcile(key: string): Promise<{ requeueAfterMs?: number } | void> {
    const cluster = this.#o.caches.clusters.get(key);
    const open = this.#open.get(key);
    if (!cluster || cluster.metadata.deletionTimestamp) {
      if (open) {
        this.#open.delete(key);
        await this.#close(key, open);
      }
      return;
    }
    const uid = cluster.metadata.uid ?? '';
    if (open && open.uid === uid && !open.controller.deposed) {
      // The Cluster changed (its spec, say): its projected status follows at once.
      this.#projector?.refresh(key);
      return;
    }
    if (open) {
      this.#open.delete(key);
      await this.#close(key, open);
    }
    const token = this.#token(key);
    // The Cluster reconciler creates the token; until the cache shows it, brokers cannot call anyway.
    if (token === undefined) return { requeueAfterMs: WAIT_FOR_TOKEN_MS };
    this.#byToken.set(tokenDigest(token), key);
    const controller = await MetadataController.open({
      store: new KubeMetadataStore({
        client: this.#o.client,
        namespace: cluster.metadata.namespace!,
        cluster: cluster.metadata.name!,
        labels: childLabels(cluster.metadata.name!),
        owner: controllerReference({ ...cluster, apiVersion: API_VERSION, kind: 'Cluster' }),
        identity: this.#o.identity,
        stillLeading: () => this.#leading,
      }),
      clock: this.#o.clock,
      logger: this.#log.child({ cluster: key }),
      settings: controllerSettings(cluster, this.#o.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS),
      heard: new Map(this.#heard.get(key) ?? []),
    });
    if (!this.#leading) {
      await controller.close();
      return;
    }
    const projector = this.#projector;
    const unsubscribe = controller.onImage((image) => {
      projector?.project(key, image);
      this.#tellWatchers(key, image);
    });
    projector?.project(key, controller.image());
    this.#open.set(key, {
      uid,
      controller,
      unsubscribe,
      service: this.#withRacks(key, cluster, controller),
    });
    this.#tellWatchers(key, controller.image());
  }

  /**
   * Calls `listener` with every image of every Cluster whose controller is open here, starting
   * with the image it opens with; returns the unsubscribe function.
   */
  watchImages(listener: ImageWatcher): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  #tellWatchers(key: string, image: MetadataImage): void {
    for (const watcher of this.#watchers) {
      try {
        watcher(key, image);
      } catch (err) {
        this.#log.error({ err, cluster: key }, 'An image watcher failed');
      }
    }
  }

  /**
   * A broker that registers without a rack gets its node's value of the Cluster's topology label:
   * Kubernetes copies only the zone and region labels onto pods, and only from 1.35 on.
   */
  #withRacks(key: string, cluster: Cluster, controller: MetadataController): ControllerService {
    const label = topologyKey(cluster);
    const rackOf = (nodeId: number): string | null => {
      const { namespace } = parseKey(key);
      const pod = this.#o.caches.pods.get(`${namespace}/${podName(cluster.metadata.name!, nodeId)}`);
      const node = pod?.spec?.nodeName ? this.#o.caches.nodes.get(pod.spec.nodeName) : undefined;
      return node?.metadata?.labels?.[label] || null;
    };
    const c = controller;
    return {
      register: (req) => c.register(req.rack ? req : { ...req, rack: rackOf(req.nodeId) }),
      heartbeat: (req) => c.heartbeat(req),
      alterPartition: (req) => c.alterPartition(req),
      brokerLost: (nodeId, epoch, reason) => c.brokerLost(nodeId, epoch, reason),
      image: () => c.image(),
      onImage: (listener) => c.onImage(listener),
      createTopic: (req, validateOnly) => c.createTopic(req, validateOnly),
      deleteTopic: (ref) => c.deleteTopic(ref),
      createPartitions: (name, count, assignments, validateOnly) =>
        c.createPartitions(name, count, assignments, validateOnly),
      alterTopicConfigs: (name, change, validateOnly) => c.alterTopicConfigs(name, change, validateOnly),
      electLeaders: (type, targets) => c.electLeaders(type, targets),
      alterPartitionReassignments: (targets) => c.alterPartitionReassignments(targets),
      listPartitionReassignments: (targets) => c.listPartitionReassignments(targets),
      allocateProducerIds: (count) => c.allocateProducerIds(count),
    };
  }

  async #close(key: string, open: Open): Promise<void> {
    open.unsubscribe();
    this.#projector?.forget(key);
    try {
      await open.controller.close();
    } catch (err) {
      this.#log.warn({ err, cluster: key }, 'Failed to close a cluster controller cleanly');
    }
  }
}
