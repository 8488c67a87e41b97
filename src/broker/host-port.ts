/**
 * HOST:PORT in broker properties: one address (`listeners`, `advertised.listeners`, an optional
 * `SCHEME://` prefix as Kafka writes them), or a comma-separated list (`controller.address`).
 */
import { ConfigInvalidError } from '../common/errors.ts';
import type { PropertyDef } from '../common/properties.ts';

export interface HostPort {
  host: string;
  port: number;
}

const HOST_PORT = /^(?:[A-Za-z_]+:\/\/)?(\[[0-9a-fA-F:]+\]|[^:/\s]*):(\d{1,5})$/;

export function hostPortProp(name: string, def: string | null, doc: string): PropertyDef<HostPort> {
  return {
    name,
    type: 'string',
    default: def,
    doc,
    parse: (raw) => {
      // Kafka lists listeners as NAME://host:port,…; one plaintext listener is served for now.
      const first = raw.split(',')[0].trim();
      const m = HOST_PORT.exec(first);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port > 65535 || raw.includes(',')) {
        throw new ConfigInvalidError({
          field: name,
          value: raw,
          allowed: 'one HOST:PORT or PLAINTEXT://HOST:PORT, port 0–65535 (0 picks a free port)',
        });
      }
      return { host: m[1] === '' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port };
    },
  };
}

/** A comma-separated list of HOST:PORT (a scheme:// prefix allowed), none of them port 0. */
export function hostPortListProp(name: string, doc: string): PropertyDef<HostPort[]> {
  const one = hostPortProp(name, null, doc);
  return {
    name,
    type: 'string',
    default: null,
    doc,
    parse: (raw) => {
      const list = raw.split(',').map((item) => item.trim());
      try {
        const parsed = list.map((item) => one.parse(item));
        if (parsed.every((a) => a.port > 0)) return parsed;
      } catch {
        // Reported below with what the list allows.
      }
      throw new ConfigInvalidError({
        field: name,
        value: raw,
        allowed:
          'HOST:PORT, or several separated by commas (a HOST may resolve to several addresses), port 1–65535',
      });
    },
  };
}
