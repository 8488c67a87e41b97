import { describe, expect, it } from '@jest/globals';
import { scalar, toYaml } from '../../../../hack/yaml.ts';
import { parseYaml } from './parse-yaml.ts';

describe('hack > yaml emitter', () => {
  const tricky = [
    'plain words',
    '',
    ' leading space',
    'trailing space ',
    'true',
    'False',
    'yes',
    'NO',
    'on',
    'off',
    'y',
    'null',
    '~',
    '123',
    '0x1F',
    '1e3',
    '.5',
    '-1',
    '12:30',
    '2024-05-01',
    'key: value',
    'a #comment',
    '#start',
    '- dash',
    '[list]',
    '{map}',
    '*alias',
    '&anchor',
    '!tag',
    '|block',
    '>folded',
    "'single'",
    '"double"',
    'back\\slash',
    'line\nbreak',
    'tab\there',
    'unicode: … é ✓',
    '.spec.partitions',
    'self >= oldSelf',
    "self.matches('^[a-z]+$')",
  ];

  it.each(tricky.map((s) => [s]))('round-trips the string %j', (s) => {
    expect(parseYaml(toYaml({ value: s }))).toEqual({ value: s });
  });

  it('writes simple strings plain and the rest quoted', () => {
    expect(scalar('FieldValueForbidden')).toBe('FieldValueForbidden');
    expect(scalar('topology.kubernetes.io/zone')).toBe('topology.kubernetes.io/zone');
    expect(scalar('true')).toBe('"true"');
    expect(scalar('9092')).toBe('"9092"');
    expect(scalar('a: b')).toBe('"a: b"');
    expect(scalar('é')).toBe('"\\u00e9"');
  });

  it('round-trips nested data with empty collections, numbers, booleans and null', () => {
    const data = {
      a: [1, -2.5, 0, true, false, null, 'x'],
      b: { c: {}, d: [], e: [{ f: 1, g: [{ h: 'i' }] }, [1, [2, 3]], []] },
      'x-kubernetes-list-map-keys': ['name'],
      'with space': { 'app.kubernetes.io/name': 'tributary' },
    };
    expect(parseYaml(toYaml(data))).toEqual(data);
  });

  it('writes a stable layout', () => {
    expect(toYaml({ kind: 'X', list: [{ a: 1, b: [2] }, 'c'], empty: {} })).toBe(
      ['kind: X', 'list:', '  - a: 1', '    b:', '      - 2', '  - c', 'empty: {}', ''].join('\n'),
    );
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => toYaml({ a: NaN })).toThrow(/\.a: NaN/);
    expect(() => toYaml({ a: new Date(0) })).toThrow(/not JSON data/);
    expect(() => toYaml({ a: () => 1 })).toThrow(/function is not JSON data/);
  });
});
