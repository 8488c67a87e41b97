/**
 * The shape of a message as data: what hack/gen-protocol.ts knows about each field of each struct,
 * emitted beside the codec so tools can walk a message version by version without Kafka's JSON
 * (the input fault injector in test/fault/ builds hostile requests from it).
 *
 * Version spans are inclusive and clamped to the message's valid versions, so "3+" in a message
 * valid up to 11 is [3, 11].
 */

export type VersionSpan = readonly [lo: number, hi: number];

export interface FieldSchema {
  /** The schema's name, e.g. "TopicData". */
  readonly name: string;
  /** The property in the generated interface, e.g. "topicData". */
  readonly property: string;
  /**
   * A primitive (bool, int8, int16, uint16, int32, uint32, int64, float64, string, uuid, bytes,
   * records), a struct name, or either prefixed with "[]" for an array.
   */
  readonly type: string;
  /** The versions it is present in; null when none. */
  readonly versions: VersionSpan | null;
  readonly nullable?: VersionSpan;
  /** The versions in which it travels as a tagged field, under `tag`. */
  readonly tagged?: VersionSpan;
  readonly tag?: number;
  /** A field-level override of the message's flexible versions (RequestHeader.ClientId): null = never compact. */
  readonly flexible?: VersionSpan | null;
}

export interface MessageSchema {
  /** The message's own struct (its root fields) is `structs[root]`. */
  readonly root: string;
  readonly structs: Readonly<Record<string, readonly FieldSchema[]>>;
}

export function inSpan(span: VersionSpan | null | undefined, version: number): boolean {
  return span !== null && span !== undefined && version >= span[0] && version <= span[1];
}
