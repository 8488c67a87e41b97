/**
 * Sends one fuzz case (./fuzz-requests.ts) to a broker on its own connection and judges what comes
 * back. The broker may answer — with a response that decodes completely, at the request's version,
 * under the request's correlation id — or close the connection; it may not stay silent past the
 * deadline, or answer anything else.
 *
 * When the case leaves the framing intact, an ApiVersions v0 request (the "sentinel") is pipelined
 * behind it: a broker that neither answers nor closes is then caught without waiting on requests
 * that legitimately get no response (Produce with acks=0), and one that misread the case's length
 * answers the sentinel wrongly or not at all.
 */
import { encodeRequest, responseHeaderVersion } from '../../src/protocol/frame.ts';
import { ApiKey, apis } from '../../src/protocol/messages/index.ts';
import { ResponseHeader } from '../../src/protocol/messages/response-header.ts';
import { Reader } from '../../src/protocol/primitives/index.ts';
import { RawClient } from '../helpers/raw-client.ts';
import type { FuzzCase } from './fuzz-requests.ts';

export type Outcome = 'answered' | 'closed' | 'hung' | 'wrong';

export interface ProbeResult {
  outcome: Outcome;
  /** Whether the case itself got a response (as opposed to the sentinel only). */
  answered: boolean;
  detail: string;
}

export const SENTINEL_ID = 0x5e471e1;

/** An ApiVersions v0 request under SENTINEL_ID: whatever came before it, a live broker answers it. */
export function sentinelRequest(): Buffer {
  const header = { requestApiKey: ApiKey.ApiVersions, requestApiVersion: 0, correlationId: SENTINEL_ID };
  return encodeRequest({ ...header, clientId: 'fuzz-sentinel' }, {});
}

/** A problem with one response frame, or null when it decodes completely under `correlationId`. */
export function checkResponse(
  frame: Buffer,
  apiKey: number,
  version: number,
  correlationId: number,
): string | null {
  const api = apis.get(apiKey);
  if (!api) return `a response to unknown API ${apiKey}`;
  try {
    const r = new Reader(frame);
    const header = ResponseHeader.read(r, responseHeaderVersion(apiKey, version));
    if (header.correlationId !== correlationId) {
      return `correlation id ${header.correlationId}, expected ${correlationId}`;
    }
    api.response.read(r, version);
    if (r.remaining !== 0) return `${r.remaining} bytes left after the ${api.name} v${version} response`;
    return null;
  } catch (err) {
    return `undecodable ${api.name} v${version} response: ${(err as Error).message}`;
  }
}

/** The version a response to `c` is encoded at: ApiVersions refuses a version it lacks in v0. */
function responseVersion(c: FuzzCase): number {
  return c.kind === 'unsupported-version' && c.apiKey === ApiKey.ApiVersions ? 0 : c.version;
}

export async function probe(port: number, c: FuzzCase, timeoutMs: number): Promise<ProbeResult> {
  const client = await RawClient.connect(port);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
  );
  try {
    client.write(c.bytes);
    if (c.finAfter) client.socket.end();
    else client.write(sentinelRequest());
    let answered = false;
    for (;;) {
      const frame = await Promise.race([client.nextFrame(), deadline]);
      if (frame === 'timeout') {
        return { outcome: 'hung', answered, detail: `neither an answer nor a close within ${timeoutMs} ms` };
      }
      if (frame === null) return { outcome: 'closed', answered, detail: 'closed' };
      const sentinel = frame.length >= 4 && frame.readInt32BE(0) === SENTINEL_ID;
      if (sentinel && !c.finAfter) {
        const problem = checkResponse(frame, ApiKey.ApiVersions, 0, SENTINEL_ID);
        if (problem !== null) return { outcome: 'wrong', answered, detail: `sentinel: ${problem}` };
        return { outcome: 'answered', answered, detail: answered ? 'answered' : 'no response owed' };
      }
      if (answered) return { outcome: 'wrong', answered, detail: 'a second response to one request' };
      if (!c.answerable && !c.finAfter) return { outcome: 'wrong', answered, detail: 'a response to acks=0' };
      const problem = checkResponse(frame, c.apiKey, responseVersion(c), c.correlationId);
      if (problem !== null) return { outcome: 'wrong', answered, detail: problem };
      answered = true;
      if (c.finAfter) return { outcome: 'answered', answered, detail: 'answered' };
    }
  } finally {
    clearTimeout(timer);
    client.close();
  }
}
