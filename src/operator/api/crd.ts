/**
 * Turns a resource definition into its CustomResourceDefinition (apiextensions.k8s.io/v1).
 *
 * TypeBox writes JSON Schema 2020-12; a CRD takes a structural subset of OpenAPI v3. The conversion
 * is small and strict: records become `additionalProperties`, literals become one-value enums,
 * `additionalProperties: false` (the validator's strictness) is dropped because the API server prunes
 * unknown fields instead, and any keyword outside the known subset is an error rather than something
 * silently lost. {@link structuralProblems} checks the result against the rules for structural schemas.
 */
import type {
  CustomResourceDefinition,
  JSONSchemaProps,
  ValidationRule,
} from 'kubernetes-types/apiextensions/v1.d.ts';
import { CATEGORY, GROUP, VERSION } from './meta.ts';
import type { ResourceDefinition } from './resource.ts';

type Nested = 'properties' | 'items' | 'additionalProperties' | 'anyOf' | 'allOf' | 'oneOf' | 'not';

/** JSONSchemaProps with the Kubernetes extensions, which kubernetes-types leaves out. */
export interface OpenApiSchema extends Omit<JSONSchemaProps, Nested> {
  properties?: Record<string, OpenApiSchema>;
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema | boolean;
  anyOf?: OpenApiSchema[];
  allOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  not?: OpenApiSchema;
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'granular' | 'atomic';
}

/** A CRD whose schemas are typed with their extensions. */
export type TypedCustomResourceDefinition = Omit<CustomResourceDefinition, 'spec'> & {
  spec: Omit<CustomResourceDefinition['spec'], 'versions'> & {
    versions: (Omit<CustomResourceDefinition['spec']['versions'][number], 'schema'> & {
      schema: { openAPIV3Schema: OpenApiSchema };
    })[];
  };
};

/** Keywords copied as they are (their meaning is the same in both dialects). */
const PLAIN_KEYWORDS = new Set([
  'type',
  'format',
  'description',
  'default',
  'enum',
  'required',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'multipleOf',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);

/** The pattern TypeBox gives `Record(String(), …)`. */
const ANY_KEY = '^.*$';

/** `schema` (a TypeBox type or plain JSON Schema) as an apiextensions/v1 JSONSchemaProps. */
export function toOpenApi(schema: unknown, path = ''): OpenApiSchema {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new Error(`${path || '<root>'}: a schema must be an object`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    const at = `${path}/${key}`;
    if (PLAIN_KEYWORDS.has(key)) out[key] = structuredClone(value);
    else if (key === 'const') out.enum = [value];
    else if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([name, s]) => [
          name,
          toOpenApi(s, `${at}/${name}`),
        ]),
      );
    } else if (key === 'items') out.items = toOpenApi(value, at);
    else if (key === 'anyOf' || key === 'allOf' || key === 'oneOf') {
      out[key] = (value as unknown[]).map((s, i) => toOpenApi(s, `${at}/${i}`));
    } else if (key === 'not') out.not = toOpenApi(value, at);
    else if (key === 'additionalProperties') {
      if (value === false) continue; // the validator's strictness; the API server prunes instead
      out.additionalProperties = toOpenApi(value, at);
    } else if (key === 'patternProperties') {
      const patterns = Object.keys(value as object);
      if (patterns.length !== 1 || patterns[0] !== ANY_KEY) {
        throw new Error(
          `${at}: only Record(String(), …) maps are supported, not key patterns ${patterns.join(', ')}`,
        );
      }
      out.additionalProperties = toOpenApi((value as Record<string, unknown>)[ANY_KEY], `${at}/${ANY_KEY}`);
    } else {
      throw new Error(`${at}: keyword ${key} has no CRD equivalent`);
    }
  }
  return canonicalOrder(out) as OpenApiSchema;
}

/** Where a keyword goes in the YAML: what a node is first, rules next, children last. */
const KEY_RANK: Record<string, number> = {
  type: 0,
  format: 1,
  description: 2,
  default: 3,
  required: 5,
  'x-kubernetes-validations': 7,
  anyOf: 8,
  allOf: 8,
  oneOf: 8,
  not: 8,
  additionalProperties: 9,
  items: 9,
  properties: 9,
};

