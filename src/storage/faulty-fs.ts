import type { FileStat, Fs, OpenMode, StorageFile } from './fs.ts';

/** Which files a fault applies to; by default any file. */
export type PathFilter = (path: string) => boolean;

interface WriteFault {
  code: string;
  /** Bytes actually written before the failure: a torn write. */
  tornAfter: number;
  filter: PathFilter;
}

interface SyncFault {
  code: string;
  filter: PathFilter;
}

function errnoError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${syscall} '${path}'`);
  err.code = code;
  err.syscall = syscall;
  err.path = path;
  return err;
}

const anyFile: PathFilter = () => true;

/**
 * A fault-injecting double around a real `Fs` (after kfake's `failNextSync`). Faults are one-shot and
 * fire in the order armed; `failAllWrites` makes the disk look full from then on.
 */
export class FaultyFs implements Fs {
  readonly #inner: Fs;
  readonly #writeFaults: WriteFault[] = [];
  readonly #syncFaults: SyncFault[] = [];
  /** Which files the disk is full for; null while it is not. */
  #diskFull: PathFilter | null = null;

  constructor(inner: Fs) {
    this.#inner = inner;
  }

  /** The next fsync of a matching file fails (EIO by default) without syncing. */
  failNextSync(opts: { code?: string; filter?: PathFilter } = {}): void {
    this.#syncFaults.push({ code: opts.code ?? 'EIO', filter: opts.filter ?? anyFile });
  }

  /** The next write to a matching file writes `tornAfter` bytes (0 by default) and then fails. */
  failNextWrite(opts: { code?: string; tornAfter?: number; filter?: PathFilter } = {}): void {
    this.#writeFaults.push({
      code: opts.code ?? 'ENOSPC',
      tornAfter: opts.tornAfter ?? 0,
      filter: opts.filter ?? anyFile,
    });
  }

  /**
   * Every write from now on (to matching files) fails with ENOSPC, as on a full volume;
   * `failAllWrites(false)` frees it.
   */
  failAllWrites(full = true, filter: PathFilter = anyFile): void {
    this.#diskFull = full ? filter : null;
  }

  takeWriteFault(path: string): WriteFault | null {
    if (this.#diskFull?.(path)) return { code: 'ENOSPC', tornAfter: 0, filter: anyFile };
    const i = this.#writeFaults.findIndex((f) => f.filter(path));
    return i < 0 ? null : this.#writeFaults.splice(i, 1)[0];
  }

  takeSyncFault(path: string): SyncFault | null {
    const i = this.#syncFaults.findIndex((f) => f.filter(path));
    return i < 0 ? null : this.#syncFaults.splice(i, 1)[0];
  }

  async open(path: string, mode: OpenMode): Promise<StorageFile> {
    return new FaultyFile(this, path, await this.#inner.open(path, mode));
  }

  readFile(path: string): Promise<Buffer> {
    return this.#inner.readFile(path);
  }
  rename(from: string, to: string): Promise<void> {
    return this.#inner.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.#inner.unlink(path);
  }
  mkdir(path: string): Promise<void> {
    return this.#inner.mkdir(path);
  }
  readdir(path: string): Promise<string[]> {
    return this.#inner.readdir(path);
  }
  stat(path: string): Promise<FileStat | null> {
    return this.#inner.stat(path);
  }
  syncDir(path: string): Promise<void> {
    const fault = this.takeSyncFault(path);
    if (fault) return Promise.reject(errnoError(fault.code, 'fsync', path));
    return this.#inner.syncDir(path);
  }
  removeTree(path: string): Promise<void> {
    return this.#inner.removeTree(path);
  }
}

class FaultyFile implements StorageFile {
  readonly #owner: FaultyFs;
  readonly #path: string;
  readonly #inner: StorageFile;

  constructor(owner: FaultyFs, path: string, inner: StorageFile) {
    this.#owner = owner;
    this.#path = path;
    this.#inner = inner;
  }

  read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    return this.#inner.read(buf, offset, length, position);
  }

  async writev(buffers: Buffer[], position: number): Promise<number> {
    const fault = this.#owner.takeWriteFault(this.#path);
    if (!fault) return this.#inner.writev(buffers, position);
    if (fault.tornAfter > 0) {
      const torn = Buffer.concat(buffers).subarray(0, fault.tornAfter);
      await this.#inner.writev([torn], position);
    }
    throw errnoError(fault.code, 'write', this.#path);
  }

  async sync(): Promise<void> {
    const fault = this.#owner.takeSyncFault(this.#path);
    if (fault) throw errnoError(fault.code, 'fsync', this.#path);
    return this.#inner.sync();
  }

  truncate(length: number): Promise<void> {
    return this.#inner.truncate(length);
  }
  size(): Promise<number> {
    return this.#inner.size();
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}
