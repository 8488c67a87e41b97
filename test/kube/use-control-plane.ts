/**
 * One control plane per test file: `useControlPlane()` registers the beforeAll that starts it and
 * the afterAll that stops it, and returns an accessor for the tests. harness.ts itself knows nothing
 * of jest; this is the only place the two meet.
 */
import { afterAll, beforeAll } from '@jest/globals';
import { startControlPlane, type ControlPlane, type StartOptions } from './harness.ts';

export interface ControlPlaneHooks {
  /**
   * Runs once the control plane is up, in the same beforeAll (and its timeout): installing CRDs,
   * making clients, starting an operator. If it throws, the control plane is still stopped.
   */
  setup?: (cp: ControlPlane) => void | Promise<void>;
  /** Runs before the control plane stops, in the same afterAll: stops what `setup` started. */
  teardown?: () => void | Promise<void>;
}

/**
 * Starts a control plane (with `options`) before the file's tests and stops it after them. The
 * returned function gives it to the tests; it throws if the start failed, so each test fails saying
 * why instead of on an undefined.
 */
export function useControlPlane(
  options: StartOptions = {},
  hooks: ControlPlaneHooks = {},
): () => ControlPlane {
  let cp: ControlPlane | undefined;

  beforeAll(async () => {
    cp = await startControlPlane(options);
    await hooks.setup?.(cp);
  }, 120_000);

  afterAll(async () => {
    try {
      await hooks.teardown?.();
    } finally {
      await cp?.stop();
    }
  }, 60_000);

  return () => {
    if (!cp) throw new Error('the control plane did not start');
    return cp;
  };
}
