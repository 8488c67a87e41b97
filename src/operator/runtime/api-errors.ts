/**
 * The API server's refusals, as data the caller branches on (404, 409, 410, …).
 *
 * Deliberately not in the TRIB_ catalogue: like an errno from the file system, a `Status` from the
 * API server is the *cause* of a Tributary fault (a failed reconcile), not one of our own; the
 * reconciler that gives up wraps it. The fields mirror the API's `Status` object so logs show what
 * the server said.
 */

import type { Status } from 'kubernetes-types/meta/v1.js';

export class KubeApiError extends Error {
  /** HTTP status code (404, 409, 410, 422, …). */
  readonly status: number;
  /** The Status reason (`NotFound`, `Conflict`, `AlreadyExists`, `Expired`, `Invalid`, …), '' if none. */
  readonly reason: string;
  readonly method: string;
  readonly path: string;
  /** The Status body the server sent, when it sent one. */
  readonly body: Status | undefined;

  constructor(p: { status: number; method: string; path: string; body?: Status; text?: string }) {
    const said = p.body?.message ?? p.text?.slice(0, 500) ?? '';
    super(`${p.method} ${p.path} failed with HTTP ${p.status}${said ? `: ${said}` : ''}`);
    this.name = 'KubeApiError';
    this.status = p.status;
    this.reason = p.body?.reason ?? '';
    this.method = p.method;
    this.path = p.path;
    this.body = p.body;
  }
}

const hasStatus = (err: unknown, status: number): boolean =>
  err instanceof KubeApiError && err.status === status;

export const isNotFound = (err: unknown): boolean => hasStatus(err, 404);

/** 409 because someone else wrote first (a resourceVersion precondition failed). */
export const isConflict = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 409 && err.reason !== 'AlreadyExists';

export const isAlreadyExists = (err: unknown): boolean =>
  err instanceof KubeApiError && err.status === 409 && err.reason === 'AlreadyExists';

/** 422: the object is invalid (its schema or a validation rule refuses it); sending it again cannot help. */
export const isInvalid = (err: unknown): boolean => hasStatus(err, 422);

/** 410: a resourceVersion or continue token older than the server still keeps. */
export const isGone = (err: unknown): boolean => hasStatus(err, 410);

/**
 * Runs a read-modify-write until it does not collide with another writer: `attempt` is called
 * again, and should re-read what it changes, each time it throws a conflict (409). Any other error,
 * or a conflict on the last attempt, is thrown.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err;
    }
  }
}
