/**
 * The operator, assembled: caches for the kinds it reads, the Cluster controller, leader election
 * and the Manager that runs them in order (src/operator/runtime/manager.ts). `tributary operator`
 * (src/cli/operator.ts) wraps it in a process with an HTTP server; tests and benchmarks run it
 * in-process.
 *
 * Children are cached only if they carry the operator's `managed-by` label, so a cluster's other
 * Secrets, ConfigMaps and Services never enter its memory. Topics and ConsumerGroups are cached for
 * the metadata controller, which reads them (issue #5 asks the caches to hold them).
 */

import type { KubeConfig } from './runtime/kubeconfig.ts';
import type { StatefulSet } from 'kubernetes-types/apps/v1.js';
import type {
  ConfigMap,
  Node,
  PersistentVolumeClaim,
  Pod,
  Secret,
  Service,
} from 'kubernetes-types/core/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Clock } from '../common/clock.ts';
import { systemClock } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import { silentLogger } from '../common/logger.ts';
import {
  API_VERSION,
  ClusterResource,
  ConsumerGroupResource,
  TopicResource,
  type Cluster,
  type ConsumerGroup,
  type ResourceDefinition,
  type Topic,
} from './api/index.ts';
import { KindCache, type CacheOptions } from './caches.ts';
import { type FenceOrder, nodeFencing, podFencing } from './metadata/fencing.ts';
import { MetadataHost } from './metadata/host.ts';
import { LABEL_CLUSTER, MANAGED_SELECTOR } from './reconcilers/cluster/names.ts';
import { ClusterReconciler } from './reconcilers/cluster/reconciler.ts';
import { createConsumerGroupController } from './reconcilers/consumer-group/index.ts';
import { topicControllers as makeTopicControllers } from './reconcilers/topic/controllers.ts';
import { Applier } from './runtime/apply.ts';
import { KubeClient } from './runtime/client.ts';
import { Controller } from './runtime/controller.ts';
import { EventRecorder } from './runtime/events.ts';
import { defaultIdentity, type LeaderElectionTimings } from './runtime/leader-election.ts';
import { kubeLeaseLock } from './runtime/lease-lock.ts';
import { Manager } from './runtime/manager.ts';
import type { KubeObject } from './runtime/objects.ts';
import { ownerKeyOf } from './runtime/owner.ts';
import {
  ConfigMaps,
  Pods,
  ResourceMapper,
  Secrets,
  Services,
  StatefulSets,
  type ResourceType,
} from './runtime/resources.ts';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';
export const DEFAULT_LEASE_NAME = 'tributary-operator';

export interface OperatorOptions {
  readonly kubeConfig: KubeConfig;
  /** Namespaces to watch; every namespace when empty or absent. */
  readonly namespaces?: readonly string[];
  /** The broker image for Clusters that name none: the operator's own. */
  readonly image: string;
  /** The Kubernetes cluster's DNS domain, for the brokers' advertised names. */
  readonly clusterDomain?: string;
  /** Without it, this process reconciles as soon as its caches are synced (one replica). */
  readonly leaderElection?: LeaderElectionTimings & { readonly namespace: string; readonly name?: string };
  /** This process, in the Lease and in Events: the pod name and a random suffix by default. */
  readonly identity?: string;
  /**
   * Where brokers reach this operator's controller API (HOST:PORT, comma-separated, or a name that
   * resolves to every replica). Absent, each broker runs alone with a controller of its own.
   */
  readonly controllerAddress?: string;
  /** What brokers advertise to clients: pod DNS names (default) or pod IPs. */
  readonly brokerAdvertise?: 'dns' | 'pod-ip';
  /** A broker whose heartbeats stop this long is fenced by the operator's metadata controller (1500). */
  readonly brokerSessionTimeoutMs?: number;
  /** Reconciles of Clusters at once (2). */
  readonly workers?: number;
  readonly resyncPeriodMs?: number;
  /** Process metrics (memory, CPU, event loop) in the registry too; on by default. */
  readonly processMetrics?: boolean;
  readonly registry?: Registry;
  readonly clock?: Clock;
  readonly log?: Logger;
}

const PodDisruptionBudgets: ResourceType = {
  apiVersion: 'policy/v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  namespaced: true,
};
const PersistentVolumeClaims: ResourceType = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  namespaced: true,
};

