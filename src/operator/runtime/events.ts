/**
 * Kubernetes Events (events.k8s.io/v1) about the objects the operator manages, for `kubectl
 * describe` and `kubectl events`: "Created StatefulSet", "Broker 2 fenced".
 *
 * Recording never fails a reconcile: an Event that cannot be written is logged and dropped.
 * Repeats of the same event about the same object within `seriesWindowMs` update one Event's
 * `series` (count, last seen) instead of creating another, as the API's own recorder does, so a
 * flapping condition cannot flood the namespace.
 */

import { randomBytes } from 'node:crypto';
import type { Event } from 'kubernetes-types/events/v1.js';
import type { Clock } from '../../common/clock.ts';
import { systemClock } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import { silentLogger } from '../../common/logger.ts';
import { isNotFound } from './api-errors.ts';
import type { KubeClient } from './client.ts';
import { assertNamed, type KubeObject, type NamedObject } from './objects.ts';
import { Events, resourcePath } from './resources.ts';
import { kubeMicroTime } from './time.ts';

export const REPORTING_CONTROLLER = 'tributary-operator';

export interface EventSpec {
  readonly type: 'Normal' | 'Warning';
  /** CamelCase, why: `Created`, `BrokerFenced`. */
  readonly reason: string;
  /** CamelCase, what was done: `Apply`, `Elect`, `Roll`. */
  readonly action: string;
  /** For people; at most 1 kB (longer notes are cut). */
  readonly note: string;
}

export interface EventRecorderOptions {
  readonly client: KubeClient;
  /** This process (the pod name); the API requires it. */
  readonly reportingInstance: string;
  readonly reportingController?: string;
  /** Namespace for events about cluster-scoped objects ('default'). */
  readonly defaultNamespace?: string;
  /** Repeats within this window join one series (10 minutes). */
  readonly seriesWindowMs?: number;
  readonly clock?: Clock;
  readonly log?: Logger;
}

interface Recent {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
}

const MAX_NOTE = 1024;
const MAX_RECENT = 4096;

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #instance: string;
  readonly #controller: string;
  readonly #defaultNamespace: string;
  readonly #windowMs: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #recent = new Map<string, Recent>();

  constructor(options: EventRecorderOptions) {
    this.#client = options.client;
    this.#instance = options.reportingInstance;
    this.#controller = options.reportingController ?? REPORTING_CONTROLLER;
    this.#defaultNamespace = options.defaultNamespace ?? 'default';
    this.#windowMs = options.seriesWindowMs ?? 10 * 60_000;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLogger;
  }

  normal(regarding: KubeObject, reason: string, action: string, note: string): Promise<void> {
    return this.record(regarding, { type: 'Normal', reason, action, note });
  }

  warning(regarding: KubeObject, reason: string, action: string, note: string): Promise<void> {
    return this.record(regarding, { type: 'Warning', reason, action, note });
  }

  /** Writes the Event (or adds to its series); resolves when done, never rejects. */
  async record(regarding: KubeObject, spec: EventSpec): Promise<void> {
    try {
      await this.#record(assertNamed(regarding), spec);
    } catch (err) {
      this.#log.warn({ err, reason: spec.reason }, 'Could not record an Event');
    }
  }

  async #record(regarding: NamedObject, spec: EventSpec): Promise<void> {
    const now = this.#clock.now();
    this.#expire(now);
    const meta = regarding.metadata;
    const note = spec.note.length > MAX_NOTE ? `${spec.note.slice(0, MAX_NOTE - 1)}…` : spec.note;
    const key = [
      meta.uid ?? `${meta.namespace}/${meta.name}`,
      spec.type,
      spec.reason,
      spec.action,
      note,
    ].join('\0');
    const recent = this.#recent.get(key);
    if (recent !== undefined) {
      recent.count++;
      try {
        await this.#client.request({
          method: 'PATCH',
          path: resourcePath(Events, { namespace: recent.namespace, name: recent.name }),
          contentType: 'application/merge-patch+json',
          body: { series: { count: recent.count, lastObservedTime: kubeMicroTime(now) } },
        });
        return;
      } catch (err) {
        // Someone deleted the Event (or its TTL ran out): start a new one.
        if (!isNotFound(err)) throw err;
        this.#recent.delete(key);
      }
    }
    const namespace = meta.namespace || this.#defaultNamespace;
    const name = `${meta.name}.${randomBytes(8).toString('hex')}`;
    const event: Event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: kubeMicroTime(now),
      type: spec.type,
      reason: spec.reason,
      action: spec.action,
      note,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      reportingController: this.#controller,
      reportingInstance: this.#instance,
    };
    await this.#client.request({ method: 'POST', path: resourcePath(Events, { namespace }), body: event });
    if (this.#recent.size >= MAX_RECENT) this.#recent.delete(this.#recent.keys().next().value!);
    this.#recent.set(key, { name, namespace, count: 1, firstAt: now });
  }

  /** Forgets series older than the window (the map is in insertion order, oldest first). */
  #expire(now: number): void {
    for (const [key, r] of this.#recent) {
      if (now - r.firstAt < this.#windowMs) break;
      this.#recent.delete(key);
    }
  }
}
