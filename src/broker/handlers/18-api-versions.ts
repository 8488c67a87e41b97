/**
 * ApiVersions (key 18), versions 0–4. Clients call it first on every connection to learn which
 * versions of each API this broker serves.
 *
 * v1 adds throttleTimeMs; v3 is the first flexible version and carries the client's software name
 * and version (KIP-511), which must match Kafka's pattern or get INVALID_REQUEST; v3 responses add
 * tagged feature fields (none are advertised). Any version, unsupported ones included, is answered
 * with response header v0 — see src/protocol/frame.ts.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { ApiVersionsRequest } from '../../protocol/messages/api-versions-request.ts';
import { ApiVersionsResponse } from '../../protocol/messages/api-versions-response.ts';
import type { Handler, HandlerRegistry } from '../handler.ts';

const SOFTWARE_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

function apiKeys(handlers: HandlerRegistry): ApiVersionsResponse['apiKeys'] {
  return [...handlers.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
}

/**
 * The answer to an ApiVersions request of a version we do not serve: UNSUPPORTED_VERSION with our
 * ranges, to be encoded at version 0 so any client can read it.
 */
export function unsupportedVersionResponse(handlers: HandlerRegistry): ApiVersionsResponse {
  return {
    ...ApiVersionsResponse.defaults(),
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: apiKeys(handlers),
  };
}

/** `handlers` is read at request time, so the response lists every handler, this one included. */
export function apiVersionsHandler(
  handlers: () => HandlerRegistry,
): Handler<ApiVersionsRequest, ApiVersionsResponse> {
  return {
    apiKey: ApiKey.ApiVersions,
    minVersion: 0,
    maxVersion: 4,
    handle(ctx, request) {
      const response = { ...ApiVersionsResponse.defaults(), apiKeys: apiKeys(handlers()) };
      if (
        ctx.apiVersion >= 3 &&
        !(
          SOFTWARE_PATTERN.test(request.clientSoftwareName) &&
          SOFTWARE_PATTERN.test(request.clientSoftwareVersion)
        )
      ) {
        response.errorCode = ErrorCode.INVALID_REQUEST;
      }
      return response;
    },
  };
}
