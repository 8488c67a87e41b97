export { DecodeError, EncodeError } from './errors.ts';
export { Reader, ZERO_UUID } from './reader.ts';
export {
  Writer,
  sizeOfArrayLength,
  sizeOfBytes,
  sizeOfString,
  sizeOfUVarint,
  sizeOfUVarlong,
  sizeOfVarint,
  sizeOfVarlong,
} from './writer.ts';
export { readArray, readNullableArray, sizeOfArray, sizeOfFixedArray, writeArray } from './arrays.ts';
export { EMPTY_BUFFER, defineMessage, nullField, unsupportedField, type MessageCodec } from './message.ts';
export { inSpan, type FieldSchema, type MessageSchema, type VersionSpan } from './schema.ts';
