/**
 * Lag as Prometheus metrics, for the groups that have a ConsumerGroup resource (declared or
 * discovered) and only while this replica leads: the cardinality is that of resources × their
 * partitions, never of clients. A series goes when its resource goes, when its partition no longer
 * has a committed offset, and when this replica stops leading (the new leader exports them).
 */
import { Gauge, type Registry } from 'prom-client';
import type { ObservedStatus } from './observe.ts';

export interface GroupLabels {
  readonly namespace: string;
  readonly cluster: string;
  readonly group: string;
}

type Labels = Record<string, string>;

export class GroupMetrics {
  readonly #lag: Gauge;
  readonly #totalLag: Gauge;
  readonly #members: Gauge;
  /** The label sets exported for each resource key, to remove what is no longer there. */
  readonly #exported = new Map<string, { group: Labels; partitions: Labels[] }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.#lag = new Gauge({
      name: 'tributary_consumergroup_lag',
      help: 'Records of a partition not yet consumed by the group: log end offset - committed offset.',
      labelNames: ['namespace', 'cluster', 'group', 'topic', 'partition'],
      registers,
    });
    this.#totalLag = new Gauge({
      name: 'tributary_consumergroup_total_lag',
      help: 'Lag of the group summed over its partitions.',
      labelNames: ['namespace', 'cluster', 'group'],
      registers,
    });
    this.#members = new Gauge({
      name: 'tributary_consumergroup_members',
      help: 'Active members of the group.',
      labelNames: ['namespace', 'cluster', 'group'],
      registers,
    });
  }

  /** Exports the observation of resource `key`, removing its series that are gone. */
  update(key: string, labels: GroupLabels, observed: ObservedStatus): void {
    const group: Labels = { ...labels };
    const partitions: Labels[] = [];
    for (const t of observed.topics) {
      for (const p of t.partitions) {
        if (p.lag === undefined) continue;
        const l = { ...group, topic: t.name, partition: String(p.partition) };
        this.#lag.set(l, p.lag);
        partitions.push(l);
      }
    }
    this.#totalLag.set(group, observed.totalLag);
    this.#members.set(group, observed.members);
    const before = this.#exported.get(key);
    if (before) {
      const now = new Set(partitions.map(id));
      for (const l of before.partitions) if (!now.has(id(l))) this.#lag.remove(l);
      if (id(before.group) !== id(group)) {
        this.#totalLag.remove(before.group);
        this.#members.remove(before.group);
      }
    }
    this.#exported.set(key, { group, partitions });
  }

  /** Removes every series of resource `key`. */
  forget(key: string): void {
    const before = this.#exported.get(key);
    if (!before) return;
    for (const l of before.partitions) this.#lag.remove(l);
    this.#totalLag.remove(before.group);
    this.#members.remove(before.group);
    this.#exported.delete(key);
  }

  /** Removes every series (this replica stopped leading). */
  clear(): void {
    for (const key of [...this.#exported.keys()]) this.forget(key);
  }
}

function id(l: Labels): string {
  return JSON.stringify(Object.entries(l).sort());
}
