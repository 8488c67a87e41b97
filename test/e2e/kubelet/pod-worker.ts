/**
 * One pod on one node, from scheduling to deletion: its volumes made (retried until the objects they
 * need exist), its containers started with their own environment and rewritten paths, its status
 * posted (phase, conditions, IPs, container statuses) whenever it changes, and on deletion its
 * containers stopped within the grace period before the pod object is removed (grace 0), as the
 * kubelet does. While its node is failed it does nothing; the node's recovery catches up.
 * Init containers, ephemeral containers, lifecycle hooks and securityContext are not implemented.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod, PodCondition } from 'kubernetes-types/core/v1.js';
import { STRATEGIC_MERGE_PATCH, type Api } from './api.ts';
import { ContainerRunner } from './container.ts';
import {
  commandLine,
  containerEnv,
  localArgv,
  rewriteValue,
  type DataReader,
  type Executables,
  type Images,
} from './container-spec.ts';
import type { NodeAgent } from './node-agent.ts';
import type { ProcessGroups } from './processes.ts';
import { unsupportedProbe } from './probes.ts';
import { containerMounts, prepareVolumes } from './volumes.ts';

export interface PodWorkerDeps {
  api: Api;
  read: DataReader;
  node: NodeAgent;
  /** This pod's own directory (volumes other than claims, the working directory). */
  podDir: string;
  /** This pod's log directory: one file per container. */
  logDir: string;
  groups: ProcessGroups;
  executables: Executables;
  images: Images;
  /** The pod's loopback address. */
  ip: string;
  maxProbePeriodMs: number;
  backoff: { initialMs: number; maxMs: number };
  /** Called once the pod is gone and its processes have exited. */
  onGone: () => void;
}

const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const RETRY_MS = 300;

export class PodWorker {
  readonly #d: PodWorkerDeps;
  #pod: Pod;
  #containers = new Map<string, ContainerRunner>();
  #error: string | undefined;
  #terminating = false;
  #gone = false;
  #finished = false;
  readonly #startTime = now();
  readonly #transitions = new Map<string, { status: string; time: string }>();
  #posting = false;
  #dirty = false;

  constructor(pod: Pod, deps: PodWorkerDeps) {
    this.#pod = pod;
    this.#d = deps;
    void this.#setup();
  }

  get pod(): Pod {
    return this.#pod;
  }

  containerPid(name: string): number | undefined {
    return this.#containers.get(name)?.pid;
  }

