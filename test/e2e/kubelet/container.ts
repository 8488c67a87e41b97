/**
 * One container as a local process: started in a process group of its own with its output appended
 * to a log file, probed (startup first; then liveness and readiness), restarted per the pod's
 * restartPolicy after a short back-off that doubles while it keeps crashing, stopped with SIGTERM and
 * then SIGKILL after the grace period. Its state reads as a ContainerStatus.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { constants } from 'node:os';
import type { Container, ContainerState, ContainerStatus } from 'kubernetes-types/core/v1.js';
import { ProcessGroups } from './processes.ts';
import { ProbeLoop, type ProbeTarget } from './probes.ts';

export interface ContainerOptions {
  spec: Container;
  /** The local command line and environment (already rewritten for this machine). */
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  groups: ProcessGroups;
  restartPolicy: string;
  target: ProbeTarget;
  maxProbePeriodMs: number;
  /** For a restart after a failed liveness or startup probe. */
  graceMs: number;
  backoff: { initialMs: number; maxMs: number };
  /** Called whenever the status may have changed. */
  onChange: () => void;
}

/** A run this long resets the crash back-off, as the kubelet's does after 10 minutes. */
const STABLE_RUN_MS = 10_000;
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class ContainerRunner {
  readonly #o: ContainerOptions;
  #child: ChildProcess | undefined;
  #state: ContainerState = { waiting: { reason: 'ContainerCreating' } };
  #lastState: ContainerState = {};
  #restartCount = 0;
  #ready = false;
  #started = false;
  #probes: ProbeLoop[] = [];
  #backoffMs: number;
  #restartTimer: NodeJS.Timeout | undefined;
  /** Set when we stop it on purpose (deletion, a killed node): no restart follows. */
  #halted = false;
  #everStarted = false;

  constructor(options: ContainerOptions) {
    this.#o = options;
    this.#backoffMs = options.backoff.initialMs;
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Whether it has been started at least once (a pod is Pending until each has). */
  get everStarted(): boolean {
    return this.#everStarted;
  }

  get running(): boolean {
    return this.#state.running !== undefined;
  }

  status(): ContainerStatus {
    return {
      name: this.#o.spec.name,
      image: this.#o.spec.image ?? '',
      imageID: '',
      containerID: this.#child?.pid ? `process://${this.#child.pid}` : undefined,
      ready: this.#ready,
      started: this.#started,
      restartCount: this.#restartCount,
      state: this.#state,
      lastState: this.#lastState,
    };
  }

  /** Starts the process (again, after a halt: a new container, as after a node's reboot). */
  start(): void {
    if (this.#everStarted) this.#restartCount++;
    this.#halted = false;
    this.#run();
  }

  /** SIGTERM, SIGKILL after `graceMs`; no restart follows. Resolves once the process has exited. */
  async stop(graceMs: number): Promise<void> {
    this.#halted = true;
    clearTimeout(this.#restartTimer);
    await this.#terminate(graceMs);
  }

  /** SIGKILL at once (a node's crash); no restart until {@link start}. */
  kill(): void {
    this.#halted = true;
    clearTimeout(this.#restartTimer);
    this.#stopProbes();
    if (this.#child?.pid) ProcessGroups.signal(this.#child.pid, 'SIGKILL');
  }

  /** SIGSTOP (true) or SIGCONT (false) to the process group, with the probes paused meanwhile. */
  freeze(frozen: boolean): void {
    for (const p of this.#probes) p.pause(frozen);
    if (this.#child?.pid) ProcessGroups.signal(this.#child.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  #run(): void {
    const o = this.#o;
    note(
      o.logFile,
      `--- ${now()} kubelet stand-in: starting ${o.spec.name} (restart ${this.#restartCount}): ${o.argv.join(' ')}\n`,
    );
    const log = openSync(o.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(o.argv[0], o.argv.slice(1), {
        cwd: o.cwd,
        env: o.env,
        stdio: ['ignore', log, log],
        detached: true, // a process group of its own: signals reach all it started
      });
    } finally {
      closeSync(log);
    }
    child.unref();
    this.#child = child;
    this.#everStarted = true;
    const startedAt = now();
    const began = Date.now();
    child.on('error', (err) => note(o.logFile, `--- kubelet stand-in: ${err.message}\n`));
    child.on('close', (code, signal) => {
      if (child.pid) o.groups.delete(child.pid);
      this.#exited(code, signal, startedAt, Date.now() - began);
    });
    if (child.pid === undefined) return;
    o.groups.add(child.pid);
    this.#state = { running: { startedAt } };
    this.#ready = false;
    this.#started = false;
    this.#startProbes();
    o.onChange();
  }

  #exited(code: number | null, signal: NodeJS.Signals | null, startedAt: string, ranMs: number): void {
    const o = this.#o;
    this.#stopProbes();
    this.#ready = false;
    this.#started = false;
    const exitCode = code ?? 128 + (signal ? signalNumber(signal) : 0);
    const terminated: ContainerState = {
      terminated: {
        exitCode,
        signal: signal ? signalNumber(signal) : undefined,
        reason: exitCode === 0 ? 'Completed' : 'Error',
        startedAt,
        finishedAt: now(),
        containerID: `process://${this.#child?.pid ?? 0}`,
      },
    };
    note(o.logFile, `--- ${now()} kubelet stand-in: ${o.spec.name} exited (${code ?? signal})\n`);
    const restart = o.restartPolicy === 'Always' || (o.restartPolicy === 'OnFailure' && exitCode !== 0);
    if (this.#halted || !restart) {
      this.#state = terminated;
      o.onChange();
      return;
    }
    this.#lastState = terminated;
    this.#backoffMs = ranMs >= STABLE_RUN_MS ? o.backoff.initialMs : this.#backoffMs;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, o.backoff.maxMs);
    this.#state = {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off ${delay}ms restarting failed container ${o.spec.name}`,
      },
    };
    o.onChange();
    this.#restartTimer = setTimeout(() => {
      if (this.#halted) return;
      this.#restartCount++;
      this.#run();
    }, delay);
    this.#restartTimer.unref();
  }

  async #terminate(graceMs: number): Promise<void> {
    this.#stopProbes();
    const child = this.#child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const closed = once(child, 'close');
    ProcessGroups.signal(child.pid, 'SIGCONT'); // a frozen process must be able to act on SIGTERM
    ProcessGroups.signal(child.pid, 'SIGTERM');
    const timer = setTimeout(() => ProcessGroups.signal(child.pid!, 'SIGKILL'), graceMs);
    await closed;
    clearTimeout(timer);
  }

  #startProbes(): void {
    const { spec, target, maxProbePeriodMs } = this.#o;
    const loop = (
      probe: NonNullable<Container['livenessProbe']>,
      onResult: (ok: boolean) => void,
    ): ProbeLoop => {
      const p = new ProbeLoop(probe, target, onResult, maxProbePeriodMs);
      this.#probes.push(p);
      p.start();
      return p;
    };
    const afterStartup = (): void => {
      this.#started = true;
      if (spec.livenessProbe) {
        loop(spec.livenessProbe, (ok) => {
          if (!ok) void this.#restartAfterProbe('liveness');
        });
      }
      if (spec.readinessProbe) {
        loop(spec.readinessProbe, (ok) => {
          this.#ready = ok;
          this.#o.onChange();
        });
      } else {
        this.#ready = true;
      }
      this.#o.onChange();
    };
    if (!spec.startupProbe) {
      afterStartup();
      return;
    }
    const startup = loop(spec.startupProbe, (ok) => {
      if (!ok) {
        void this.#restartAfterProbe('startup');
        return;
      }
      startup.stop();
      this.#probes = this.#probes.filter((p) => p !== startup);
      afterStartup();
    });
  }

  #stopProbes(): void {
    for (const p of this.#probes) p.stop();
    this.#probes = [];
  }

  /** A failed liveness or startup probe: the container is killed, and restarted per its policy. */
  async #restartAfterProbe(kind: string): Promise<void> {
    note(
      this.#o.logFile,
      `--- ${now()} kubelet stand-in: ${kind} probe failed; killing ${this.#o.spec.name}\n`,
    );
    await this.#terminate(this.#o.graceMs);
  }
}

/** A line of the stand-in's own in the container's log (none once the test's directory is gone). */
function note(file: string, line: string): void {
  try {
    appendFileSync(file, line);
  } catch {
    // The test is over.
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 0;
}
