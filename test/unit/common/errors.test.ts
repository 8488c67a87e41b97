import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import {
  ConfigInvalidError,
  ERROR_CODES,
  StorageCorruptError,
  StorageOfflineError,
  TributaryError,
} from '../../../src/common/errors.ts';
import * as catalogue from '../../../src/common/errors.ts';
import { DecodeError, EncodeError } from '../../../src/protocol/primitives/errors.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Codes written as string literals anywhere under src/ — including ones outside the catalogue file. */
async function codesInSource(): Promise<Set<string>> {
  const files = (await readdir(join(root, 'src'), { recursive: true })).filter((f) => f.endsWith('.ts'));
  const codes = new Set<string>();
  for (const file of files) {
    const text = await readFile(join(root, 'src', file), 'utf8');
    for (const m of text.matchAll(/['"`](TRIB_[A-Z0-9_]+)['"`]/g)) codes.add(m[1]);
  }
  return codes;
}

/** Codes that docs/errors.md gives a section to (`### \`TRIB_…\``). */
async function codesInDocs(): Promise<string[]> {
  const text = await readFile(join(root, 'docs/errors.md'), 'utf8');
  return [...text.matchAll(/^#{2,4} `(TRIB_[A-Z0-9_]+)`\s*$/gm)].map((m) => m[1]);
}

describe('errors > catalogue', () => {
  it('lists each code once', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  it('lists every TRIB_ code used in src/', async () => {
    expect([...(await codesInSource())].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('is documented in docs/errors.md, code for code', async () => {
    const documented = await codesInDocs();
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('includes the protocol codecs’ codes', () => {
    expect(ERROR_CODES).toContain(new DecodeError('x', 0).code);
    expect(ERROR_CODES).toContain(new EncodeError('x').code);
  });
});

describe('errors > defined errors', () => {
  it('are Errors and TributaryErrors carrying their code', () => {
    const err = new StorageOfflineError({ topic: 'orders', partition: 3 });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(TributaryError);
    expect(err).toBeInstanceOf(StorageOfflineError);
    expect(err.code).toBe('TRIB_STORAGE_OFFLINE');
    expect(StorageOfflineError.code).toBe('TRIB_STORAGE_OFFLINE');
  });

  it('are named as they are exported, so logs and stacks name the class', () => {
    const classes = Object.entries(catalogue as Record<string, unknown>).flatMap(([exported, value]) =>
      typeof value === 'function' && 'code' in value ? [[exported, value.name] as const] : [],
    );
    expect(classes.map(([exported]) => exported).sort()).toEqual([
      'ConfigInvalidError',
      'ControllerDeposedError',
      'StorageCorruptError',
      'StorageOfflineError',
    ]);
    for (const [exported, name] of classes) expect(name).toBe(exported);
    expect(new ConfigInvalidError({ field: 'f', value: 1, allowed: 'x' }).name).toBe('ConfigInvalidError');
  });

  it('are told apart by class', () => {
    expect(new StorageOfflineError({ topic: 't', partition: 0 })).not.toBeInstanceOf(StorageCorruptError);
  });

  it('keep their parameters and cause for structured logs', () => {
    const cause = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    const err = new StorageOfflineError({ topic: 'orders', partition: 3 }, { cause });
    expect(err.params).toEqual({ topic: 'orders', partition: 3 });
    expect(err.cause).toBe(cause);
    expect(err.message).toBe('Partition orders-3 is offline after an I/O failure');
  });

  it('show the code in toString and their name in the stack', () => {
    const err = new StorageCorruptError({ path: '/data/t-0/00000000000000000000.log', reason: 'bad CRC' });
    expect(String(err)).toBe(
      'StorageCorruptError [TRIB_STORAGE_CORRUPT]: /data/t-0/00000000000000000000.log is corrupt: bad CRC',
    );
    expect(err.stack).toMatch(/^StorageCorruptError: /);
  });
});

describe('errors > messages', () => {
  it('name the config field, its value and the allowed values', () => {
    const err = new ConfigInvalidError({
      field: 'log.compression',
      value: 'brotli',
      allowed: ['none', 'gzip', 'zstd'],
    });
    expect(err.message).toBe(
      "Config field log.compression has invalid value 'brotli'; allowed: one of 'none', 'gzip', 'zstd'",
    );
  });

  it('take a described range of allowed values as is', () => {
    const err = new ConfigInvalidError({
      field: 'port',
      value: 70000,
      allowed: 'an integer from 1 to 65535',
    });
    expect(err.message).toBe(
      'Config field port has invalid value 70000; allowed: an integer from 1 to 65535',
    );
  });

  it('cope with values JSON cannot show', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const [value, shown] of [
      [undefined, 'undefined'],
      [10n, '10n'],
      [cyclic, '<ref *1> { self: [Circular *1] }'],
    ] as const) {
      const err = new ConfigInvalidError({ field: 'x', value, allowed: 'a number' });
      expect(err.message).toBe(`Config field x has invalid value ${shown}; allowed: a number`);
    }
  });

  it('give the byte position of corruption when known', () => {
    const err = new StorageCorruptError({ path: 'a.index', position: 4096, reason: 'offsets out of order' });
    expect(err.message).toBe('a.index is corrupt at byte 4096: offsets out of order');
  });
});
