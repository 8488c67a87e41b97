import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parsePropertiesText } from '../../../../../src/common/properties.ts';
import {
  configHash,
  renderServerProperties,
} from '../../../../../src/operator/reconcilers/cluster/server-properties.ts';

describe('cluster children > server.properties', () => {
  it('writes one property per line, sorted by name', () => {
    const text = renderServerProperties({ 'num.partitions': '6', 'log.retention.hours': '72' });
    expect(text.split('\n').filter((l) => !l.startsWith('#'))).toEqual([
      'log.retention.hours=72',
      'num.partitions=6',
      '',
    ]);
  });

  it('writes an empty file (a comment) for no config', () => {
    expect(parsePropertiesText(renderServerProperties(undefined)).size).toBe(0);
  });

  it('escapes what the properties reader would otherwise misread', () => {
    const config = {
      'a=b:c d': ' leading space',
      '#not-a-comment': 'x',
      '!neither': 'back\\slash at the end\\',
      'multi.line': 'one\ntwo\r\tthree',
      'unicode.value': 'é ü 日本',
      'control.chars': '\u0001\u007f',
    };
    expect(Object.fromEntries(parsePropertiesText(renderServerProperties(config)))).toEqual(config);
  });

  it('reads back any config exactly', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), fc.string()), (config) => {
        expect(Object.fromEntries(parsePropertiesText(renderServerProperties(config)))).toEqual(config);
      }),
    );
  });

  it('hashes the same text the same way, and different text differently', () => {
    const a = renderServerProperties({ x: '1' });
    expect(configHash(a)).toBe(configHash(renderServerProperties({ x: '1' })));
    expect(configHash(a)).not.toBe(configHash(renderServerProperties({ x: '2' })));
    expect(configHash(a)).toMatch(/^[0-9a-f]{16}$/);
  });
});
