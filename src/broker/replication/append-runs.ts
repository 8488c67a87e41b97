/**
 * How a follower appends what one fetch brought: in runs of whole batches that each fit in a
 * segment. A partition log refuses an append larger than segment.bytes (a client's batch that big
 * could never be stored), but a leader answers a replica's fetch with up to replica.fetch.max.bytes
 * (1 MiB) of batches that it appended one by one — with a small segment.bytes (the topic config goes
 * down to 14 bytes), a follower that has fallen behind would be refused every fetch and never catch
 * up. Appending run by run lets the log roll between runs, as the leader's did.
 */
import { walkBatches } from '../../storage/batch.ts';

/**
 * The whole batches at the front of `records`, cut at batch boundaries into consecutive runs of at
 * most `maxBytes` each. A batch larger than `maxBytes` is a run of its own (and the log will refuse
 * it, as the leader's would have). A partial batch at the end (a fetch cut short) is left out.
 */
export function appendRuns(records: Buffer, maxBytes: number): Buffer[] {
  const runs: Buffer[] = [];
  let start = 0;
  const end = walkBatches(records, (_h, at, size) => {
    if (at > start && at + size - start > maxBytes) {
      runs.push(records.subarray(start, at));
      start = at;
    }
  });
  if (end > start) runs.push(records.subarray(start, end));
  return runs;
}
