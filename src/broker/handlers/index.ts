/**
 * Every API the broker serves, one handler file each (named `<api key>-<api name>.ts`). A handler
 * joins the broker by being listed here.
 */
import type { Handler, HandlerRegistry } from '../handler.ts';
import { registry } from '../handler.ts';
import type { BrokerServices } from '../services.ts';
import { apiVersionsHandler } from './18-api-versions.ts';

export function brokerHandlers(services: BrokerServices): HandlerRegistry {
  const handlers: Array<Handler<never, unknown>> = [
    // ApiVersions lists every handler, itself included, so it reads the registry at request time.
    apiVersionsHandler(() => all),
  ];
  void services;
  const all = registry(handlers);
  return all;
}
