import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Type from 'typebox';
import { generateCrds } from '../../../../hack/gen-crds.ts';
import {
  ClusterResource,
  ConsumerGroupResource,
  RESOURCES,
  TopicResource,
  type OpenApiSchema,
  structuralProblems,
  toCustomResourceDefinition,
  toOpenApi,
} from '../../../../src/operator/api/index.ts';
import { rulesOf, withRules } from '../../../../src/operator/api/schema.ts';
import { parseYaml } from './parse-yaml.ts';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/** Every field of apiextensions/v1 OpenApiSchema. */
const SCHEMA_KEYS = new Set([
  '$ref', '$schema', 'additionalItems', 'additionalProperties', 'allOf', 'anyOf', 'default', 'definitions',
  'dependencies', 'description', 'enum', 'example', 'exclusiveMaximum', 'exclusiveMinimum', 'externalDocs',
  'format', 'id', 'items', 'maxItems', 'maxLength', 'maxProperties', 'maximum', 'minItems', 'minLength',
  'minProperties', 'minimum', 'multipleOf', 'not', 'nullable', 'oneOf', 'pattern', 'patternProperties',
  'properties', 'required', 'title', 'type', 'uniqueItems', 'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys', 'x-kubernetes-list-type', 'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations',
]); // prettier-ignore
const RULE_KEYS = new Set(['rule', 'message', 'messageExpression', 'reason', 'fieldPath', 'optionalOldSelf']);

/** Keys that are not OpenApiSchema fields, anywhere in `schema`. */
function foreignKeys(schema: OpenApiSchema, path = ''): string[] {
  const out: string[] = [];
  for (const key of Reflect.ownKeys(schema)) {
    if (typeof key !== 'string' || !SCHEMA_KEYS.has(key)) out.push(`${path}/${String(key)}`);
  }
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    for (const key of Reflect.ownKeys(rule))
      if (!RULE_KEYS.has(String(key))) out.push(`${path}: rule key ${String(key)}`);
  }
  for (const [name, child] of Object.entries(schema.properties ?? {}))
    out.push(...foreignKeys(child, `${path}/${name}`));
  if (typeof schema.additionalProperties === 'object')
    out.push(...foreignKeys(schema.additionalProperties, `${path}/*`));
  if (schema.items && !Array.isArray(schema.items)) out.push(...foreignKeys(schema.items, `${path}/[]`));
  for (const branch of schema.anyOf ?? []) out.push(...foreignKeys(branch, `${path}/anyOf`));
  return out;
}

const schemaOf = (r: (typeof RESOURCES)[number]): OpenApiSchema => {
  const schema = toCustomResourceDefinition(r).spec.versions[0].schema?.openAPIV3Schema;
  if (!schema) throw new Error('no schema');
  return schema;
};

