/**
 * The brokers' `server.properties`, written from `spec.config`: Kafka property names, one per line,
 * sorted so the same config always gives the same text (and the same hash on the pod template).
 * Escaped as Java's Properties.store does, so that any key or value reads back exactly
 * (src/common/properties.ts is the reader).
 */

import { createHash } from 'node:crypto';

export function renderServerProperties(config: Readonly<Record<string, string>> | undefined): string {
  const keys = Object.keys(config ?? {}).sort();
  const lines = [
    "# Written by tributary-operator from the Cluster's spec.config; edits here are put back.",
    ...keys.map((k) => `${escape(k, true)}=${escape(config![k], false)}`),
  ];
  return lines.join('\n') + '\n';
}

/** A short digest of `text`, for an annotation that changes the pod template when the config does. */
export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function escape(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const code = c.charCodeAt(0);
    if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    // Leading blanks of a value (all blanks of a key) would be read as separators.
    else if (c === ' ' && (isKey || i === 0)) out += '\\ ';
    // In a key these end it; at the start of a line `#` and `!` begin a comment.
    else if (isKey && (c === '=' || c === ':' || ((c === '#' || c === '!') && i === 0))) out += `\\${c}`;
    else if (code < 0x20 || code === 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return out;
}
