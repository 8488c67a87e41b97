/**
 * Several fuzz cases pipelined on one connection, then the sentinel: the broker must answer them in
 * the order they were sent, each under its own correlation id, and may stop answering only by
 * closing the connection (after a request it cannot read). A request may go unanswered only when it
 * owes no response (a valid Produce with acks=0) or when its body was sabotaged — what the broker
 * read it as (an acks=0 Produce, say) is then unknowable. Cases that break the framing itself have
 * no place here: nothing after them could be read.
 */
import { ApiKey } from '../../src/protocol/messages/index.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { checkResponse, type ProbeResult, SENTINEL_ID, sentinelRequest } from './fuzz-probe.ts';
import type { FuzzCase } from './fuzz-requests.ts';

export async function probePipeline(
  port: number,
  cases: FuzzCase[],
  timeoutMs: number,
): Promise<ProbeResult> {
  if (cases.some((c) => c.finAfter)) throw new Error('a case that breaks the framing cannot be pipelined');
  const client = await RawClient.connect(port);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
  );
  try {
    client.write(Buffer.concat([...cases.map((c) => c.bytes), sentinelRequest()]));
    let next = 0;
    let answered = false;
    for (;;) {
      const frame = await Promise.race([client.nextFrame(), deadline]);
      if (frame === 'timeout') {
        return { outcome: 'hung', answered, detail: `no answer to request ${next} within ${timeoutMs} ms` };
      }
      if (frame === null) return { outcome: 'closed', answered, detail: `closed after ${next} requests` };
      const id = frame.length >= 4 ? frame.readInt32BE(0) : null;
      // Requests that owe nothing may be passed over; a valid one that owes an answer may not.
      while (next < cases.length && cases[next]!.correlationId !== id) {
        const skipped = cases[next]!;
        if (skipped.kind === 'valid' && skipped.answerable) {
          return {
            outcome: 'wrong',
            answered,
            detail: `request ${next} (${skipped.name}) went unanswered or out of order`,
          };
        }
        next++;
      }
      if (next === cases.length) {
        const problem =
          id === SENTINEL_ID
            ? checkResponse(frame, ApiKey.ApiVersions, 0, SENTINEL_ID)
            : 'an answer to no request';
        if (problem !== null)
          return { outcome: 'wrong', answered, detail: `after the last request: ${problem}` };
        return { outcome: 'answered', answered, detail: 'answered' };
      }
      const c = cases[next]!;
      if (c.kind === 'valid' && !c.answerable)
        return { outcome: 'wrong', answered, detail: `a response to acks=0 (${c.name})` };
      const problem = checkResponse(frame, c.apiKey, c.version, c.correlationId);
      if (problem !== null) return { outcome: 'wrong', answered, detail: `${c.name}: ${problem}` };
      answered = true;
      next++;
    }
  } finally {
    clearTimeout(timer);
    client.close();
  }
}
