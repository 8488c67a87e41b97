/**
 * Reads Kafka's message schemas (../shared/kafka-protocol/messages/*.json) into a small model that
 * the code generator and the codec's property tests share. See FORMAT.md there for the format.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** An inclusive version range; `hi` is Infinity for "N+". */
export interface Range {
  lo: number;
  hi: number;
}

export type Primitive =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'uuid'
  | 'bytes'
  | 'records';

export type FieldType =
  | { kind: 'primitive'; name: Primitive }
  | { kind: 'array'; element: FieldType }
  | { kind: 'struct'; name: string };

export interface Field {
  /** Schema name, e.g. "AllowAutoTopicCreation". */
  name: string;
  /** Property name in generated code, e.g. "allowAutoTopicCreation". */
  property: string;
  type: FieldType;
  versions: Range | null;
  nullableVersions: Range | null;
  taggedVersions: Range | null;
  tag: number | null;
  /** Field-level override (only RequestHeader.ClientId uses it: "none"). */
  flexibleVersions: Range | null | undefined;
  ignorable: boolean;
  default: string | undefined;
  about: string | undefined;
}

export interface Struct {
  name: string;
  fields: Field[];
}

export interface Message {
  /** e.g. "MetadataRequest". */
  name: string;
  /** Source file base name, e.g. "MetadataRequest.json". */
  file: string;
  type: 'request' | 'response' | 'header' | 'data';
  apiKey: number | null;
  validVersions: Range;
  flexibleVersions: Range | null;
  /** The message root is a struct of the message's own name. */
  root: Struct;
  /** Every other struct (inline and common), by name. */
  structs: Map<string, Struct>;
}

const PRIMITIVES = new Set<string>([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'uuid',
  'bytes',
  'records',
]);

export function parseRange(text: string | undefined): Range | null {
  if (text === undefined || text === 'none') return null;
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) return { lo: Number(plus[1]), hi: Infinity };
  const span = /^(\d+)-(\d+)$/.exec(text);
  if (span) return { lo: Number(span[1]), hi: Number(span[2]) };
  if (/^\d+$/.test(text)) return { lo: Number(text), hi: Number(text) };
  throw new Error(`bad version range ${JSON.stringify(text)}`);
}

export function inRange(range: Range | null, version: number): boolean {
  return range !== null && version >= range.lo && version <= range.hi;
}

/** Removes `//` comments that are not inside JSON strings. */
export function stripComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

function camel(name: string): string {
  return name[0]!.toLowerCase() + name.slice(1);
}

function parseType(text: string): FieldType {
  if (text.startsWith('[]')) return { kind: 'array', element: parseType(text.slice(2)) };
  if (PRIMITIVES.has(text)) return { kind: 'primitive', name: text as Primitive };
  return { kind: 'struct', name: text };
}

interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  ignorable?: boolean;
  default?: string | number | boolean;
  about?: string;
  fields?: RawField[];
}

interface RawMessage {
  name: string;
  type: Message['type'];
  apiKey?: number;
  validVersions: string;
  flexibleVersions: string;
  fields: RawField[];
  commonStructs?: Array<{ name: string; fields: RawField[] }>;
}

function structTypeName(type: FieldType): string | null {
  if (type.kind === 'struct') return type.name;
  if (type.kind === 'array') return structTypeName(type.element);
  return null;
}

export function parseMessage(file: string, text: string): Message {
  const raw = JSON.parse(stripComments(text)) as RawMessage;
  const structs = new Map<string, Struct>();

  const parseFields = (rawFields: RawField[]): Field[] =>
    rawFields.map((f) => {
      const type = parseType(f.type);
      const nested = structTypeName(type);
      if (f.fields) {
        if (nested === null) throw new Error(`${file}: ${f.name} has fields but type ${f.type}`);
        const struct = { name: nested, fields: parseFields(f.fields) };
        const existing = structs.get(nested);
        if (existing && JSON.stringify(existing) !== JSON.stringify(struct)) {
          throw new Error(`${file}: struct ${nested} defined twice, differently`);
        }
        structs.set(nested, struct);
      }
      return {
        name: f.name,
        property: camel(f.name),
        type,
        versions: parseRange(f.versions),
        nullableVersions: parseRange(f.nullableVersions),
        taggedVersions: parseRange(f.taggedVersions),
        tag: f.tag ?? null,
        flexibleVersions: f.flexibleVersions === undefined ? undefined : parseRange(f.flexibleVersions),
        ignorable: f.ignorable === true,
        default: f.default === undefined ? undefined : String(f.default),
        about: f.about,
      };
    });

  for (const common of raw.commonStructs ?? []) {
    structs.set(common.name, { name: common.name, fields: parseFields(common.fields) });
  }
  const root: Struct = { name: raw.name, fields: parseFields(raw.fields) };

  for (const struct of [root, ...structs.values()]) {
    for (const field of struct.fields) {
      const nested = structTypeName(field.type);
      if (nested !== null && !structs.has(nested)) {
        throw new Error(`${file}: ${struct.name}.${field.name} refers to unknown struct ${nested}`);
      }
    }
  }

  const validVersions = parseRange(raw.validVersions);
  if (!validVersions) throw new Error(`${file}: no valid versions`);
  return {
    name: raw.name,
    file,
    type: raw.type,
    apiKey: raw.apiKey ?? null,
    validVersions,
    flexibleVersions: parseRange(raw.flexibleVersions),
    root,
    structs,
  };
}

/** The directory of Kafka's schemas: ../shared/kafka-protocol beside the repository, or an override. */
export function protocolDir(repoRoot: string): string {
  return process.env['TRIBUTARY_KAFKA_PROTOCOL_DIR'] ?? path.resolve(repoRoot, '../shared/kafka-protocol');
}

export function loadMessages(dir: string): Message[] {
  const messagesDir = path.join(dir, 'messages');
  return readdirSync(messagesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => parseMessage(f, readFileSync(path.join(messagesDir, f), 'utf8')));
}

/** The versions at which a field is encoded in line (present, and not as a tagged field). */
export function isRegularAt(field: Field, version: number): boolean {
  return inRange(field.versions, version) && !inRange(field.taggedVersions, version);
}

export function isTaggedAt(field: Field, message: Message, version: number): boolean {
  return inRange(field.taggedVersions, version) && inRange(message.flexibleVersions, version);
}

export function isCompactAt(field: Field, message: Message, version: number): boolean {
  if (!inRange(message.flexibleVersions, version)) return false;
  return field.flexibleVersions === undefined || inRange(field.flexibleVersions, version);
}
