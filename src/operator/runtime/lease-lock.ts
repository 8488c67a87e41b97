/**
 * The Lease object leader election competes for, read and written with optimistic concurrency:
 * every write names the resourceVersion it read, so two candidates cannot both win a round.
 */

import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { isNotFound } from './api-errors.ts';
import type { KubeClient } from './client.ts';
import type { LeaseRecord } from './lease-decision.ts';
import { Leases, resourcePath } from './resources.ts';

export interface LeaseLock {
  /** `namespace/name`, for logs and metrics. */
  readonly description: string;
  /** The lease and its resourceVersion; `undefined` if it does not exist. */
  get(signal: AbortSignal): Promise<{ record: LeaseRecord; resourceVersion: string } | undefined>;
  /** Creates the lease; rejects (409 AlreadyExists) if someone else created it first. Returns its resourceVersion. */
  create(record: LeaseRecord, signal: AbortSignal): Promise<string>;
  /** Replaces the lease if it is still at `resourceVersion`; rejects (409 Conflict) otherwise. */
  update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<string>;
}

export function kubeLeaseLock(client: KubeClient, at: { namespace: string; name: string }): LeaseLock {
  const collection = resourcePath(Leases, { namespace: at.namespace });
  const path = resourcePath(Leases, at);
  const lease = (record: LeaseRecord, resourceVersion?: string): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: at.name, namespace: at.namespace, resourceVersion },
    spec: { ...record },
  });
  const rv = (l: Lease): string => l.metadata?.resourceVersion ?? '';
  return {
    description: `${at.namespace}/${at.name}`,
    async get(signal) {
      try {
        const l = await client.request<Lease>({ method: 'GET', path, signal });
        return { record: l.spec ?? {}, resourceVersion: rv(l) };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async create(record, signal) {
      return rv(
        await client.request<Lease>({ method: 'POST', path: collection, body: lease(record), signal }),
      );
    },
    async update(record, resourceVersion, signal) {
      return rv(
        await client.request<Lease>({ method: 'PUT', path, body: lease(record, resourceVersion), signal }),
      );
    },
  };
}