  /** A newer version of the pod object. */
  update(pod: Pod): void {
    this.#pod = pod;
    if (this.#d.node.up && pod.metadata?.deletionTimestamp) void this.#terminate();
  }

  /** The pod object is gone (deleted with grace 0): its processes go at once. */
  deleted(): void {
    this.#gone = true;
    if (this.#d.node.up) void this.#terminate();
  }

  /** The stand-in is stopping: every process is killed, nothing restarts, nothing is posted. */
  halt(): void {
    this.#finished = true;
    this.#terminating = true;
    for (const c of this.#containers.values()) c.kill();
  }

  nodeFailed(kind: 'kill' | 'freeze'): void {
    for (const c of this.#containers.values()) {
      if (kind === 'kill') c.kill();
      else c.freeze(true);
    }
  }

  /** The node is back: processes of a killed node start again, a frozen node's resume. */
  nodeRecovered(kind: 'kill' | 'freeze'): void {
    for (const c of this.#containers.values()) {
      if (kind === 'kill') c.start();
      else c.freeze(false);
    }
    if (this.#gone || this.#pod.metadata?.deletionTimestamp) void this.#terminate();
    else this.#postStatus();
  }

  async #setup(): Promise<void> {
    const d = this.#d;
    const pod = this.#pod;
    for (;;) {
      if (this.#terminating) return;
      try {
        mkdirSync(d.podDir, { recursive: true });
        mkdirSync(d.logDir, { recursive: true });
        const volumes = await prepareVolumes(pod, d.podDir, d.api, d.read);
        for (const spec of pod.spec?.containers ?? []) {
          for (const probe of [spec.startupProbe, spec.livenessProbe, spec.readinessProbe]) {
            const unsupported = unsupportedProbe(probe);
            if (unsupported) throw new Error(`container ${spec.name}: ${unsupported}`);
          }
          const mounts = containerMounts(spec, volumes);
          const env = await containerEnv(pod, spec, { podIP: d.ip, hostIP: d.ip }, d.read);
          const rewrite = (v: string): string => rewriteValue(v, mounts, d.ip);
          const argv = localArgv(commandLine(spec, env, d.images), d.executables).map(rewrite);
          const processEnv: Record<string, string> = { ...baseEnv(), HOSTNAME: pod.metadata?.name ?? '' };
          for (const [k, v] of env) processEnv[k] = rewrite(v);
          this.#containers.set(
            spec.name,
            new ContainerRunner({
              spec,
              argv,
              env: processEnv,
              cwd: spec.workingDir ? rewrite(spec.workingDir) : d.podDir,
              logFile: join(d.logDir, `${spec.name}.log`),
              groups: d.groups,
              restartPolicy: pod.spec?.restartPolicy ?? 'Always',
              target: { host: d.ip, ports: spec.ports ?? [] },
              maxProbePeriodMs: d.maxProbePeriodMs,
              graceMs: (pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
              backoff: d.backoff,
              onChange: () => this.#postStatus(),
            }),
          );
        }
        break;
      } catch (err) {
        this.#containers.clear();
        this.#error = (err as Error).message;
        this.#postStatus();
        // An object that may yet appear (a ConfigMap, a bound claim), or a spec this stand-in
        // cannot run (shown in the pod's message): either way, try again.
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
    this.#error = undefined;
    if (this.#terminating || !this.#d.node.up) {
      if (!this.#d.node.up) for (const c of this.#containers.values()) c.kill();
      return;
    }
    for (const c of this.#containers.values()) c.start();
  }

  async #terminate(): Promise<void> {
    if (this.#terminating) return;
    this.#terminating = true;
    const pod = this.#pod;
    const graceSeconds = this.#gone
      ? 0
      : (pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    await Promise.all([...this.#containers.values()].map((c) => c.stop(graceSeconds * 1000)));
    if (!this.#gone) {
      await this.#flushStatus();
      const uid = pod.metadata?.uid;
      await this.#d.api
        .must(
          'DELETE',
          `/api/v1/namespaces/${pod.metadata?.namespace}/pods/${pod.metadata?.name}`,
          { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } },
          { allow: [404, 409] },
        )
        .catch(() => undefined);
    }
    // Claims' directories are not the pod's: they stay for the pod made again.
    rmSync(join(this.#d.podDir, 'volumes'), { recursive: true, force: true });
    this.#finished = true;
    this.#d.onGone();
  }

  /** Posts the status now, or once the post in flight has finished (never two at a time). */
  #postStatus(): void {
    if (this.#finished || this.#gone || !this.#d.node.up) return;
    if (this.#posting) {
      this.#dirty = true;
      return;
    }
    this.#posting = true;
    void this.#send().finally(() => {
      this.#posting = false;
      if (this.#dirty) {
        this.#dirty = false;
        this.#postStatus();
      }
    });
  }

  async #flushStatus(): Promise<void> {
    while (this.#posting) await new Promise((r) => setTimeout(r, 10));
    await this.#send();
  }

  async #send(): Promise<void> {
    const pod = this.#pod;
    const path = `/api/v1/namespaces/${pod.metadata?.namespace}/pods/${pod.metadata?.name}/status`;
    // The uid makes the patch fail on a pod of the same name made since (the kubelet does the same).
    const body = { metadata: { uid: pod.metadata?.uid }, status: this.#status() };
    await this.#d.api.request('PATCH', path, body, STRATEGIC_MERGE_PATCH).catch(() => undefined);
  }

  #status(): Pod['status'] {
    const containers = [...this.#containers.values()];
    const all = containers.length > 0;
    const ready = all && containers.every((c) => c.ready);
    const started = all && containers.every((c) => c.everStarted);
    const statuses = containers.map((c) => c.status());
    const terminated = all && statuses.every((s) => s.state?.terminated);
    const failed = statuses.some((s) => (s.state?.terminated?.exitCode ?? 0) !== 0);
    const phase = terminated ? (failed ? 'Failed' : 'Succeeded') : started ? 'Running' : 'Pending';
    const ip = this.#d.ip;
    return {
      phase,
      conditions: [
        this.#condition('PodScheduled', true),
        this.#condition('PodReadyToStartContainers', true),
        this.#condition('Initialized', true),
        this.#condition('ContainersReady', ready),
        this.#condition('Ready', ready),
      ],
      message: this.#error,
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: ip,
      hostIPs: [{ ip }],
      startTime: this.#startTime,
      containerStatuses:
        statuses.length > 0
          ? statuses
          : (this.#pod.spec?.containers ?? []).map((c) => ({
              name: c.name,
              image: c.image ?? '',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ContainerCreating', message: this.#error } },
            })),
    };
  }

  #condition(type: string, ok: boolean): PodCondition {
    const status = ok ? 'True' : 'False';
    const last = this.#transitions.get(type);
    if (last?.status !== status) this.#transitions.set(type, { status, time: now() });
    return { type, status, lastTransitionTime: this.#transitions.get(type)!.time };
  }
}

/** What every container's environment starts from (an image's ENV, in effect). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'LANG', 'TZ']) {
    const v = process.env[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}