describe('operator api > CRDs', () => {
  describe.each(RESOURCES.map((r) => [r.kind, r] as const))('%s', (_kind, r) => {
    it('has a structural schema', () => {
      expect(structuralProblems(schemaOf(r))).toEqual([]);
    });

    it('uses only keys apiextensions/v1 knows, TypeBox internals and rule twins left out', () => {
      expect(foreignKeys(schemaOf(r))).toEqual([]);
    });

    it('is namespaced, in the tributary category, with a status subresource and an Age column last', () => {
      const crd = toCustomResourceDefinition(r);
      expect(crd.metadata?.name).toBe(`${r.plural}.tributary.dev`);
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.names.categories).toEqual(['tributary']);
      expect(crd.spec.versions).toHaveLength(1);
      expect(crd.spec.versions[0]).toMatchObject({
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
      });
      expect(crd.spec.versions[0].additionalPrinterColumns?.at(-1)).toEqual({
        name: 'Age',
        type: 'date',
        jsonPath: '.metadata.creationTimestamp',
      });
    });
  });

  it("gives each kind its own short name, none of Strimzi's or core Kubernetes'", () => {
    const taken = ['k', 'kt', 'ku', 'kc', 'cg', 'cm', 'cs', 'tt', 'tr', 'svc', 'sts'];
    const names = RESOURCES.flatMap((r) => r.shortNames);
    expect(names).toEqual(['tc', 'ttopic', 'tcg']);
    expect(names.filter((n) => taken.includes(n))).toEqual([]);
  });

  it('writes a map as additionalProperties and keeps int-or-string quantities in their two-branch form', () => {
    const limits = schemaOf(ClusterResource).properties?.spec.properties?.resources.properties?.limits;
    expect(limits).toMatchObject({
      type: 'object',
      maxProperties: 32,
      additionalProperties: {
        'x-kubernetes-int-or-string': true,
        anyOf: [{ type: 'integer' }, { type: 'string' }],
      },
    });
    expect(limits).not.toHaveProperty('patternProperties');
  });

  it('drops additionalProperties: false, leaving unknown fields to the API server to prune or refuse', () => {
    expect(JSON.stringify(schemaOf(TopicResource))).not.toContain('"additionalProperties":false');
  });

  it('turns a literal into a one-value enum', () => {
    expect(toOpenApi(Type.Literal('x'))).toEqual({ type: 'string', enum: ['x'] });
  });

  it('refuses keywords that have no CRD form rather than dropping them', () => {
    expect(() => toOpenApi(Type.Object({ a: Type.String() }, { $id: 'A' }))).toThrow(/\/\$id: keyword \$id/);
    expect(() => toOpenApi(Type.Record(Type.Integer(), Type.String()))).toThrow(
      /only Record\(String\(\), …\) maps/,
    );
    expect(() => toOpenApi(Type.Tuple([Type.String(), Type.Number()]))).toThrow(/keyword/);
  });

  it('finds what makes a schema non-structural', () => {
    expect(
      structuralProblems({
        type: 'object',
        properties: {
          a: { properties: { b: { type: 'string' } } },
          c: { type: 'array', uniqueItems: true, items: { type: 'string' } },
          d: { type: 'string', anyOf: [{ type: 'string', description: 'no' }] },
        },
      }),
    ).toEqual([
      '.a: no type',
      '.c: uniqueItems cannot be true',
      '.d: description inside anyOf',
      '.d: type inside anyOf',
    ]);
  });

  it('puts the CEL rules next to the fields they judge', () => {
    const spec = schemaOf(TopicResource).properties?.spec;
    expect(spec?.properties?.partitions['x-kubernetes-validations']).toEqual([
      {
        rule: 'self >= oldSelf',
        message: 'partitions cannot decrease: Kafka cannot remove partitions',
        reason: 'FieldValueForbidden',
      },
    ]);
    const reset = schemaOf(ConsumerGroupResource).properties?.spec.properties?.offsetReset;
    expect(reset?.['x-kubernetes-validations']?.map((v) => v.rule)).toContain(
      'self.requestId != oldSelf.requestId || self == oldSelf',
    );
  });
});

describe('operator api > generated crds/', () => {
  it('holds exactly what the generator writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-crds-'));
    try {
      const written = generateCrds(dir);
      expect(written).toEqual([
        'crds/tributary.dev_clusters.yaml',
        'crds/tributary.dev_topics.yaml',
        'crds/tributary.dev_consumergroups.yaml',
      ]);
      for (const file of written) {
        expect(readFileSync(join(dir, file), 'utf8')).toBe(readFileSync(join(REPO, file), 'utf8'));
      }
      const committed = readdirSync(join(REPO, 'crds')).filter((f) => f.endsWith('.yaml'));
      expect(committed.map((f) => `crds/${f}`).sort()).toEqual([...written].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(RESOURCES.map((r) => [r.kind, r] as const))('reads back as the %s CRD object', (_kind, r) => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-crds-'));
    try {
      const [file] = generateCrds(dir).filter((f) => f.endsWith(`_${r.plural}.yaml`));
      expect(parseYaml(readFileSync(join(dir, file), 'utf8'))).toEqual(toCustomResourceDefinition(r));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('removes YAML it did not write, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-crds-'));
    try {
      generateCrds(dir);
      // What a renamed resource would leave behind, and a file that is not a CRD.
      writeFileSync(join(dir, 'crds', 'tributary.dev_brokers.yaml'), 'kind: CustomResourceDefinition\n');
      writeFileSync(join(dir, 'crds', 'README.md'), '# crds\n');
      generateCrds(dir);
      expect(readdirSync(join(dir, 'crds')).sort()).toEqual([
        'README.md',
        'tributary.dev_clusters.yaml',
        'tributary.dev_consumergroups.yaml',
        'tributary.dev_topics.yaml',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('operator api > withRules', () => {
  it('adds rules after those a node has, leaving the original node as it was', () => {
    const base = Type.Integer();
    const once = withRules(base, [{ rule: 'self > 0', message: 'positive', check: (n) => n > 0 }]);
    const twice = withRules(once, [{ rule: 'self < 10', message: 'small', check: (n) => n < 10 }]);
    expect(toOpenApi(twice)['x-kubernetes-validations']).toEqual([
      { rule: 'self > 0', message: 'positive' },
      { rule: 'self < 10', message: 'small' },
    ]);
    expect(rulesOf(twice).map((r) => r.check(20, 20))).toEqual([true, false]);
    expect(toOpenApi(base)).toEqual({ type: 'integer' });
    expect(JSON.stringify(twice)).not.toContain('check');
  });
});
