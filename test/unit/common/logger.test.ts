import { describe, expect, it } from '@jest/globals';
import { ConfigInvalidError, StorageOfflineError } from '../../../src/common/errors.ts';
import { createLogger, silentLogger, type LogLevel, type LoggerOptions } from '../../../src/common/logger.ts';

function capture(options: Omit<LoggerOptions, 'destination'> = {}) {
  const lines: string[] = [];
  const log = createLogger({ ...options, destination: { write: (line) => void lines.push(line) } });
  const records = (): Record<string, unknown>[] => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, records };
}

describe('logger > JSON output', () => {
  it('writes one JSON object per line with the level, name and message', () => {
    const { log, lines, records } = capture({ name: 'broker' });
    log.info('Started listener');
    expect(lines).toHaveLength(1);
    expect(lines[0].endsWith('\n')).toBe(true);
    expect(records()[0]).toMatchObject({ level: 30, name: 'broker', msg: 'Started listener' });
  });

  it('carries a child’s context on every line', () => {
    const { log, records } = capture();
    log.child({ topic: 'orders', partition: 3 }).warn('Rolled segment');
    expect(records()[0]).toMatchObject({ topic: 'orders', partition: 3, msg: 'Rolled segment' });
  });

  it('drops lines below the level, info by default', () => {
    const { log, records } = capture();
    log.debug('Not written');
    log.info('Written');
    expect(records().map((r) => r.msg)).toEqual(['Written']);

    const verbose = capture({ level: 'trace' });
    verbose.log.trace('Written too');
    expect(verbose.records()).toHaveLength(1);
  });

  it('serialises a catalogued error with its code, type and cause', () => {
    const { log, records } = capture();
    const cause = new Error('EIO: i/o error, fsync');
    log.error(
      { err: new StorageOfflineError({ topic: 'orders', partition: 3 }, { cause }) },
      'Took partition offline',
    );
    expect(records()[0].err).toMatchObject({
      type: 'StorageOfflineError',
      code: 'TRIB_STORAGE_OFFLINE',
      message: 'Partition orders-3 is offline after an I/O failure: EIO: i/o error, fsync',
      params: { topic: 'orders', partition: 3 },
      stack: expect.stringContaining('caused by: Error: EIO: i/o error, fsync'),
    });
  });

  it('rejects an unknown level naming the allowed ones', () => {
    expect(() => createLogger({ level: 'verbose' as LogLevel })).toThrow(ConfigInvalidError);
    expect(() => createLogger({ level: 'verbose' as LogLevel })).toThrow(/level.*'verbose'.*'debug'/);
  });
});

describe('logger > pretty output', () => {
  it('writes human-readable lines without colour codes when not on a terminal', () => {
    const { log, lines } = capture({ pretty: true, name: 'dev' });
    log.info({ topic: 'orders' }, 'Created topic');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/INFO.*\(dev\/?.*\): Created topic/);
    expect(lines[0]).toContain('topic: "orders"');
    expect(lines[0]).not.toMatch(/^\{/);
    // eslint-disable-next-line no-control-regex
    expect(lines[0]).not.toMatch(/\u001b\[/);
  });
});

describe('logger > silentLogger', () => {
  it('has every level switched off, children included', () => {
    expect(silentLogger.isLevelEnabled('fatal')).toBe(false);
    expect(silentLogger.child({ topic: 'x' }).isLevelEnabled('fatal')).toBe(false);
  });
});
