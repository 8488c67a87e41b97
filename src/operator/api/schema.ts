/**
 * Building blocks for the CRD schemas: TypeBox types shaped so that one definition gives the
 * TypeScript type (`Static<>`), the runtime validator (validate.ts) and a structural OpenAPI schema
 * for the CustomResourceDefinition (crd.ts).
 *
 * CEL rules are declared with {@link withRules}: each carries the CEL the API server evaluates and
 * the same rule as a TypeScript predicate, which the validator runs where there is no API server
 * (dev mode) or before one is asked (the operator). A kube-tier test runs the same cases through both.
 */
import Type, { type Static, type TSchema, type TUnsafe } from 'typebox';
import { Memory } from 'typebox/system';

/** One entry of `x-kubernetes-validations`, with its TypeScript twin. */
export interface CelRule<Self> {
  /** CEL over `self` (and `oldSelf` for a transition rule, evaluated on updates only). */
  rule: string;
  message: string;
  /** How the API server classifies the failure; FieldValueInvalid when absent. */
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  /**
   * Where the error is reported, relative to the node: a field (`.topicName`) or a key of a map
   * field (`.config['min.insync.replicas']`); the node itself when absent. Not a key of the node
   * itself (`['x']`): the API server reports that as `config.[x]`.
   */
  fieldPath?: string;
  /**
   * The rule in TypeScript. `oldSelf` is passed for transition rules (those whose CEL mentions
   * `oldSelf`), which run only when the object is updated and the old value exists.
   */
  check: (self: Self, oldSelf: Self) => boolean;
}

/** The hidden key (not enumerable: never serialised) under which a node keeps its rules. */
const RULES = '~tributaryRules';

/**
 * Attaches CEL rules to a schema node (CRD: `x-kubernetes-validations`; validator: `check`), after
 * any it already has. Returns a new node; `schema` is unchanged.
 */
export function withRules<T extends TSchema>(schema: T, rules: CelRule<Static<T>>[]): T {
  const all = [...ownRules(schema), ...(rules as CelRule<unknown>[])];
  const cel = all.map(({ check: _check, ...rest }) => rest);
  return Memory.Update(schema, { [RULES]: all }, { 'x-kubernetes-validations': cel }) as T;
}

/**
 * The rules {@link withRules} attached to `schema` (none for other nodes), for the validator: a map
 * key in a fieldPath is written as the API server reports it (`.config[retention.ms]`), not as CEL
 * quotes it (`.config['retention.ms']`).
 */
export function rulesOf(schema: object): CelRule<unknown>[] {
  return ownRules(schema).map((r) => (r.fieldPath ? { ...r, fieldPath: reportedPath(r.fieldPath) } : r));
}

function ownRules(schema: object): CelRule<unknown>[] {
  const rules = (schema as Record<string, unknown>)[RULES];
  return Array.isArray(rules) ? (rules as CelRule<unknown>[]) : [];
}

function reportedPath(fieldPath: string): string {
  return fieldPath.replace(
    /\['((?:[^'\\]|\\.)*)'\]/g,
    (_, key: string) => `[${key.replace(/\\(.)/g, '$1')}]`,
  );
}

/** A transition rule compares with the stored object, so it only runs on updates. */
export function isTransitionRule(rule: { rule: string }): boolean {
  return /\boldSelf\b/.test(rule.rule);
}

// --- scalar shapes ------------------------------------------------------------------------------

/** A string restricted to `values` (an enum in the CRD; a union of literals in TypeScript). */
export function StringEnum<const V extends readonly string[]>(
  values: V,
  options: { description?: string; default?: V[number] } = {},
): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options });
}

export function Int32(
  options: { description?: string; minimum?: number; maximum?: number; default?: number } = {},
) {
  return Type.Integer({ format: 'int32', ...options });
}

export function Int64(
  options: { description?: string; minimum?: number; maximum?: number; default?: number } = {},
) {
  return Type.Integer({ format: 'int64', ...options });
}

/** The pattern the Kubernetes OpenAPI schemas give quantities (checked again, exactly, by CEL). */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** A resource quantity written as an integer or a string ("2", 2, "500m", "4Gi"), as core resources take it. */
export function IntOrStringQuantity(options: { description?: string } = {}): TUnsafe<number | string> {
  return Type.Unsafe<number | string>({
    'x-kubernetes-int-or-string': true,
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    pattern: QUANTITY_PATTERN,
    maxLength: 64,
    ...options,
  });
}

/** An RFC 3339 time, as metav1.Time serialises. */
export function Timestamp(options: { description?: string } = {}) {
  return Type.String({ format: 'date-time', ...options });
}

// --- maps and opaque Kubernetes types ------------------------------------------------------------

/** A map from string keys to `value` (`additionalProperties` in the CRD). */
export function StringMap<V extends TSchema>(
  value: V,
  options: { description?: string; maxProperties?: number; default?: Record<string, Static<V>> } = {},
) {
  return Type.Record(Type.String(), value, options);
}

/**
 * A full Kubernetes type (a security context) passed through to the pods unchanged: kept
 * whole by the API server (`x-kubernetes-preserve-unknown-fields`) and checked by it when the pod is
 * made, typed in TypeScript by the caller (from kubernetes-types).
 */
export function KubernetesObject<T>(options: { description?: string } = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...options });
}

/** Objects reject unknown fields at runtime (as kubectl's strict field validation does); crd.ts drops this. */
export const CLOSED = { additionalProperties: false } as const;

// --- Kubernetes names, labels and annotations ---------------------------------------------------

