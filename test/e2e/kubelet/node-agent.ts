/**
 * One Node as a kubelet keeps it: registered with its hostname and zone labels, capacity and a Ready
 * condition, its Lease in kube-node-lease renewed every `renewMs`, its status posted every
 * `statusMs`. A failed node (killed or frozen) does neither, so kube-controller-manager's node
 * lifecycle controller marks it NotReady (Ready=Unknown) after its --node-monitor-grace-period;
 * recovering posts Ready again at once.
 */
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { STRATEGIC_MERGE_PATCH, MERGE_PATCH, type Api } from './api.ts';

export interface NodeSpec {
  name: string;
  /** topology.kubernetes.io/zone */
  zone: string;
  /** topology.kubernetes.io/region (default `e2e`) */
  region?: string;
  /** Allocatable resources (defaults: 4 CPUs, 8Gi, 110 pods). */
  cpu?: string;
  memory?: string;
  pods?: number;
}

export type NodeState = 'up' | 'killed' | 'frozen';

export interface NodeTimings {
  /** How often the Lease is renewed (a kubelet: a quarter of the lease duration). */
  renewMs: number;
  /** How often the node's status is posted though nothing changed. */
  statusMs: number;
  leaseDurationSeconds: number;
}

const LEASE_NAMESPACE = 'kube-node-lease';

/** A Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export const microTime = (date = new Date()): string => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class NodeAgent {
  readonly spec: NodeSpec;
  #state: NodeState = 'up';
  readonly #api: Api;
  readonly #timings: NodeTimings;
  #timers: NodeJS.Timeout[] = [];

  constructor(api: Api, spec: NodeSpec, timings: NodeTimings) {
    this.#api = api;
    this.spec = spec;
    this.#timings = timings;
  }

  get name(): string {
    return this.spec.name;
  }

  get state(): NodeState {
    return this.#state;
  }

  get up(): boolean {
    return this.#state === 'up';
  }

  /** Creates the Node (and its Lease), posts its status and starts heartbeating. */
  async register(): Promise<void> {
    const s = this.spec;
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: s.name,
        labels: {
          'kubernetes.io/hostname': s.name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': process.arch === 'arm64' ? 'arm64' : 'amd64',
          'topology.kubernetes.io/zone': s.zone,
          'topology.kubernetes.io/region': s.region ?? 'e2e',
        },
      },
      spec: {},
    };
    await this.#api.must('POST', '/api/v1/nodes', node, { allow: [409] });
    await this.#heartbeat();
    this.#startTimers();
  }

  /** Stops heartbeating: the node's processes are the kubelet's business. */
  fail(kind: 'kill' | 'freeze'): void {
    this.#state = kind === 'kill' ? 'killed' : 'frozen';
    this.#stopTimers();
  }

  async recover(): Promise<void> {
    this.#state = 'up';
    await this.#heartbeat();
    this.#startTimers();
  }

  stop(): void {
    this.#stopTimers();
  }

  async #heartbeat(): Promise<void> {
    await this.#postStatus(true);
    await this.#renewLease();
  }

  #startTimers(): void {
    this.#stopTimers();
    const every = (ms: number, fn: () => Promise<void>): NodeJS.Timeout => {
      const t = setInterval(() => void fn().catch(() => undefined), ms);
      t.unref();
      return t;
    };
    this.#timers = [
      every(this.#timings.renewMs, () => this.#renewLease()),
      every(this.#timings.statusMs, () => this.#postStatus()),
    ];
  }

  #stopTimers(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }

  /** Posts the status; the conditions' transition time only when they (may) change. */
  async #postStatus(transition = false): Promise<void> {
    const s = this.spec;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const resources = {
      cpu: s.cpu ?? '4',
      memory: s.memory ?? '8Gi',
      pods: String(s.pods ?? 110),
      'ephemeral-storage': '100Gi',
    };
    const condition = (type: string, status: string, reason: string) => ({
      type,
      status,
      reason,
      message: `kubelet stand-in: ${reason}`,
      lastHeartbeatTime: now,
      ...(transition ? { lastTransitionTime: now } : {}),
    });
    await this.#api.must(
      'PATCH',
      `/api/v1/nodes/${s.name}/status`,
      {
        status: {
          capacity: resources,
          allocatable: resources,
          conditions: [
            condition('Ready', 'True', 'KubeletReady'),
            condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
            condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
            condition('PIDPressure', 'False', 'KubeletHasSufficientPID'),
          ],
          addresses: [
            { type: 'InternalIP', address: '127.0.0.1' },
            { type: 'Hostname', address: s.name },
          ],
          nodeInfo: {
            machineID: s.name,
            systemUUID: s.name,
            bootID: s.name,
            kernelVersion: '',
            osImage: 'kubelet stand-in (test/e2e/kubelet)',
            containerRuntimeVersion: 'process://',
            kubeletVersion: 'v0.0.0-e2e',
            kubeProxyVersion: '',
            operatingSystem: 'linux',
            architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
          },
        },
      },
      { contentType: STRATEGIC_MERGE_PATCH },
    );
  }

  async #renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases/${this.spec.name}`;
    const spec = {
      holderIdentity: this.spec.name,
      leaseDurationSeconds: this.#timings.leaseDurationSeconds,
      renewTime: microTime(),
    };
    const patched = await this.#api.must('PATCH', path, { spec }, { contentType: MERGE_PATCH, allow: [404] });
    if (patched !== undefined) return;
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.spec.name, namespace: LEASE_NAMESPACE },
      spec,
    };
    await this.#api.must('POST', `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`, lease, {
      allow: [409],
    });
  }
}