const Nodes: ResourceType = { apiVersion: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };

function crdType(r: ResourceDefinition): ResourceType {
  return { apiVersion: API_VERSION, kind: r.kind, plural: r.plural, namespaced: true };
}

export class Operator {
  readonly identity: string;
  readonly registry: Registry;
  readonly client: KubeClient;
  readonly manager: Manager;
  readonly caches: {
    readonly clusters: KindCache<Cluster>;
    readonly topics: KindCache<Topic>;
    readonly consumerGroups: KindCache<ConsumerGroup>;
    readonly statefulSets: KindCache<StatefulSet>;
    readonly services: KindCache<Service>;
    readonly configMaps: KindCache<ConfigMap>;
    readonly secrets: KindCache<Secret>;
    readonly podDisruptionBudgets: KindCache<PodDisruptionBudget>;
    readonly claims: KindCache<PersistentVolumeClaim>;
    /** The brokers' pods and every node: failures Kubernetes sees fence brokers at once. */
    readonly pods: KindCache<Pod>;
    readonly nodes: KindCache<Node>;
  };
  readonly clusterController: Controller;
  /** The clusters' metadata controllers, open while this replica leads. */
  readonly metadata: MetadataHost;
  readonly #log: Logger;
  #synced = false;

  constructor(options: OperatorOptions) {
    const clock = options.clock ?? systemClock;
    const log = options.log ?? silentLogger;
    this.#log = log;
    this.identity = options.identity ?? defaultIdentity();
    this.registry = options.registry ?? new Registry();
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'tributary_operator_' });
    }
    const client = new KubeClient(options.kubeConfig);
    this.client = client;

    const base: CacheOptions = {
      client,
      namespaces: options.namespaces ?? [],
      resyncPeriodMs: options.resyncPeriodMs,
      clock,
      log,
    };
    const managed: CacheOptions = { ...base, labelSelector: MANAGED_SELECTOR };
    this.caches = {
      clusters: new KindCache<Cluster>(crdType(ClusterResource), base),
      topics: new KindCache<Topic>(crdType(TopicResource), base),
      consumerGroups: new KindCache<ConsumerGroup>(crdType(ConsumerGroupResource), base),
      statefulSets: new KindCache<StatefulSet>(StatefulSets, managed),
      services: new KindCache<Service>(Services, managed),
      configMaps: new KindCache<ConfigMap>(ConfigMaps, managed),
      secrets: new KindCache<Secret>(Secrets, managed),
      podDisruptionBudgets: new KindCache<PodDisruptionBudget>(PodDisruptionBudgets, managed),
      claims: new KindCache<PersistentVolumeClaim>(PersistentVolumeClaims, managed),
      pods: new KindCache<Pod>(Pods, managed),
      nodes: new KindCache<Node>(Nodes, { ...base, namespaces: [] }),
    };
    this.#cacheMetrics();

    const events = new EventRecorder({ client, reportingInstance: this.identity, clock, log });
    const reconciler = new ClusterReconciler({
      caches: this.caches,
      client,
      applier: new Applier({ client, resources: new ResourceMapper(client) }),
      events,
      children: {
        image: options.image,
        clusterDomain: options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
        controllerAddress: options.controllerAddress,
        advertise: options.brokerAdvertise,
      },
      clock,
    });
    const controller = new Controller({
      kind: 'Cluster',
      reconcile: reconciler.reconcile,
      workers: options.workers,
      clock,
      log,
      registry: this.registry,
    });
    for (const informer of this.caches.clusters.informers) controller.watch(informer);
    const toOwner = ownerKeyOf('Cluster', API_VERSION);
    const { statefulSets, services, configMaps, secrets, podDisruptionBudgets, claims } = this.caches;
    for (const cache of [statefulSets, services, configMaps, secrets, podDisruptionBudgets]) {
      for (const informer of cache.informers) controller.watch(informer, toOwner);
    }
    // PVCs are owned by the StatefulSet (or by no one): their label names the Cluster.
    for (const informer of claims.informers) {
      controller.watch(informer, (pvc) => {
        const cluster = pvc.metadata?.labels?.[LABEL_CLUSTER];
        return cluster && pvc.metadata?.namespace ? `${pvc.metadata.namespace}/${cluster}` : undefined;
      });
    }
    this.clusterController = controller;

    this.metadata = new MetadataHost({
      client,
      caches: this.caches,
      identity: this.identity,
      events,
      sessionTimeoutMs: options.brokerSessionTimeoutMs,
      clock,
      log,
      registry: this.registry,
    });
    for (const informer of this.caches.clusters.informers) this.metadata.queue.watch(informer);
    for (const informer of this.caches.secrets.informers) this.metadata.queue.watch(informer, toOwner);
    this.#fenceOnFailures();
    // A Topic resource appears or changes: its status is written from the current image.
    for (const informer of this.caches.topics.informers) {
      const refresh = (topic: Topic): void => {
        const ns = topic.metadata?.namespace;
        const cluster = topic.spec?.clusterRef?.name;
        if (ns && cluster) this.metadata.refresh(`${ns}/${cluster}`);
      };
      informer.on({ add: refresh, update: (_old, topic) => refresh(topic) });
    }

    // Topics: managed ones pushed into Kafka, the cluster's own topics discovered as resources.
    const topicControllers = makeTopicControllers({
      client,
      resources: new ResourceMapper(client),
      caches: this.caches,
      metadata: this.metadata,
      events,
      clock,
      log,
      registry: this.registry,
    });

    // ConsumerGroups: observed (state, lag) and reset; the cluster's groups discovered as resources.
    const consumerGroups = createConsumerGroupController({
      client,
      caches: this.caches,
      metadata: this.metadata,
      events,
      registry: this.registry,
      clock,
      log,
    });

    const le = options.leaderElection;
    this.manager = new Manager({
      informers: (Object.values(this.caches) as KindCache<KubeObject>[]).flatMap((c) => c.informers),
      controllers: [
        this.metadata,
        controller,
        consumerGroups,
        topicControllers.topics,
        topicControllers.discovery,
      ],
      leaderElection:
        le === undefined
          ? undefined
          : {
              ...le,
              lock: kubeLeaseLock(client, { namespace: le.namespace, name: le.name ?? DEFAULT_LEASE_NAME }),
              identity: this.identity,
              onNewLeader: (holder) => log.info({ leader: holder || null }, 'Observed a new leader'),
            },
      clock,
      log,
      registry: this.registry,
    });
  }

  /** Starts the caches, waits until they are synced, then campaigns (or reconciles at once). */
  async start(): Promise<void> {
    this.#log.info({ identity: this.identity }, 'Starting');
    await this.manager.start();
    this.#synced = true;
  }

  /** Stops reconciling, releases the lease, stops the caches, closes the kept-alive connections. */
  async stop(): Promise<void> {
    try {
      await this.manager.stop();
    } finally {
      this.client.close();
    }
  }

  /** Every cache has been filled once: the process can serve readiness. */
  get synced(): boolean {
    return this.#synced;
  }

  get leading(): boolean {
    return this.manager.leading;
  }

  /** Pod deletions and nodes turning NotReady fence brokers without waiting for their sessions. */
  #fenceOnFailures(): void {
    const fence = (order: FenceOrder | undefined): void => {
      if (order) void this.metadata.fence(order);
    };
    // Pods fenced when they began terminating: their final deletion fences nothing more.
    const terminating = new Set<string>();
    for (const informer of this.caches.pods.informers) {
      informer.on({
        update: (old, pod) => {
          const order = podFencing(old, pod, false);
          if (order && pod.metadata?.uid) terminating.add(pod.metadata.uid);
          fence(order);
        },
        delete: (pod) => {
          if (pod.metadata?.uid && terminating.delete(pod.metadata.uid)) return;
          fence(podFencing(undefined, pod, true));
        },
      });
    }
    const onNode = (old: Node | undefined, node: Node, deleted: boolean): void => {
      for (const order of nodeFencing(old, node, deleted, this.caches.pods.list())) fence(order);
    };
    for (const informer of this.caches.nodes.informers) {
      informer.on({
        update: (old, node) => onNode(old, node, false),
        delete: (node) => onNode(undefined, node, true),
      });
    }
  }

  #cacheMetrics(): void {
    const caches = Object.values(this.caches) as KindCache<KubeObject>[];
    new Gauge({
      name: 'tributary_operator_cached_objects',
      help: 'Objects in the operator’s caches, by kind.',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        for (const cache of caches) this.set({ kind: cache.type.kind }, cache.size);
      },
    });
  }
}
