/**
 * A stand-in for the kubelet, for end-to-end tests on a real control plane (test code, not product):
 * it registers a few Nodes and keeps their Leases, runs every Pod kube-scheduler binds to them as
 * local processes (pod-worker.ts), each pod on a loopback address of its own (addresses.ts),
 * provisions claims as local directories (provisioner.ts), and can fail a node — kill or freeze its
 * processes and stop heartbeating — and recover it.
 *
 * Every process writes to `<dir>/logs/<namespace>_<pod>/<container>.log` (a pod made again under the
 * same name appends to the same file); {@link KubeletStandIn.logTails} prints their ends for a failed
 * test. Processes never outlive the test process (processes.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { LoopbackAddresses } from './addresses.ts';
import { Api, type ApiAccess } from './api.ts';
import type { Executables, Images } from './container-spec.ts';
import { NodeAgent, type NodeSpec, type NodeTimings } from './node-agent.ts';
import { PodWorker } from './pod-worker.ts';
import { ProcessGroups } from './processes.ts';
import { LocalPathProvisioner } from './provisioner.ts';
import { dataReader } from './volumes.ts';

export interface KubeletOptions {
  access: ApiAccess;
  /** Where pods' directories, volumes and logs go. */
  dir: string;
  nodes: NodeSpec[];
  /** Commands → what runs them here; `node` is always Node itself (process.execPath). */
  executables?: Executables;
  images?: Images;
  /** Caps probes' periodSeconds (default: none), so tests need not wait out production periods. */
  maxProbePeriodMs?: number;
  /** Crash back-off: first delay and cap (default 500 ms, 5 s; the kubelet's are 10 s and 5 min). */
  backoff?: { initialMs: number; maxMs: number };
  /** Node heartbeats (default: Lease renewed every second, status every 10 s, lease 40 s). */
  timings?: Partial<NodeTimings>;
}

export class KubeletStandIn {
  readonly #o: KubeletOptions;
  readonly #api: Api;
  readonly #nodes = new Map<string, NodeAgent>();
  readonly #workers = new Map<string, PodWorker>();
  /** The latest version of each pod bound to one of our nodes, by uid. */
  readonly #pods = new Map<string, Pod>();
  readonly #addresses = new LoopbackAddresses();
  readonly #groups: ProcessGroups;
  readonly #abort = new AbortController();
  readonly #read;

  private constructor(options: KubeletOptions) {
    this.#o = options;
    this.#api = new Api(options.access);
    this.#read = dataReader(this.#api);
    this.#groups = new ProcessGroups(join(options.dir, 'kubelet-pids'));
    const timings: NodeTimings = {
      renewMs: 1_000,
      statusMs: 10_000,
      leaseDurationSeconds: 40,
      ...options.timings,
    };
    for (const spec of options.nodes) this.#nodes.set(spec.name, new NodeAgent(this.#api, spec, timings));
  }

