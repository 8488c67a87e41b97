import type { Reader } from './reader.ts';
import { sizeOfArrayLength, type Writer } from './writer.ts';

/** Reads a non-nullable array; the count is bounds-checked before the array is allocated. */
export function readArray<T>(
  r: Reader,
  compact: boolean,
  minElementBytes: number,
  field: string,
  element: (r: Reader) => T,
): T[] {
  const n = compact
    ? r.compactArrayLength(minElementBytes, false, field)
    : r.arrayLength(minElementBytes, false, field);
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = element(r);
  return out;
}

export function readNullableArray<T>(
  r: Reader,
  compact: boolean,
  minElementBytes: number,
  field: string,
  element: (r: Reader) => T,
): T[] | null {
  const n = compact
    ? r.compactArrayLength(minElementBytes, true, field)
    : r.arrayLength(minElementBytes, true, field);
  if (n < 0) return null;
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = element(r);
  return out;
}

export function writeArray<T>(
  w: Writer,
  values: readonly T[] | null,
  compact: boolean,
  element: (w: Writer, value: T) => void,
): void {
  w.arrayLength(values === null ? null : values.length, compact);
  if (values === null) return;
  for (let i = 0; i < values.length; i++) element(w, values[i]!);
}

export function sizeOfArray<T>(
  values: readonly T[] | null,
  compact: boolean,
  element: (value: T) => number,
): number {
  if (values === null) return sizeOfArrayLength(null, compact);
  let n = sizeOfArrayLength(values.length, compact);
  for (let i = 0; i < values.length; i++) n += element(values[i]!);
  return n;
}

/** Arrays of fixed-size elements (int32, uuid, …) need no per-element call to size them. */
export function sizeOfFixedArray(
  values: readonly unknown[] | null,
  compact: boolean,
  elementBytes: number,
): number {
  if (values === null) return sizeOfArrayLength(null, compact);
  return sizeOfArrayLength(values.length, compact) + values.length * elementBytes;
}