/** A DNS-1123 subdomain in `letters` (`a-z`, or `a-zA-Z` where case does not matter), unanchored. */
const dnsSubdomain = (letters: string): string => {
  const label = `[${letters}0-9]([-${letters}0-9]*[${letters}0-9])?`;
  return `${label}([.]${label})*`;
};
/** The name of a label key (after any prefix), and a label value when not empty: at most 63. */
const QUALIFIED_NAME = '[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?';

/** Most Kubernetes object names: lowercase alphanumerics, '-' and '.' (with maxLength 253). */
export const DNS_SUBDOMAIN_PATTERN = `^${dnsSubdomain('a-z')}$`;
/** A DNS-1123 label, as namespaces are named (with maxLength 63). */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/**
 * A label key: a name, optionally after a DNS-subdomain prefix and '/'. A pattern cannot also bound
 * the prefix to 253 characters; with maxLength {@link LABEL_KEY_MAX_LENGTH} it comes close.
 */
export const LABEL_KEY_PATTERN = `^(${dnsSubdomain('a-z')}/)?${QUALIFIED_NAME}$`;
export const LABEL_KEY_MAX_LENGTH = 253 + 1 + 63;
export const LABEL_VALUE_PATTERN = `^(${QUALIFIED_NAME})?$`;
/** Annotation keys are label keys in which case does not matter (Kubernetes lowercases them first). */
const ANNOTATION_KEY_PATTERN = `^(${dnsSubdomain('a-zA-Z')}/)?${QUALIFIED_NAME}$`;
/** What the patterns cannot say: a key's prefix is at most 253 characters. */
const KEY_PREFIX_PATTERN = '^([^/]{0,253}/)?[^/]*$';
/** Kubernetes' bound on an object's annotations, keys and values together, in bytes. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

const LABEL_KEY_RULE =
  "a name of at most 63 letters, digits, '-', '_' and '.' that starts and ends with a letter or " +
  "digit, optionally after a DNS subdomain and '/' (example.com/team)";
const LABEL_VALUE_RULE =
  "empty, or at most 63 letters, digits, '-', '_' and '.' that start and end with a letter or digit";

const matcher = (pattern: string) => {
  const re = new RegExp(pattern);
  return (s: string): boolean => re.test(s);
};
const isLabelKey = matcher(LABEL_KEY_PATTERN);
const isAnnotationKey = matcher(ANNOTATION_KEY_PATTERN);
const hasShortPrefix = matcher(KEY_PREFIX_PATTERN);
const isLabelValue = matcher(LABEL_VALUE_PATTERN);

/**
 * A label key (a node label, a taint's key), judged exactly and explained by CEL. An empty string
 * passes: `minLength` says whether the field may be empty.
 */
export function LabelKey(options: { description?: string; minLength?: number; default?: string } = {}) {
  return withRules(Type.String({ maxLength: LABEL_KEY_MAX_LENGTH, ...options }), [
    {
      rule: `self == '' || (self.matches('${LABEL_KEY_PATTERN}') && self.matches('${KEY_PREFIX_PATTERN}'))`,
      message: `must be a label key: ${LABEL_KEY_RULE}`,
      check: (self) => self === '' || (isLabelKey(self) && hasShortPrefix(self)),
    },
  ]);
}

/** A label value, explained by CEL. */
export function LabelValue(options: { description?: string } = {}) {
  return withRules(Type.String({ maxLength: 63, ...options }), [
    {
      rule: `self.matches('${LABEL_VALUE_PATTERN}')`,
      message: `a label value is ${LABEL_VALUE_RULE}`,
      check: isLabelValue,
    },
  ]);
}

/**
 * Judges a map's keys as label keys: keys have no schema of their own, so a rule on the map does.
 * The API server's cost estimate counts a key as empty, which keeps such a rule cheap.
 */
export const LABEL_KEYS: CelRule<Record<string, string>> = {
  rule: `self.all(k, k.matches('${LABEL_KEY_PATTERN}') && k.matches('${KEY_PREFIX_PATTERN}'))`,
  message: `every key must be a label key: ${LABEL_KEY_RULE}`,
  check: (self) => Object.keys(self).every((k) => isLabelKey(k) && hasShortPrefix(k)),
};

/** Labels (or a node selector): keys and values as Kubernetes takes them. */
export function Labels(options: { description?: string; maxProperties: number }) {
  return withRules(StringMap(LabelValue(), options), [LABEL_KEYS]);
}

/**
 * Annotations, with Kubernetes' rules: keys are label keys in any case, and keys and values come to
 * at most 256 KiB together (counted in UTF-8 bytes, as Kubernetes counts them).
 */
export function Annotations(options: { description?: string; maxProperties: number }) {
  const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
  return withRules(StringMap(Type.String({ maxLength: ANNOTATIONS_MAX_BYTES }), options), [
    {
      rule: `self.all(k, k.matches('${ANNOTATION_KEY_PATTERN}') && k.matches('${KEY_PREFIX_PATTERN}'))`,
      message: `every key must be an annotation key: ${LABEL_KEY_RULE} (in any case)`,
      check: (self) => Object.keys(self).every((k) => isAnnotationKey(k) && hasShortPrefix(k)),
    },
    {
      rule: `self.map(k, bytes(k).size() + bytes(self[k]).size()).sum() <= ${ANNOTATIONS_MAX_BYTES}`,
      message: 'annotations may come to at most 256 KiB, keys and values together',
      check: (self) =>
        Object.entries(self).reduce((n, [k, v]) => n + bytes(k) + bytes(v), 0) <= ANNOTATIONS_MAX_BYTES,
    },
  ]);
}
