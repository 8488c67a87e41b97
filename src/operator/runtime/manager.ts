/**
 * Runs the pieces of an operator in order, and stops them in the reverse order.
 *
 * Start: informers (on every replica, so a replica that takes over has warm caches) → wait until
 * every cache is synced → leader election → controllers, only while leading.
 * Stop (SIGTERM): controllers stop taking keys and finish the reconciles in flight → the lease is
 * released, so the other replica takes over at once → informers stop.
 */

import type { Registry } from 'prom-client';
import type { Clock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import { LeaderElector, type LeaderElectionTimings } from './leader-election.ts';
import type { LeaseLock } from './lease-lock.ts';

/** What runs only while leading: a controller, or the metadata host (src/operator/metadata/host.ts). */
export interface ManagedController {
  start(): void;
  stop(): Promise<void>;
}

/** What the manager needs of an informer (any `Informer<T>` is one). */
export interface ManagedInformer {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

export interface ManagerOptions {
  readonly informers: readonly ManagedInformer[];
  readonly controllers: readonly ManagedController[];
  /** Without it, controllers run as soon as the caches are synced (a single replica, or dev mode). */
  readonly leaderElection?: LeaderElectionTimings & {
    readonly lock: LeaseLock;
    readonly identity: string;
    readonly onNewLeader?: (identity: string) => void;
  };
  readonly clock?: Clock;
  readonly log?: Logger;
  readonly registry?: Registry;
}

export class Manager {
  readonly #informers: readonly ManagedInformer[];
  readonly #controllers: readonly ManagedController[];
  readonly #elector: LeaderElector | undefined;
  readonly #log: Logger;
  readonly #starting = new AbortController();
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopped: Promise<void> | undefined;

  constructor(options: ManagerOptions) {
    this.#informers = options.informers;
    this.#controllers = options.controllers;
    this.#log = (options.log ?? silentLogger).child({ component: 'manager' });
    const le = options.leaderElection;
    this.#elector =
      le === undefined
        ? undefined
        : new LeaderElector({
            ...le,
            clock: options.clock,
            log: options.log,
            registry: options.registry,
            onStartedLeading: () => this.#startControllers(),
            onStoppedLeading: () => this.#stopControllers(),
          });
  }

  /** The elector, when leader election is on. */
  get elector(): LeaderElector | undefined {
    return this.#elector;
  }

  /** Whether this replica's controllers run (always true without leader election, once started). */
  get leading(): boolean {
    return this.#elector ? this.#elector.isLeader : this.#state === 'running';
  }

  /**
   * Starts the informers, waits until they are synced, then campaigns (or starts the controllers).
   * Rejects if `stop()` is called before the caches are synced.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error('a manager can be started once');
    this.#state = 'starting';
    for (const informer of this.#informers) informer.start();
    await Promise.all(this.#informers.map((i) => i.waitForSync(this.#starting.signal)));
    this.#log.info({ informers: this.#informers.length }, 'Caches synced');
    this.#state = 'running';
    if (this.#elector) this.#elector.start();
    else this.#startControllers();
  }

  /** Stops everything in order; safe to call more than once (later calls wait for the first). */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'stopping';
    this.#starting.abort(new Error('the manager was stopped before its caches synced'));
    if (this.#elector && wasRunning) await this.#elector.stop();
    else await this.#stopControllers();
    await Promise.all(this.#informers.map((i) => i.stop()));
    this.#state = 'stopped';
    this.#log.info('Stopped');
  }

  #startControllers(): void {
    for (const c of this.#controllers) c.start();
  }

  async #stopControllers(): Promise<void> {
    await Promise.all(this.#controllers.map((c) => c.stop()));
  }
}

/** What {@link stopOnSignals} listens on: `process`, or a stand-in in tests. */
export interface SignalSource {
  once(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

/**
 * Stops `manager` on the first of `signals` (SIGTERM, SIGINT). `stopped` resolves with the signal
 * once the manager has stopped; the caller (the CLI) decides how to exit. `dispose` removes the
 * listeners.
 */
export function stopOnSignals(
  manager: Pick<Manager, 'stop'>,
  options: { signals?: readonly NodeJS.Signals[]; source?: SignalSource } = {},
): { stopped: Promise<NodeJS.Signals>; dispose(): void } {
  const source = options.source ?? process;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const listeners = new Map<NodeJS.Signals, () => void>();
  const dispose = (): void => {
    for (const [signal, listener] of listeners) source.off(signal, listener);
    listeners.clear();
  };
  const stopped = new Promise<NodeJS.Signals>((resolve, reject) => {
    for (const signal of signals) {
      const listener = (): void => {
        dispose();
        manager.stop().then(() => resolve(signal), reject);
      };
      listeners.set(signal, listener);
      source.once(signal, listener);
    }
  });
  return { stopped, dispose };
}
