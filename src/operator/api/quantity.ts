/**
 * Kubernetes resource quantities ("10Gi", "500m", "1e3"), parsed exactly: the validator uses them for
 * the same comparisons the API server's CEL `quantity()` library makes, and the operator for sizes.
 *
 * A quantity is a signed decimal number with an optional suffix: a binary SI suffix (Ki … Ei, powers
 * of 1024), a decimal SI suffix (n u m k M G T P E) or a decimal exponent (e3, E-2). The value is kept
 * as integer digits times 10^pow10 times 2^pow2, so comparing never rounds.
 */

export interface Quantity {
  /** -1, 0 or 1. */
  sign: -1 | 0 | 1;
  /** The absolute value's digits, without a decimal point. */
  digits: bigint;
  pow10: number;
  pow2: number;
}

const PATTERN = /^([+-])?(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** Exponents beyond this are refused rather than expanded into enormous integers. */
const MAX_EXPONENT = 1000;

/** The quantity `text` denotes, or undefined when it is not one. */
export function parseQuantity(text: string): Quantity | undefined {
  const m = PATTERN.exec(text);
  if (!m) return undefined;
  const [, signText, number, suffix = ''] = m;
  const [whole, fraction = ''] = number.split('.');
  const digits = BigInt((whole + fraction).replace(/^0+(?=\d)/, '') || '0');
  let pow10 = -fraction.length;
  let pow2 = 0;
  if (suffix in BINARY) pow2 = BINARY[suffix];
  else if (suffix in DECIMAL) pow10 += DECIMAL[suffix];
  else if (suffix !== '') pow10 += Number(suffix.slice(1));
  if (Math.abs(pow10) > MAX_EXPONENT) return undefined;
  const sign = digits === 0n ? 0 : signText === '-' ? -1 : 1;
  return { sign, digits, pow10, pow2 };
}

export function isQuantity(text: string): boolean {
  return parseQuantity(text) !== undefined;
}

/** -1, 0 or 1 as `a` is less than, equal to or greater than `b`. */
export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  if (a.sign !== b.sign) return a.sign < b.sign ? -1 : 1;
  if (a.sign === 0) return 0;
  // Scale both magnitudes to integers over a common denominator 10^-min10 * 2^-min2.
  const min10 = Math.min(a.pow10, b.pow10);
  const min2 = Math.min(a.pow2, b.pow2);
  const scaled = (q: Quantity): bigint =>
    q.digits * 10n ** BigInt(q.pow10 - min10) * 2n ** BigInt(q.pow2 - min2);
  const x = scaled(a);
  const y = scaled(b);
  const magnitude = x === y ? 0 : x < y ? -1 : 1;
  return (magnitude * a.sign) as -1 | 0 | 1;
}

/**
 * Compares two quantities given as text (or integers, as int-or-string fields hold them); undefined
 * when either is not a quantity.
 */
export function compareQuantityText(a: string | number, b: string | number): -1 | 0 | 1 | undefined {
  const x = parseQuantity(String(a));
  const y = parseQuantity(String(b));
  return x && y ? compareQuantities(x, y) : undefined;
}
