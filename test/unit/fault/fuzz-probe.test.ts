/**
 * The fuzz probes' judgement (test/fault/fuzz-probe.ts, fuzz-pipeline.ts), against a stand-in
 * broker on a loopback socket that misbehaves on purpose: silence is a hang, a wrong correlation id
 * or an answer out of order is wrong, a close is allowed, and a right answer is one. Without this,
 * a probe that passed everything would pass the fuzz test too.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { encodeResponse } from '../../../src/protocol/frame.ts';
import { ApiKey, apis } from '../../../src/protocol/messages/index.ts';
import { ApiVersionsResponse } from '../../../src/protocol/messages/api-versions-response.ts';
import { probePipeline } from '../../fault/fuzz-pipeline.ts';
import { probe } from '../../fault/fuzz-probe.ts';
import { buildCase, type FuzzCase } from '../../fault/fuzz-requests.ts';

type Behaviour = 'answer' | 'silent' | 'close' | 'wrong-id' | 'reverse';

let server: net.Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** Answers every ApiVersions v0 frame (all our cases here are) as `behaviour` says. */
async function standIn(behaviour: Behaviour): Promise<number> {
  server = net.createServer((socket) => {
    let pending = Buffer.alloc(0);
    const ids: number[] = [];
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        ids.push(pending.readInt32BE(8));
        pending = pending.subarray(4 + pending.readInt32BE(0));
      }
      if (behaviour === 'close') socket.destroy();
      if (behaviour === 'silent' || behaviour === 'close') return;
      const answer = (id: number): Buffer =>
        encodeResponse(
          ApiKey.ApiVersions,
          0,
          behaviour === 'wrong-id' ? id + 1 : id,
          ApiVersionsResponse.defaults(),
        );
      const batch = ids.splice(0);
      for (const id of behaviour === 'reverse' ? batch.reverse() : batch) socket.write(answer(id));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as net.AddressInfo).port;
}

/** Valid ApiVersions v0 cases: an empty body, so every seed gives a whole, answerable request. */
function cases(n: number): FuzzCase[] {
  const api = apis.get(ApiKey.ApiVersions)!;
  const targets = {
    topics: [],
    topicIds: [],
    groups: [],
    members: [],
    producerIds: [],
    forbidden: new Set<string>(),
  };
  const out: FuzzCase[] = [];
  for (let index = 0; out.length < n; index++) {
    const c = buildCase({
      api,
      version: 0,
      index,
      runSeed: 1,
      targets,
      unserved: { apiKeys: [], versions: [] },
    });
    if (c.kind === 'valid') out.push(c);
  }
  return out;
}

describe('fuzz probe', () => {
  it.each<[Behaviour, string]>([
    ['answer', 'answered'],
    ['silent', 'hung'],
    ['close', 'closed'],
    ['wrong-id', 'wrong'],
  ])('judges a broker that does "%s" as %s', async (behaviour, outcome) => {
    const port = await standIn(behaviour);
    expect((await probe(port, cases(1)[0]!, 300)).outcome).toBe(outcome);
  });

  it.each<[Behaviour, string]>([
    ['answer', 'answered'],
    ['reverse', 'wrong'],
    ['silent', 'hung'],
  ])('judges a pipeline to a broker that does "%s" as %s', async (behaviour, outcome) => {
    const port = await standIn(behaviour);
    expect((await probePipeline(port, cases(4), 300)).outcome).toBe(outcome);
  });
});
