/**
 * Children of `tributary dev --brokers N` must never outlive it, even when it is SIGKILLed and can
 * run no clean-up. The supervisor gives each child a pipe on stdin and sets
 * TRIBUTARY_EXIT_WITH_PARENT=1; the kernel closes the pipe when the supervisor dies, however it dies,
 * and the child sees its stdin end. (Linux's PR_SET_PDEATHSIG would do it too, but Node offers no
 * way to set it, and the pipe works on every platform.)
 */
export const EXIT_WITH_PARENT_ENV = 'TRIBUTARY_EXIT_WITH_PARENT';

/**
 * Calls `onParentGone` once, when stdin ends, if this process was started with
 * TRIBUTARY_EXIT_WITH_PARENT=1; otherwise does nothing. Stdin does not keep the process alive, so a
 * clean stop need not undo this.
 */
export function exitWithParent(onParentGone: () => void): void {
  if (process.env[EXIT_WITH_PARENT_ENV] !== '1') return;
  const stdin = process.stdin;
  let fired = false;
  const fire = (): void => {
    if (fired) return;
    fired = true;
    onParentGone();
  };
  stdin.on('end', fire);
  stdin.on('close', fire);
  stdin.on('error', fire);
  stdin.resume();
  (stdin as { unref?: () => void }).unref?.();
}
