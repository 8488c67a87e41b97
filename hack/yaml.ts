/**
 * A small YAML emitter for JSON data (objects, arrays, strings, finite numbers, booleans, null), for
 * the generated CRDs. Output is deterministic: keys in insertion order, two-space indents, block
 * style. A string is written plain only when every YAML 1.1 and 1.2 reader (kubectl's included)
 * reads it back as that same string; otherwise it is double-quoted with JSON's escapes, which YAML's
 * double-quoted style shares.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Words YAML 1.1 reads as booleans or null (checked case-insensitively). */
const RESERVED = new Set(['y', 'n', 'yes', 'no', 'on', 'off', 'true', 'false', 'null', '~']);

/** Starts with a letter or underscore; no `:`, `#`, flow indicators, or leading/trailing space. */
const PLAIN = /^[A-Za-z_](?:[A-Za-z0-9_ .,/()'"=<>+*&!?;|@%-]*[A-Za-z0-9_.)'"/-])?$/;

export function toYaml(value: unknown): string {
  return emit(check(value, ''), 0).join('\n') + '\n';
}

function check(value: unknown, path: string): Json {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path || '<root>'}: ${value} has no YAML form here`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v, i) => check(v, `${path}[${i}]`));
  if (typeof value === 'object' && isPlainObject(value)) {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) out[k] = check(v, `${path}.${k}`);
    }
    return out;
  }
  throw new Error(`${path || '<root>'}: ${typeof value} is not JSON data`);
}

/** An object literal of any realm (structuredClone under jest makes them in another). */
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

export function scalar(value: null | boolean | number | string): string {
  if (typeof value !== 'string') return String(value);
  if (PLAIN.test(value) && !RESERVED.has(value.toLowerCase())) return value;
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function isEmptyCollection(v: Json): boolean {
  return (
    typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0)
  );
}

function inline(v: Json): string | undefined {
  if (v === null || typeof v !== 'object') return scalar(v);
  if (isEmptyCollection(v)) return Array.isArray(v) ? '[]' : '{}';
  return undefined;
}

/** Lines of `value` at `indent` spaces; a collection at the top level or under a key. */
function emit(value: Json, indent: number): string[] {
  const pad = ' '.repeat(indent);
  const one = inline(value);
  if (one !== undefined) return [pad + one];
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      const single = inline(item);
      if (single !== undefined) return [`${pad}- ${single}`];
      // The item's first line goes after the dash; the rest keep their indent under it.
      const lines = emit(item, indent + 2);
      return [`${pad}- ${lines[0].slice(indent + 2)}`, ...lines.slice(1)];
    });
  }
  return Object.entries(value as Record<string, Json>).flatMap(([key, v]) => {
    const single = inline(v);
    if (single !== undefined) return [`${pad}${scalar(key)}: ${single}`];
    return [`${pad}${scalar(key)}:`, ...emit(v, indent + 2)];
  });
}
