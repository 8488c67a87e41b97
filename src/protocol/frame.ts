/**
 * Whole Kafka frames: `int32 size`, a header, a body. This is the only place that decides which
 * header version goes with which API version (FORMAT.md, "Framing").
 */
import { type ApiDescriptor, ApiKey, apis } from './messages/index.ts';
import { RequestHeader } from './messages/request-header.ts';
import { clipOversizedMessages } from './oversized-messages.ts';
import { ResponseHeader } from './messages/response-header.ts';
import { DecodeError, EncodeError, Reader, Writer } from './primitives/index.ts';

export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  // ControlledShutdown v0 predates client ids (KIP-432 kept it for old brokers).
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return apis.get(apiKey)?.request.isFlexible(apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  // ApiVersions responses always use header v0, so that a client that sent a version we do not
  // know can still read our error and our ranges (KIP-511).
  if (apiKey === ApiKey.ApiVersions) return 0;
  return apis.get(apiKey)?.response.isFlexible(apiVersion) ? 1 : 0;
}

export interface RequestFrame {
  header: RequestHeader;
  /** null when the API key is not one any schema defines. */
  api: ApiDescriptor | null;
  /** The body's bytes (a view into the frame), to decode once the version is known to be served. */
  body: Reader;
}

/**
 * Reads the header of one request frame (without the size prefix). An unknown API key or version
 * is not a decode error: the header is still read as far as possible, so the caller can answer
 * with the correlation id.
 */
export function readRequestFrame(frame: Buffer): RequestFrame {
  if (frame.length < 8) throw new DecodeError(`request of ${frame.length} bytes is shorter than a header`, 0);
  const apiKey = frame.readInt16BE(0);
  const apiVersion = frame.readInt16BE(2);
  const api = apis.get(apiKey) ?? null;
  const known = api !== null && apiVersion >= api.minVersion && apiVersion <= api.maxVersion;
  const r = new Reader(frame);
  const header = RequestHeader.read(r, known ? requestHeaderVersion(apiKey, apiVersion) : 1);
  return { header, api, body: r };
}

/** Decodes a request frame's body at its header's version; throws DecodeError on any fault. */
export function decodeRequest(frame: Buffer): { header: RequestHeader; api: ApiDescriptor; body: unknown } {
  const { header, api, body } = readRequestFrame(frame);
  if (api === null) throw new DecodeError(`unknown API key ${header.requestApiKey}`, 0);
  const version = header.requestApiVersion;
  if (version < api.minVersion || version > api.maxVersion) {
    throw new DecodeError(`${api.name} has no version ${version}`, 2);
  }
  return { header, api, body: api.request.read(body, version) };
}

function descriptor(apiKey: number): ApiDescriptor {
  const api = apis.get(apiKey);
  if (!api) throw new EncodeError(`unknown API key ${apiKey}`);
  return api;
}

/**
 * One buffer: size prefix, response header, body. A body whose error message quotes too much of
 * the request to fit the wire is encoded with the message cut (see ./oversized-messages.ts).
 */
export function encodeResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: unknown,
): Buffer {
  try {
    return encodeResponseAsIs(apiKey, apiVersion, correlationId, body);
  } catch (err) {
    const clipped =
      err instanceof EncodeError
        ? clipOversizedMessages(descriptor(apiKey).response.schema, apiVersion, body)
        : null;
    if (clipped === null) throw err;
    return encodeResponseAsIs(apiKey, apiVersion, correlationId, clipped);
  }
}

function encodeResponseAsIs(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: unknown,
): Buffer {
  const codec = descriptor(apiKey).response;
  const headerVersion = responseHeaderVersion(apiKey, apiVersion);
  const header: ResponseHeader = { correlationId };
  const size = ResponseHeader.size(header, headerVersion) + codec.size(body, apiVersion);
  const w = Writer.alloc(4 + size);
  w.int32(size);
  ResponseHeader.write(w, header, headerVersion);
  codec.write(w, body, apiVersion);
  return w.finish();
}

/** One buffer: size prefix, request header, body (for our own clients: replication, tools, tests). */
export function encodeRequest(
  header: Pick<RequestHeader, 'requestApiKey' | 'requestApiVersion' | 'correlationId' | 'clientId'>,
  body: unknown,
): Buffer {
  const codec = descriptor(header.requestApiKey).request;
  const headerVersion = requestHeaderVersion(header.requestApiKey, header.requestApiVersion);
  const size = RequestHeader.size(header, headerVersion) + codec.size(body, header.requestApiVersion);
  const w = Writer.alloc(4 + size);
  w.int32(size);
  RequestHeader.write(w, header, headerVersion);
  codec.write(w, body, header.requestApiVersion);
  return w.finish();
}

/** Decodes a response frame (without the size prefix) to a request we sent. */
export function decodeResponse(
  frame: Buffer,
  apiKey: number,
  apiVersion: number,
): { correlationId: number; body: unknown } {
  const r = new Reader(frame);
  const { correlationId } = ResponseHeader.read(r, responseHeaderVersion(apiKey, apiVersion));
  return { correlationId, body: descriptor(apiKey).response.read(r, apiVersion) };
}
