/**
 * Emits a message's shape as data (`<Name>Schema`, typed by src/protocol/primitives/schema.ts):
 * for each struct, its fields with their type and version spans. The codec object carries it as
 * `schema`, so a tool can walk any version of a message — the input fault injector in test/fault/
 * builds hostile requests from it — without reading Kafka's JSON at run time.
 */
import type { Field, FieldType, Message, Range } from './schema.ts';

function typeName(type: FieldType): string {
  if (type.kind === 'array') return `[]${typeName(type.element)}`;
  return type.name;
}

/** An inclusive span clamped to the message's versions, or null when it is empty there. */
function span(range: Range | null, message: Message): string {
  if (range === null) return 'null';
  const lo = Math.max(range.lo, message.validVersions.lo);
  const hi = Math.min(range.hi, message.validVersions.hi);
  return lo > hi ? 'null' : `[${lo}, ${hi}]`;
}

function describeField(f: Field, message: Message): string {
  const parts = [
    `name: ${JSON.stringify(f.name)}`,
    `property: ${JSON.stringify(f.property)}`,
    `type: ${JSON.stringify(typeName(f.type))}`,
    `versions: ${span(f.versions, message)}`,
  ];
  const nullable = span(f.nullableVersions, message);
  if (nullable !== 'null') parts.push(`nullable: ${nullable}`);
  const tagged = span(f.taggedVersions, message);
  if (tagged !== 'null' && f.tag !== null) parts.push(`tagged: ${tagged}`, `tag: ${f.tag}`);
  if (f.flexibleVersions !== undefined) parts.push(`flexible: ${span(f.flexibleVersions, message)}`);
  return `{ ${parts.join(', ')} }`;
}

export function emitSchema(message: Message): string {
  const structs = [message.root, ...message.structs.values()].map((s) => {
    if (s.fields.length === 0) return `    ${s.name}: [],`;
    const fields = s.fields.map((f) => `      ${describeField(f, message)},`);
    return `    ${s.name}: [\n${fields.join('\n')}\n    ],`;
  });
  return (
    `export const ${message.name}Schema: MessageSchema = {\n` +
    `  root: ${JSON.stringify(message.root.name)},\n` +
    `  structs: {\n${structs.join('\n')}\n  },\n};\n`
  );
}
