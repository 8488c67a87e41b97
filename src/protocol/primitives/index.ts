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
