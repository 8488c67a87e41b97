/**
 * A core Affinity for the broker pods (node affinity, pod affinity and anti-affinity), judged as
 * Kubernetes judges a pod's: a Cluster whose pods could not be made is refused when it is applied,
 * rather than later, when the operator applies its StatefulSet.
 *
 * Keys, values and names are checked by patterns, which cost nothing in the API server's CEL budget;
 * CEL judges only what a pattern cannot (which operators take values). Lists are bounded (far above
 * what a broker pod needs) because the API server multiplies the cost of a rule by how many times
 * its node can occur, and refuses a CRD whose estimate is over budget.
 */
import type { Affinity as CoreAffinity } from 'kubernetes-types/core/v1.d.ts';
import Type, { type Static, type TSchema } from 'typebox';
import {
  CLOSED,
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  Int32,
  LABEL_KEYS,
  LABEL_KEY_MAX_LENGTH,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  StringEnum,
  StringMap,
  withRules,
  type CelRule,
} from './schema.ts';

const MAX_TERMS = 32;
const MAX_REQUIREMENTS = 32;
const MAX_VALUES = 256;

const list = <T extends TSchema>(item: T, maxItems: number, description?: string) =>
  Type.Array(item, { maxItems, ...(description ? { description } : {}) });

const labelKey = (description?: string) =>
  Type.String({
    ...(description ? { description } : {}),
    minLength: 1,
    maxLength: LABEL_KEY_MAX_LENGTH,
    pattern: LABEL_KEY_PATTERN,
  });

const labelValue = () => Type.String({ maxLength: 63, pattern: LABEL_VALUE_PATTERN });

const Weight = Int32({
  description: "Added to a node's score where the term holds, 1 to 100.",
  minimum: 1,
  maximum: 100,
});

interface Requirement {
  operator: string;
  values?: string[];
}

const uses = (operators: readonly string[], self: Requirement): boolean => operators.includes(self.operator);

/** The values each operator takes, as Kubernetes validates a selector's requirements. */
const VALUES_RULES: CelRule<Requirement>[] = [
  {
    rule: "!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",
    message: 'operators In and NotIn need at least one value',
    fieldPath: '.values',
    reason: 'FieldValueRequired',
    check: (self) => !uses(['In', 'NotIn'], self) || (self.values?.length ?? 0) > 0,
  },
  {
    rule: "!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0",
    message: 'operators Exists and DoesNotExist take no values',
    fieldPath: '.values',
    reason: 'FieldValueForbidden',
    check: (self) => !uses(['Exists', 'DoesNotExist'], self) || (self.values?.length ?? 0) === 0,
  },
];

const WHOLE_NUMBER = /^[-+]?[0-9]+$/;

/**
 * A node label requirement. Kubernetes checks the values of required terms as label values, and lets
 * preferred terms have any value (`labelValues: false`).
 */
const NodeSelectorRequirement = (labelValues: boolean) =>
  withRules(
    Type.Object(
      {
        key: labelKey('A node label.'),
        operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] as const),
        values: Type.Optional(list(labelValues ? labelValue() : Type.String({ maxLength: 63 }), MAX_VALUES)),
      },
      CLOSED,
    ),
    [
      ...VALUES_RULES,
      {
        rule:
          "!(self.operator in ['Gt', 'Lt']) || " +
          `(has(self.values) && size(self.values) == 1 && self.values[0].matches('${WHOLE_NUMBER.source}'))`,
        message: 'operators Gt and Lt take exactly one value, a whole number',
        fieldPath: '.values',
        check: (self) =>
          !uses(['Gt', 'Lt'], self) || (self.values?.length === 1 && WHOLE_NUMBER.test(self.values[0])),
      },
    ],
  );

/** The one node field a selector can match: the node's name. */
const NodeFieldSelectorRequirement = Type.Object(
  {
    key: StringEnum(['metadata.name'] as const),
    operator: StringEnum(['In', 'NotIn'] as const),
    values: Type.Array(Type.String({ maxLength: 253, pattern: DNS_SUBDOMAIN_PATTERN }), {
      description: 'One node name.',
      minItems: 1,
      maxItems: 1,
    }),
  },
  CLOSED,
);

const NodeSelectorTerm = (labelValues: boolean, description: string) =>
  Type.Object(
    {
      matchExpressions: Type.Optional(
        list(NodeSelectorRequirement(labelValues), MAX_REQUIREMENTS, 'Node labels, all of which must match.'),
      ),
      matchFields: Type.Optional(
        list(NodeFieldSelectorRequirement, MAX_REQUIREMENTS, 'Node fields, all of which must match.'),
      ),
    },
    { description, ...CLOSED },
  );

