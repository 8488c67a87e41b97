/**
 * The contract between the connection layer and the per-API handlers (one file per Kafka API in
 * ./handlers/). Handlers get a context and a decoded request and return a response value; they
 * never see a socket. Kafka errors go back as error codes inside the response, not as exceptions.
 */
import type { Logger } from '../common/logger.ts';
import type { RequestHeader } from '../protocol/messages/request-header.ts';

/** Returned by a handler whose request gets no response (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol('no response');

/**
 * Returned by a handler whose request gets no response and whose connection is to be closed once
 * the responses before it are written: Produce with acks=0 that failed, which a client cannot learn
 * any other way (Kafka does the same; the client reconnects and refreshes its metadata).
 */
export const CLOSE_CONNECTION: unique symbol = Symbol('close the connection');

export interface RequestContext {
  header: RequestHeader;
  apiVersion: number;
  clientId: string | null;
  /** "address:port" of the peer, for logs. */
  peer: string;
  log: Logger;
  /** Aborted when the connection closes, so long polls can stop early. */
  signal: AbortSignal;
}

export type HandlerResult<Res> = Res | typeof NO_RESPONSE | typeof CLOSE_CONNECTION;

export interface Handler<Req = unknown, Res = unknown> {
  apiKey: number;
  /** The versions this broker serves; a subset of what the schemas define. */
  minVersion: number;
  maxVersion: number;
  handle(ctx: RequestContext, request: Req): HandlerResult<Res> | Promise<HandlerResult<Res>>;
}

export type HandlerRegistry = ReadonlyMap<number, Handler>;

/** Erases a handler's request/response types so handlers of every API fit one registry. */
export function registry(handlers: Array<Handler<never, unknown>>): HandlerRegistry {
  const map = new Map<number, Handler>();
  for (const h of handlers) {
    if (map.has(h.apiKey)) throw new Error(`two handlers for API key ${h.apiKey}`);
    map.set(h.apiKey, h as Handler);
  }
  return map;
}