function canonicalOrder(schema: Record<string, unknown>): Record<string, unknown> {
  const rank = (key: string): number => KEY_RANK[key] ?? (key.startsWith('x-kubernetes-') ? 6 : 4);
  // Array.prototype.sort is stable: keywords of one rank keep their order.
  return Object.fromEntries(Object.entries(schema).sort(([a], [b]) => rank(a) - rank(b)));
}

/** The CRD's schema of the whole object: metadata is the API server's, except for a bound on the name. */
export function crdSchema(definition: ResourceDefinition): OpenApiSchema {
  const { properties, ...root } = toOpenApi(definition.schema);
  const { spec, status } = properties ?? {};
  if (!spec || !status) throw new Error(`${definition.kind}: the schema has no spec or status`);
  return {
    ...root,
    properties: {
      apiVersion: { type: 'string', description: 'tributary.dev/v1alpha1' },
      kind: { type: 'string', description: definition.kind },
      // Bounding the name keeps the cost of root rules over metadata.name finite.
      metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 253 } } },
      spec,
      status,
    },
    required: ['spec'],
  };
}

export function toCustomResourceDefinition(definition: ResourceDefinition): TypedCustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${definition.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'tributary', 'app.kubernetes.io/component': 'crd' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: definition.kind,
        listKind: `${definition.kind}List`,
        plural: definition.plural,
        singular: definition.singular,
        shortNames: [...definition.shortNames],
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: definition.scale ? { status: {}, scale: { ...definition.scale } } : { status: {} },
          additionalPrinterColumns: definition.printerColumns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema: crdSchema(definition) },
        },
      ],
    },
  };
}

/** Keywords a structural schema may not use inside anyOf/allOf/oneOf/not (value validation only). */
const JUNCTOR_FORBIDDEN = [
  'description',
  'default',
  'additionalProperties',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
];

/**
 * Why `schema` is not a structural schema apiextensions/v1 accepts (empty when it is): every node
 * has a type unless it preserves unknown fields or is int-or-string, junctors only restrict values,
 * and nothing uses a keyword v1 forbids.
 */
export function structuralProblems(schema: OpenApiSchema, path = ''): string[] {
  const problems: string[] = [];
  const at = path || '<root>';
  const s = schema as Record<string, unknown>;
  const opaque =
    s['x-kubernetes-int-or-string'] === true || s['x-kubernetes-preserve-unknown-fields'] === true;
  if (!schema.type && !opaque) problems.push(`${at}: no type`);
  for (const key of [
    '$ref',
    '$schema',
    'definitions',
    'dependencies',
    'patternProperties',
    'additionalItems',
    'id',
    'const',
    '$id',
  ]) {
    if (key in s) problems.push(`${at}: ${key} is not allowed`);
  }
  for (const key of Object.keys(s)) if (key.startsWith('~')) problems.push(`${at}: internal key ${key}`);
  if (schema.uniqueItems === true) problems.push(`${at}: uniqueItems cannot be true`);
  if (schema.additionalProperties !== undefined) {
    if (typeof schema.additionalProperties !== 'object')
      problems.push(`${at}: additionalProperties must be a schema`);
    if (schema.properties) problems.push(`${at}: properties and additionalProperties together`);
  }
  if (schema.type === 'array' && !schema.items) problems.push(`${at}: array without items`);
  if (schema.type === 'object' && s['x-kubernetes-list-type'] !== undefined)
    problems.push(`${at}: list type on an object`);
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    problems.push(...structuralProblems(child, `${path}.${name}`));
  }
  if (typeof schema.additionalProperties === 'object') {
    problems.push(...structuralProblems(schema.additionalProperties, `${path}[*]`));
  }
  if (schema.items && !Array.isArray(schema.items))
    problems.push(...structuralProblems(schema.items, `${path}[]`));
  for (const junctor of ['anyOf', 'allOf', 'oneOf'] as const) {
    for (const branch of schema[junctor] ?? []) {
      const b = branch as Record<string, unknown>;
      const intOrString =
        s['x-kubernetes-int-or-string'] === true && Object.keys(b).every((k) => k === 'type');
      for (const key of JUNCTOR_FORBIDDEN) if (key in b) problems.push(`${at}: ${key} inside ${junctor}`);
      if ('type' in b && !intOrString) problems.push(`${at}: type inside ${junctor}`);
    }
  }
  return problems;
}
