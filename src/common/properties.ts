/**
 * Typed definitions of Kafka-style properties (`log.retention.ms=604800000`): the broker's settings
 * and the topic configs share them. Every raw value is a string (from a properties file, an
 * environment variable, a flag or a CreateTopics request); `parse` turns it into its typed value or
 * throws ConfigInvalidError naming the property and what it allows.
 */
import { ConfigInvalidError } from './errors.ts';

/** Kafka's ConfigType names, as DescribeConfigs reports them. */
export type PropertyType = 'boolean' | 'string' | 'int' | 'short' | 'long' | 'double' | 'list' | 'password';

/** DescribeConfigs' config_type codes (DescribeConfigsResponse, v3+). */
export const PROPERTY_TYPE_CODE: { readonly [T in PropertyType]: number } = {
  boolean: 1,
  string: 2,
  int: 3,
  short: 4,
  long: 5,
  double: 6,
  list: 7,
  password: 9,
};

export interface PropertyDef<T = unknown> {
  readonly name: string;
  readonly type: PropertyType;
  /** The default as Kafka prints it; null when there is none. */
  readonly default: string | null;
  readonly doc: string;
  readonly parse: (raw: string) => T;
}

interface NumberBounds {
  min?: number;
  max?: number;
}

function allowedRange(b: NumberBounds): string {
  if (b.min !== undefined && b.max !== undefined) return `an integer in [${b.min}, ${b.max}]`;
  if (b.min !== undefined) return `an integer ≥ ${b.min}`;
  if (b.max !== undefined) return `an integer ≤ ${b.max}`;
  return 'an integer';
}

function integer(name: string, raw: string, b: NumberBounds, limit: number): number {
  const text = raw.trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (
    !Number.isSafeInteger(n) ||
    Math.abs(n) > limit ||
    (b.min !== undefined && n < b.min) ||
    (b.max !== undefined && n > b.max)
  ) {
    throw new ConfigInvalidError({ field: name, value: raw, allowed: allowedRange(b) });
  }
  return n;
}

export function intProp(
  name: string,
  def: number | null,
  doc: string,
  b: NumberBounds = {},
): PropertyDef<number> {
  return {
    name,
    type: 'int',
    default: def === null ? null : String(def),
    doc,
    parse: (raw) => integer(name, raw, b, 2 ** 31),
  };
}

/** int64 values; beyond 2^53 only Long.MAX_VALUE, Kafka's "unlimited", is accepted (as Infinity). */
export function longProp(
  name: string,
  def: number | null,
  doc: string,
  b: NumberBounds = {},
): PropertyDef<number> {
  return {
    name,
    type: 'long',
    default: def === null ? null : def === Infinity ? '9223372036854775807' : String(def),
    doc,
    parse: (raw) =>
      raw.trim() === '9223372036854775807' ? Infinity : integer(name, raw, b, Number.MAX_SAFE_INTEGER),
  };
}

export function boolProp(name: string, def: boolean, doc: string): PropertyDef<boolean> {
  return {
    name,
    type: 'boolean',
    default: String(def),
    doc,
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      if (v === 'true') return true;
      if (v === 'false') return false;
      throw new ConfigInvalidError({ field: name, value: raw, allowed: ['true', 'false'] });
    },
  };
}

export function enumProp<const V extends string>(
  name: string,
  values: readonly V[],
  def: V,
  doc: string,
): PropertyDef<V> {
  return {
    name,
    type: 'string',
    default: def,
    doc,
    parse: (raw) => {
      const wanted = raw.trim().toLowerCase();
      const v = values.find((candidate) => candidate.toLowerCase() === wanted);
      if (v === undefined) throw new ConfigInvalidError({ field: name, value: raw, allowed: values });
      return v;
    },
  };
}

export function stringProp(
  name: string,
  def: string | null,
  doc: string,
  check?: { test: (v: string) => boolean; allowed: string },
): PropertyDef<string> {
  return {
    name,
    type: 'string',
    default: def,
    doc,
    parse: (raw) => {
      const v = raw.trim();
      if (check && !check.test(v))
        throw new ConfigInvalidError({ field: name, value: raw, allowed: check.allowed });
      return v;
    },
  };
}

/** Parses Java .properties text: `key=value`, `key: value` or `key value`; `#` and `!` comments; `\` continues a line. */
export function parsePropertiesText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i].trimStart();
    }
    const m = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$/.exec(line);
    const key = unescape(m ? m[1] : line);
    out.set(key, m ? unescape(m[2]) : '');
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => {
    if (c.length === 5) return String.fromCharCode(parseInt(c.slice(1), 16));
    return c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : c;
  });
}
