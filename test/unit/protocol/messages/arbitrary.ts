/**
 * fast-check arbitraries for any generated message at any version, built from the same schema
 * model the generator reads: every field present at the version gets a random value (null where
 * the version allows it), every absent field its generated default.
 */
import fc from 'fast-check';
import {
  type Field,
  type FieldType,
  type Message,
  type Struct,
  inRange,
  isRegularAt,
  isTaggedAt,
} from '../../../../hack/protocol-gen/schema.ts';

type Defaults = (structName: string) => Record<string, unknown>;

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

function typeArbitrary(
  type: FieldType,
  message: Message,
  version: number,
  defaults: Defaults,
): fc.Arbitrary<unknown> {
  if (type.kind === 'array') {
    return fc.array(typeArbitrary(type.element, message, version, defaults), { maxLength: 3 });
  }
  if (type.kind === 'struct') {
    return structArbitrary(message.structs.get(type.name)!, message, version, defaults);
  }
  const range = INT_RANGES[type.name];
  if (range) return fc.integer({ min: range[0], max: range[1] });
  switch (type.name) {
    case 'bool':
      return fc.boolean();
    case 'int64':
      return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    case 'float64':
      return fc.double();
    case 'string':
      // Whole code points: a lone surrogate cannot survive UTF-8, in Kafka or here.
      return fc.string({ unit: 'binary', maxLength: 12 });
    case 'uuid':
      return fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
    default:
      return fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
  }
}

function fieldArbitrary(
  field: Field,
  message: Message,
  version: number,
  defaults: Defaults,
  structDefaults: Record<string, unknown>,
): fc.Arbitrary<unknown> {
  if (!isRegularAt(field, version) && !isTaggedAt(field, message, version)) {
    return fc.constant(structDefaults[field.property]);
  }
  const value = typeArbitrary(field.type, message, version, defaults);
  return inRange(field.nullableVersions, version) ? fc.option(value, { nil: null }) : value;
}

export function structArbitrary(
  struct: Struct,
  message: Message,
  version: number,
  defaults: Defaults,
): fc.Arbitrary<Record<string, unknown>> {
  const structDefaults = defaults(struct.name);
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of struct.fields) {
    shape[field.property] = fieldArbitrary(field, message, version, defaults, structDefaults);
  }
  return fc.record(shape);
}