  /** Registers the nodes, starts the provisioner and begins running the pods bound to the nodes. */
  static async start(options: KubeletOptions): Promise<KubeletStandIn> {
    const kubelet = new KubeletStandIn(options);
    try {
      await Promise.all([...kubelet.#nodes.values()].map((n) => n.register()));
      await new LocalPathProvisioner(kubelet.#api, join(options.dir, 'volumes')).start(kubelet.#abort.signal);
      await kubelet.#api.informer<Pod>(
        '/api/v1/pods',
        { onChange: (pod) => kubelet.#changed(pod), onDelete: (pod) => kubelet.#deleted(pod) },
        kubelet.#abort.signal,
      );
    } catch (err) {
      await kubelet.stop();
      throw err;
    }
    return kubelet;
  }

  get nodeNames(): string[] {
    return [...this.#nodes.keys()];
  }

  node(name: string): NodeAgent {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`no node ${name} (nodes: ${this.nodeNames.join(', ')})`);
    return node;
  }

  /**
   * Fails a node: `kill` SIGKILLs its processes (they start again on recovery, as after a reboot),
   * `freeze` SIGSTOPs them (they resume on recovery); either way it stops renewing its Lease and
   * posting its status, and acts on nothing until it recovers.
   */
  failNode(name: string, kind: 'kill' | 'freeze'): void {
    const node = this.node(name);
    node.fail(kind);
    for (const w of this.#workers.values()) if (w.pod.spec?.nodeName === name) w.nodeFailed(kind);
  }

  async recoverNode(name: string): Promise<void> {
    const node = this.node(name);
    const kind = node.state === 'killed' ? 'kill' : node.state === 'frozen' ? 'freeze' : undefined;
    if (!kind) return;
    await node.recover();
    for (const w of this.#workers.values()) if (w.pod.spec?.nodeName === name) w.nodeRecovered(kind);
    for (const pod of this.#pods.values()) if (pod.spec?.nodeName === name) this.#changed(pod);
  }

  /** The process id of a pod's container (the first container when none is named), if it runs. */
  containerPid(namespace: string, pod: string, container?: string): number | undefined {
    const w = [...this.#workers.values()].find(
      (x) => x.pod.metadata?.namespace === namespace && x.pod.metadata?.name === pod,
    );
    return w?.containerPid(container ?? w.pod.spec?.containers[0]?.name ?? '');
  }

  logPath(namespace: string, pod: string, container: string): string {
    return join(this.#o.dir, 'logs', `${namespace}_${pod}`, `${container}.log`);
  }

  /** The last `lines` lines of each container log of the pod `namespace/pod` (or of every pod). */
  logTails(lines = 40, only?: { namespace: string; pod: string }): string {
    const root = join(this.#o.dir, 'logs');
    if (!existsSync(root)) return '';
    let out = '';
    for (const podDir of readdirSync(root).sort()) {
      if (only && podDir !== `${only.namespace}_${only.pod}`) continue;
      for (const file of readdirSync(join(root, podDir)).sort()) {
        const text = readFileSync(join(root, podDir, file), 'utf8')
          .trimEnd()
          .split('\n')
          .slice(-lines)
          .join('\n');
        out += `\n--- last ${lines} lines of ${podDir}/${file} ---\n${text}`;
      }
    }
    return out;
  }

  /** Stops everything at once: heartbeats, watches, and every process (SIGKILL). */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const n of this.#nodes.values()) n.stop();
    for (const w of this.#workers.values()) w.halt();
    this.#groups.close();
    this.#workers.clear();
    this.#addresses.releaseAll();
  }

  #changed(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const node = pod.spec?.nodeName ? this.#nodes.get(pod.spec.nodeName) : undefined;
    if (!node) return;
    this.#pods.set(uid, pod);
    const worker = this.#workers.get(uid);
    if (worker) {
      worker.update(pod);
      return;
    }
    if (!node.up || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    if (this.#abort.signal.aborted) return;
    const ip = this.#addresses.take();
    const w = new PodWorker(pod, {
      api: this.#api,
      read: this.#read,
      node,
      podDir: join(this.#o.dir, 'pods', uid),
      logDir: join(this.#o.dir, 'logs', `${pod.metadata?.namespace}_${pod.metadata?.name}`),
      groups: this.#groups,
      executables: { node: [process.execPath], ...this.#o.executables },
      images: this.#o.images ?? {},
      ip,
      maxProbePeriodMs: this.#o.maxProbePeriodMs ?? Infinity,
      backoff: this.#o.backoff ?? { initialMs: 500, maxMs: 5_000 },
      onGone: () => {
        this.#workers.delete(uid);
        this.#pods.delete(uid);
        this.#addresses.release(ip);
      },
    });
    this.#workers.set(uid, w);
    if (pod.metadata?.deletionTimestamp) w.update(pod);
  }

  #deleted(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    this.#pods.delete(uid);
    this.#workers.get(uid)?.deleted();
  }
}
