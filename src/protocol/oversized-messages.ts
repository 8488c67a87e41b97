/**
 * Error messages too long for the wire. Kafka limits every string to 32767 bytes, compact ones
 * included, and an error message that quotes what the client sent — a 32,000-character topic name
 * or config value in "Topic '…' does not exist." — can exceed it. Such a response cannot be
 * encoded, and the client would lose its connection instead of getting its error. The message is
 * prose for a person, so it is cut (at a character boundary, with an ellipsis) rather than the
 * response failing; only fields named `…Message` are touched, never data.
 *
 * Walked from the codec's schema; called only once an encoding has failed, so the common path pays
 * nothing.
 */
import type { MessageSchema } from './primitives/index.ts';
import { inSpan } from './primitives/index.ts';

const MAX_STRING_BYTES = 0x7fff;
/** What a clipped message keeps: far more than any message of ours, far less than the limit. */
const KEPT_CHARS = 1000;

function clip(text: string): string {
  return `${text.slice(0, KEPT_CHARS)}…`;
}

/** `struct`'s value with every over-long message clipped, or null when none is. */
function walk(schema: MessageSchema, version: number, struct: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return null;
  let out: Record<string, unknown> | null = null;
  const set = (property: string, v: unknown): void => {
    out ??= { ...(value as Record<string, unknown>) };
    out[property] = v;
  };
  for (const f of schema.structs[struct] ?? []) {
    if (!inSpan(f.versions, version)) continue;
    const x = (value as Record<string, unknown>)[f.property];
    const element = f.type.startsWith('[]') ? f.type.slice(2) : null;
    if (element !== null && schema.structs[element] !== undefined && Array.isArray(x)) {
      let changed = false;
      const items = x.map((item: unknown) => {
        const clipped = walk(schema, version, element, item);
        if (clipped === null) return item;
        changed = true;
        return clipped;
      });
      if (changed) set(f.property, items);
    } else if (schema.structs[f.type] !== undefined) {
      const clipped = walk(schema, version, f.type, x);
      if (clipped !== null) set(f.property, clipped);
    } else if (
      f.type === 'string' &&
      f.name.endsWith('Message') &&
      typeof x === 'string' &&
      Buffer.byteLength(x, 'utf8') > MAX_STRING_BYTES
    ) {
      set(f.property, clip(x));
    }
  }
  return out;
}

/**
 * A copy of `value` (a message of `schema` at `version`) whose over-long error messages are cut to
 * fit, or null when it has none (then whatever made its encoding fail is another matter).
 */
export function clipOversizedMessages(schema: MessageSchema, version: number, value: unknown): unknown {
  return walk(schema, version, schema.root, value);
}
