/**
 * A custom resource's one definition: its names, printer columns, and the schema of the whole
 * object (apiVersion, kind, metadata, spec, status) with its CEL rules. crd.ts turns it into a
 * CustomResourceDefinition; validate.ts checks objects against it.
 */
import Type, { type Static, type TObject, type TSchema } from 'typebox';
import { API_VERSION, ObjectMeta } from './meta.ts';
import { CLOSED, type CelRule, withRules } from './schema.ts';

export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  /** 0 (default): always shown; 1: only with `-o wide`. */
  priority?: number;
}

/** The object as stored: what `kubectl get -o json` shows. */
export interface ResourceObject<Spec, Status> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export interface ResourceOptions<Kind extends string, Spec extends TSchema, Status extends TSchema> {
  kind: Kind;
  /** Lower-case plural, the URL segment; the singular is the lower-cased kind. */
  plural: string;
  shortNames: string[];
  description: string;
  spec: Spec;
  status: Status;
  /** Rules over the whole object (the only place CEL can see metadata.name). */
  rules?: CelRule<ResourceObject<Static<Spec>, Static<Status>>>[];
  /** Shown by `kubectl get` before the Age column, which is always added last. */
  printerColumns: PrinterColumn[];
  /** A scale subresource (`kubectl scale`, autoscalers): where the desired and observed counts are. */
  scale?: ScaleSubresource;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceDefinition<
  Kind extends string = string,
  Spec extends TSchema = TSchema,
  Status extends TSchema = TSchema,
> {
  kind: Kind;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  description: string;
  printerColumns: readonly PrinterColumn[];
  scale?: ScaleSubresource;
  spec: Spec;
  status: Status;
  /** The whole object: apiVersion, kind, metadata, spec, status. */
  schema: TObject;
}

export function defineResource<const Kind extends string, Spec extends TSchema, Status extends TSchema>(
  options: ResourceOptions<Kind, Spec, Status>,
): ResourceDefinition<Kind, Spec, Status> {
  const object = Type.Object(
    {
      apiVersion: Type.Literal(API_VERSION),
      kind: Type.Literal(options.kind),
      metadata: ObjectMeta,
      spec: options.spec,
      status: Type.Optional(options.status),
    },
    { description: options.description, ...CLOSED },
  );
  const schema = withRules(object, (options.rules ?? []) as unknown as CelRule<Static<typeof object>>[]);
  return {
    kind: options.kind,
    plural: options.plural,
    singular: options.kind.toLowerCase(),
    shortNames: options.shortNames,
    description: options.description,
    printerColumns: [
      ...options.printerColumns,
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    ...(options.scale ? { scale: options.scale } : {}),
    spec: options.spec,
    status: options.status,
    schema,
  };
}
