import { describe, expect, it } from '@jest/globals';
import { compareQuantityText, isQuantity, parseQuantity } from '../../../../src/operator/api/quantity.ts';

describe('operator api > quantity', () => {
  it.each(['1', '0', '100Gi', '1.5Gi', '.5', '5.', '500m', '+1k', '-2M', '1e3', '1E-3', '2Ei', '0.000001u'])(
    'reads %s',
    (text) => {
      expect(isQuantity(text)).toBe(true);
    },
  );

  it.each(['', 'Gi', '1 Gi', '1gi', '1.5.5', '1KiB', '1e', '1e1.5', '--1', '1Kb', 'ten'])(
    'refuses %j',
    (text) => {
      expect(isQuantity(text)).toBe(false);
    },
  );

  it.each([
    ['1Gi', '1024Mi', 0],
    ['1G', '1Gi', -1],
    ['0.5Ti', '512Gi', 0],
    ['100Gi', '50Gi', 1],
    ['500m', '0.5', 0],
    ['1', '1000m', 0],
    ['1e3', '1k', 0],
    ['1E-3', '1m', 0],
    ['-1', '0', -1],
    ['-2Gi', '-1Gi', -1],
    ['0', '-0', 0],
    ['1Ki', '1k', 1],
  ] as const)('compares %s with %s: %d', (a, b, expected) => {
    expect(compareQuantityText(a, b)).toBe(expected);
    expect(compareQuantityText(b, a)).toBe(-expected || 0);
  });

  it('compares integers as int-or-string fields hold them', () => {
    expect(compareQuantityText(2, '2000m')).toBe(0);
    expect(compareQuantityText(1, '1.5')).toBe(-1);
  });

  it('keeps the value exactly, however small or large', () => {
    expect(parseQuantity('1.25Ki')).toEqual({ sign: 1, digits: 125n, pow10: -2, pow2: 10 });
    expect(compareQuantityText('1e-30', '0')).toBe(1);
    expect(compareQuantityText('999999999999999999999999Ei', '1e42')).toBe(1);
  });

  it('refuses exponents it would have to expand into enormous numbers', () => {
    expect(parseQuantity('1e1000')).toBeDefined();
    expect(parseQuantity('1e1001')).toBeUndefined();
    expect(compareQuantityText('1e5000', '1')).toBeUndefined();
  });
});