const NodeAffinity = Type.Object(
  {
    requiredDuringSchedulingIgnoredDuringExecution: Type.Optional(
      Type.Object(
        {
          nodeSelectorTerms: Type.Array(NodeSelectorTerm(true, 'Node labels and fields to match.'), {
            description: 'A broker runs on a node that one of the terms matches.',
            minItems: 1,
            maxItems: MAX_TERMS,
          }),
        },
        { description: 'Nodes the brokers must run on.', ...CLOSED },
      ),
    ),
    preferredDuringSchedulingIgnoredDuringExecution: Type.Optional(
      list(
        Type.Object(
          { weight: Weight, preference: NodeSelectorTerm(false, 'Node labels and fields to match.') },
          CLOSED,
        ),
        MAX_TERMS,
        'Nodes the brokers should run on.',
      ),
    ),
  },
  { description: 'Nodes the brokers run on.', ...CLOSED },
);

const LabelSelectorRequirement = withRules(
  Type.Object(
    {
      key: labelKey('A label.'),
      operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
      values: Type.Optional(list(labelValue(), MAX_VALUES)),
    },
    CLOSED,
  ),
  VALUES_RULES,
);

const LabelSelector = (description: string) =>
  Type.Object(
    {
      matchLabels: Type.Optional(
        withRules(StringMap(labelValue(), { maxProperties: MAX_REQUIREMENTS }), [LABEL_KEYS]),
      ),
      matchExpressions: Type.Optional(list(LabelSelectorRequirement, MAX_REQUIREMENTS)),
    },
    { description, ...CLOSED },
  );

const PodAffinityTerm = withRules(
  Type.Object(
    {
      labelSelector: Type.Optional(LabelSelector('The pods the term is about; none when absent.')),
      namespaceSelector: Type.Optional(
        LabelSelector("Namespaces of those pods, with `namespaces`; the broker's own when both are absent."),
      ),
      namespaces: Type.Optional(
        list(Type.String({ minLength: 1, maxLength: 63, pattern: DNS_LABEL_PATTERN }), MAX_VALUES),
      ),
      topologyKey: labelKey('Node label: nodes with the same value are one domain (a node, a zone).'),
      matchLabelKeys: Type.Optional(list(labelKey(), MAX_REQUIREMENTS)),
      mismatchLabelKeys: Type.Optional(list(labelKey(), MAX_REQUIREMENTS)),
    },
    CLOSED,
  ),
  [
    {
      rule:
        'has(self.labelSelector) || ((!has(self.matchLabelKeys) || size(self.matchLabelKeys) == 0) && ' +
        '(!has(self.mismatchLabelKeys) || size(self.mismatchLabelKeys) == 0))',
      message: 'matchLabelKeys and mismatchLabelKeys need a labelSelector',
      fieldPath: '.labelSelector',
      reason: 'FieldValueRequired',
      check: (self) =>
        self.labelSelector !== undefined ||
        ((self.matchLabelKeys?.length ?? 0) === 0 && (self.mismatchLabelKeys?.length ?? 0) === 0),
    },
  ],
);

const PodAffinity = (description: string) =>
  Type.Object(
    {
      requiredDuringSchedulingIgnoredDuringExecution: Type.Optional(
        list(PodAffinityTerm, MAX_TERMS, 'Terms that must hold.'),
      ),
      preferredDuringSchedulingIgnoredDuringExecution: Type.Optional(
        list(
          Type.Object({ weight: Weight, podAffinityTerm: PodAffinityTerm }, CLOSED),
          MAX_TERMS,
          'Terms that should hold.',
        ),
      ),
    },
    { description, ...CLOSED },
  );

export function Affinity(options: { description: string }) {
  return Type.Object(
    {
      nodeAffinity: Type.Optional(NodeAffinity),
      podAffinity: Type.Optional(PodAffinity('Pods the brokers run in the same domain as.')),
      podAntiAffinity: Type.Optional(PodAffinity('Pods the brokers run away from.')),
    },
    { ...options, ...CLOSED },
  );
}
export type Affinity = Static<ReturnType<typeof Affinity>>;

/** The operator puts this in the pods' spec: it must stay a core Affinity, or this stops compiling. */
export const AFFINITY_IS_A_CORE_AFFINITY: Affinity extends CoreAffinity ? true : false = true;
