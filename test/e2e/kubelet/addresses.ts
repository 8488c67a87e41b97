/**
 * Pods' loopback addresses, 127.0.0.10 to 127.0.0.254, unique on this machine while the pod exists:
 * test files run in parallel jest workers, each with a stand-in of its own, and two pods on one
 * address would fight over their ports. Each address taken is a lock file in a directory every
 * stand-in shares, naming the process holding it; a file whose process is gone is taken over.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const FIRST_HOST = 10;
const LAST_HOST = 254;
const LOCKS = join(tmpdir(), 'tributary-e2e-addresses');

export class LoopbackAddresses {
  readonly #held = new Set<string>();
  /** Handed out in turn, so a new pod does not get the address a deleted one just had. */
  #next = FIRST_HOST;

  constructor() {
    mkdirSync(LOCKS, { recursive: true });
    live.add(this);
    installHook();
  }

  take(): string {
    for (let i = FIRST_HOST; i <= LAST_HOST; i++) {
      const host = this.#next;
      this.#next = host >= LAST_HOST ? FIRST_HOST : host + 1;
      const ip = `127.0.0.${host}`;
      if (!this.#held.has(ip) && lock(ip)) {
        this.#held.add(ip);
        return ip;
      }
    }
    throw new Error('no loopback address left for a pod (127.0.0.10-254 all taken on this machine)');
  }

  release(ip: string): void {
    if (!this.#held.delete(ip)) return;
    try {
      unlinkSync(join(LOCKS, ip));
    } catch {
      // Already gone.
    }
  }

  releaseAll(): void {
    for (const ip of [...this.#held]) this.release(ip);
    live.delete(this);
  }
}

function lock(ip: string): boolean {
  const file = join(LOCKS, ip);
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    // Held: by a live process, or left behind by one that was killed.
  }
  let holder = 0;
  try {
    holder = Number(readFileSync(file, 'utf8'));
  } catch {
    // Released meanwhile: try to take it below.
  }
  if (holder > 0 && alive(holder)) return false;
  {
    try {
      unlinkSync(file);
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      return false;
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const live = new Set<LoopbackAddresses>();
let hooked = false;

function installHook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const a of live) a.releaseAll();
  });
}
