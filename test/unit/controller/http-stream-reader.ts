/** Reads a controller's image stream over a real connection, for the HTTP server tests. */
import type { FastifyInstance } from 'fastify';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Opens the image stream over a real connection and reads it line by line. */
export async function openStream(
  app: FastifyInstance,
  o: { token: string; nodeId?: number; brokerEpoch?: number },
) {
  const { nodeId = 0, brokerEpoch = 7 } = o;
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const lines: Array<Record<string, unknown>> = [];
  const waiting: Array<() => void> = [];
  let ended = false;
  const agent = new http.Agent({ keepAlive: false });
  const req = http.get({
    host: '127.0.0.1',
    port,
    path: `/v1/brokers/${nodeId}/images?brokerEpoch=${brokerEpoch}`,
    headers: { authorization: `Bearer ${o.token}` },
    agent,
  });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
      buffered = buffered.slice(nl + 1);
    }
    waiting.splice(0).forEach((w) => w());
  });
  res.on('end', () => {
    ended = true;
    waiting.splice(0).forEach((w) => w());
  });
  res.on('error', () => undefined);
  /** The next line that is not a keep-alive, or null at the end of the stream. */
  const next = async (): Promise<Record<string, unknown> | null> => {
    for (;;) {
      const i = lines.findIndex((l) => l['type'] !== 'keepalive');
      if (i >= 0) return lines.splice(0, i + 1)[i];
      if (ended) return null;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  };
  const until = async (ok: () => boolean): Promise<void> => {
    while (!ok()) await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const keepalives = () => lines.filter((l) => l['type'] === 'keepalive').length;
  return { res, next, until, keepalives, destroy: () => req.destroy() };
}
