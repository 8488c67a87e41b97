/**
 * The stand-in's container processes never outlive the test process. Each runs in a process group
 * of its own (so a signal reaches whatever it started too); the groups are SIGKILLed by an exit
 * hook when the test process exits, and by a detached watchdog shell when it is killed outright
 * (the watchdog reads the groups from a file kept current here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export class ProcessGroups {
  readonly #pidsFile: string;
  readonly #groups = new Set<number>();
  #watchdog: ChildProcess | undefined;
  #closed = false;

  constructor(pidsFile: string) {
    this.#pidsFile = pidsFile;
    live.add(this);
    installHook();
  }

  add(pid: number): void {
    if (this.#closed) {
      // Started as everything was being stopped: it must not outlive the test either.
      ProcessGroups.signal(pid, 'SIGKILL');
      return;
    }
    this.#groups.add(pid);
    this.#write();
  }

  delete(pid: number): void {
    this.#groups.delete(pid);
    this.#write();
  }

  /** Sends `signal` to the whole group led by `pid`; false if it is gone. */
  static signal(pid: number, signal: NodeJS.Signals): boolean {
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGKILLs every group at once (for the exit hook, and the end of a test). */
  killAll(): void {
    for (const pid of this.#groups) {
      ProcessGroups.signal(pid, 'SIGKILL');
    }
    this.#groups.clear();
    this.#write();
  }

  close(): void {
    this.killAll();
    this.#closed = true;
    this.#watchdog?.kill('SIGKILL');
    live.delete(this);
  }

  #write(): void {
    // Processes killed by close() report their exit later, when the directory may be gone.
    if (this.#closed) return;
    writeFileSync(this.#pidsFile, [...this.#groups].join(' ') + '\n');
    if (this.#watchdog) return;
    const script =
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
      'for p in $(cat "$2" 2>/dev/null); do kill -9 -- "-$p" 2>/dev/null; done';
    this.#watchdog = spawn(
      'sh',
      ['-c', script, 'tributary-kubelet-watchdog', String(process.pid), this.#pidsFile],
      {
        stdio: 'ignore',
        detached: true,
      },
    );
    this.#watchdog.unref();
  }
}

const live = new Set<ProcessGroups>();
let hooked = false;

function installHook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const groups of live) groups.close();
  });
}
