/**
 * Validates a resource object the way the API server would, for where there is none (dev mode) or
 * before one is asked (the operator): defaults first, then the schema (with unknown fields refused,
 * as kubectl's strict field validation does), then the CEL rules through their TypeScript twins —
 * transition rules only when an old object is given.
 *
 * Errors name the field as Kubernetes does: `spec.storage.size`, `spec.config[retention.ms]`,
 * `spec.template.pod.tolerations[0].effect`.
 */
import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import Value from 'typebox/value';
import type { ResourceDefinition } from './resource.ts';
import { type CelRule, isTransitionRule, rulesOf } from './schema.ts';

export interface FieldError {
  /** The field, as Kubernetes writes it (`spec.partitions`); empty for the object itself. */
  path: string;
  message: string;
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  enum?: unknown[];
  anyOf?: SchemaNode[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-int-or-string'?: boolean;
}

const compiled = new WeakMap<object, Validator>();

function validator(schema: TSchema): Validator {
  let v = compiled.get(schema);
  if (!v) {
    v = Compile(schema);
    compiled.set(schema, v);
  }
  return v;
}

/** A copy of `object` with the schema's defaults filled in, as the API server stores it. */
export function withDefaults<T>(definition: ResourceDefinition, object: T): T {
  const copy = structuredClone(object);
  return Value.Default(definition.schema, copy) as T;
}

/**
 * Every reason `object` (after defaulting) is not a valid `definition`; `old` (the stored object)
 * turns on the transition rules: immutable fields, partitions that may only grow, …
 */
export function validate(definition: ResourceDefinition, object: unknown, old?: unknown): FieldError[] {
  const value = withDefaults(definition, object);
  const schemaErrors = validator(definition.schema).Errors(value);
  const errors = schemaErrors.flatMap((e) => fromSchemaError(definition.schema, value, e));
  // Rules see the object as the API server stores it: unknown fields pruned (already reported).
  const pruned = (o: unknown): unknown => Value.Clean(definition.schema, withDefaults(definition, o));
  const previous = old === undefined ? undefined : pruned(old);
  walkRules(definition.schema as SchemaNode, pruned(object), previous, old !== undefined, [], errors);
  return dedupe(errors);
}

/** One line per error, for logs and the CLI: `spec.partitions: partitions cannot decrease: …`. */
export function formatErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('\n');
}

// --- schema errors -------------------------------------------------------------------------------

interface SchemaError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

function fromSchemaError(root: TSchema, value: unknown, e: SchemaError): FieldError[] {
  const tokens = pointerTokens(e.instancePath);
  // anyOf reports each failed branch and then itself; the summary is enough.
  if (e.schemaPath.includes('/anyOf/')) return [];
  // additionalProperties: false reports the whole object once, and each extra field as `false`.
  if (e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')) return [];
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params.additionalProperties as string[] | undefined) ?? [];
    return extra.map((name) => ({
      path: fieldPath(root, value, [...tokens, name]),
      message: 'unknown field',
    }));
  }
  if (e.keyword === 'required') {
    const missing = (e.params.requiredProperties as string[] | undefined) ?? [];
    return missing.map((name) => ({ path: fieldPath(root, value, [...tokens, name]), message: 'required' }));
  }
  const node = schemaAt(root as SchemaNode, value, tokens);
  let message = e.message;
  if (e.keyword === 'enum' && node?.enum) message = `must be one of ${node.enum.join(', ')}`;
  if (e.keyword === 'anyOf' && node?.['x-kubernetes-int-or-string'])
    message = 'must be an integer or a string';
  return [{ path: fieldPath(root, value, tokens), message }];
}

function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The schema node at `tokens` (undefined where the value has no schema). */
function schemaAt(root: SchemaNode, value: unknown, tokens: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  let v = value;
  for (const t of tokens) {
    if (!node) return undefined;
    node = Array.isArray(v) ? node.items : (node.properties?.[t] ?? mapValueSchema(node));
    v = (v as Record<string, unknown> | undefined)?.[t];
  }
  return node;
}

function mapValueSchema(node: SchemaNode): SchemaNode | undefined {
  if (typeof node.additionalProperties === 'object') return node.additionalProperties;
  const patterns = Object.values(node.patternProperties ?? {});
  return patterns[0];
}

/** `spec.config[retention.ms]`, `spec.template.pod.tolerations[0]`: fields by name, map keys and indexes in brackets. */
function fieldPath(root: TSchema, value: unknown, tokens: string[]): string {
  let out = '';
  let node: SchemaNode | undefined = root as SchemaNode;
  let v = value;
  for (const t of tokens) {
    if (Array.isArray(v)) {
      out += `[${t}]`;
      node = node?.items;
    } else if (node?.properties?.[t] || !node || !mapValueSchema(node)) {
      out += out ? `.${t}` : t;
      node = node?.properties?.[t];
    } else {
      out += `[${t}]`;
      node = mapValueSchema(node);
    }
    v = (v as Record<string, unknown> | undefined)?.[t];
  }
  return out;
}

// --- CEL rules, through their TypeScript twins ---------------------------------------------------

function walkRules(
  node: SchemaNode,
  value: unknown,
  old: unknown,
  update: boolean,
  path: string[],
  errors: FieldError[],
): void {
  const rules = rulesOf(node);
  // The API server evaluates a node's rules only once the node itself is well formed.
  if (rules.length > 0 && validator(node as TSchema).Check(value)) {
    for (const rule of rules) {
      const transition = isTransitionRule(rule);
      if (transition && (!update || old === undefined || !validator(node as TSchema).Check(old))) continue;
      if (!passes(rule, value, old)) errors.push({ path: join(path, rule.fieldPath), message: rule.message });
    }
  }
  if (Array.isArray(value)) {
    if (!node.items) return;
    value.forEach((item, i) => {
      walkRules(
        node.items as SchemaNode,
        item,
        correlate(node, item, old),
        update,
        [...path, `[${i}]`],
        errors,
      );
    });
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const oldObject =
    typeof old === 'object' && old !== null && !Array.isArray(old) ? (old as Record<string, unknown>) : {};
  for (const [key, child] of Object.entries(value)) {
    const property = node.properties?.[key];
    if (property) walkRules(property, child, oldObject[key], update, [...path, `.${key}`], errors);
    else {
      const map = mapValueSchema(node);
      if (map) walkRules(map, child, oldObject[key], update, [...path, `[${key}]`], errors);
    }
  }
}

/** A list item's old self: only lists keyed by fields (`x-kubernetes-list-type: map`) correlate. */
function correlate(list: SchemaNode, item: unknown, old: unknown): unknown {
  const keys = list['x-kubernetes-list-map-keys'];
  if (list['x-kubernetes-list-type'] !== 'map' || !keys || !Array.isArray(old)) return undefined;
  const key = (o: unknown): string => JSON.stringify(keys.map((k) => (o as Record<string, unknown>)?.[k]));
  return old.find((o) => key(o) === key(item));
}

function passes(rule: CelRule<unknown>, value: unknown, old: unknown): boolean {
  try {
    return rule.check(value, old);
  } catch {
    return false;
  }
}

function join(path: string[], fieldPathSuffix: string | undefined): string {
  const full = path.join('') + (fieldPathSuffix ?? '');
  return full.startsWith('.') ? full.slice(1) : full;
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
