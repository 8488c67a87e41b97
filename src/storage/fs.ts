import { constants } from 'node:fs';
import { open, readFile, readdir, rename, rm, mkdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

/**
 * The narrow file-system seam the storage engine uses. Everything durable goes through here, so a
 * test can swap in `FaultyFs` and fail an fsync, tear a write, or run out of space at a chosen moment.
 * Positions are explicit on every read and write: the log never relies on a file cursor.
 */
export interface StorageFile {
  /** Reads up to `length` bytes at `position` into `buf` at `offset`; returns the bytes read (short at EOF). */
  read(buf: Buffer, offset: number, length: number, position: number): Promise<number>;
  /** Writes `buffers` back to back at `position`; may write fewer bytes than asked (returns the count). */
  writev(buffers: Buffer[], position: number): Promise<number>;
  /** fdatasync: the data and the size are on the device when this resolves. */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export type OpenMode = 'read' | 'write';

export interface FileStat {
  size: number;
  mtimeMs: number;
  isDirectory: boolean;
}

export interface Fs {
  /** 'read' opens an existing file read-only; 'write' opens read-write, creating it if missing. */
  open(path: string, mode: OpenMode): Promise<StorageFile>;
  readFile(path: string): Promise<Buffer>;
  /** Atomic replace (POSIX rename). */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  /** null when the path does not exist. */
  stat(path: string): Promise<FileStat | null>;
  /** fsync a directory so that creations, renames and unlinks in it survive a power loss. */
  syncDir(path: string): Promise<void>;
  removeTree(path: string): Promise<void>;
}

class NodeFile implements StorageFile {
  #fh: FileHandle;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  async read(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    const { bytesRead } = await this.#fh.read(buf, offset, length, position);
    return bytesRead;
  }

  async writev(buffers: Buffer[], position: number): Promise<number> {
    const { bytesWritten } = await this.#fh.writev(buffers, position);
    return bytesWritten;
  }

  sync(): Promise<void> {
    return this.#fh.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.#fh.truncate(length);
  }

  async size(): Promise<number> {
    return (await this.#fh.stat()).size;
  }

  close(): Promise<void> {
    return this.#fh.close();
  }
}

export const nodeFs: Fs = {
  async open(path, mode) {
    const flags = mode === 'read' ? constants.O_RDONLY : constants.O_RDWR | constants.O_CREAT;
    return new NodeFile(await open(path, flags, 0o644));
  },
  readFile: (path) => readFile(path),
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  readdir: (path) => readdir(path),
  async stat(path) {
    try {
      const s = await stat(path);
      return { size: s.size, mtimeMs: s.mtimeMs, isDirectory: s.isDirectory() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  },
  async syncDir(path) {
    const fh = await open(path, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  removeTree: (path) => rm(path, { recursive: true, force: true }),
};

/** Writes all of `buffers` at `position`, continuing after short writes (which the OS may return). */
export async function writeFully(file: StorageFile, buffers: Buffer[], position: number): Promise<number> {
  let total = 0;
  for (const b of buffers) total += b.length;
  let written = 0;
  let rest = buffers;
  while (written < total) {
    const n = await file.writev(rest, position + written);
    if (n <= 0) throw new Error(`write made no progress at position ${position + written}`);
    written += n;
    rest = dropPrefix(rest, n);
  }
  return total;
}

function dropPrefix(buffers: Buffer[], n: number): Buffer[] {
  let skip = n;
  let i = 0;
  while (i < buffers.length && skip >= buffers[i].length) {
    skip -= buffers[i].length;
    i++;
  }
  const rest = buffers.slice(i);
  if (skip > 0 && rest.length > 0) rest[0] = rest[0].subarray(skip);
  return rest;
}

/** Reads exactly `length` bytes at `position`, or fewer only at end of file. */
export async function readFully(file: StorageFile, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = await file.read(buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * Replaces `path` with `data` so that a crash leaves either the old or the new content, never a mix:
 * write a temporary file, fsync it, rename it over the target, fsync the directory.
 */
export async function writeFileAtomic(fs: Fs, path: string, data: Buffer | string): Promise<void> {
  const tmp = `${path}.tmp`;
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const file = await fs.open(tmp, 'write');
  try {
    await file.truncate(0);
    await writeFully(file, [buf], 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await fs.rename(tmp, path);
  await fs.syncDir(dirOf(path));
}

export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
