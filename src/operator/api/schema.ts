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
  /** Where the error is reported, relative to the node (`.topicName`); the node itself when absent. */
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
  const all = [...rulesOf(schema), ...(rules as CelRule<unknown>[])];
  const cel = all.map(({ check: _check, ...rest }) => rest);
  return Memory.Update(schema, { [RULES]: all }, { 'x-kubernetes-validations': cel }) as T;
}

/** The rules {@link withRules} attached to `schema` (none for other nodes). */
export function rulesOf(schema: object): CelRule<unknown>[] {
  const rules = (schema as Record<string, unknown>)[RULES];
  return Array.isArray(rules) ? (rules as CelRule<unknown>[]) : [];
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
 * A full Kubernetes type (affinity, a security context) passed through to the pods unchanged: kept
 * whole by the API server (`x-kubernetes-preserve-unknown-fields`) and checked by it when the pod is
 * made, typed in TypeScript by the caller (from kubernetes-types).
 */
export function KubernetesObject<T>(options: { description?: string } = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...options });
}

/** Objects reject unknown fields at runtime (as kubectl's strict field validation does); crd.ts drops this. */
export const CLOSED = { additionalProperties: false } as const;
