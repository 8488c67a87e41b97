import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBatch, validateRecords } from '../../../src/protocol/records/index.ts';
import { FLUSH_EVERY_BATCH } from '../../../src/storage/config.ts';
import { PartitionLog } from '../../../src/storage/partition-log.ts';

const KILLS = 50;
const SEGMENT_BYTES = 64 * 1024;
const NODE = join(process.cwd(), 'node_modules/.bin/node');
const CHILD = join(process.cwd(), 'test/unit/storage/fixtures/appender.ts');

interface Ack {
  base: number;
  last: number;
  sha: string;
}

/** Runs the appender until it has acknowledged something, then a random while more, then SIGKILLs it. */
async function runAndKill(dir: string): Promise<{ start: number; acks: Ack[] }> {
  const child = spawn(NODE, [CHILD, dir, String(SEGMENT_BYTES)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let start = -1;
  const acks: Ack[] = [];
  let firstAck: () => void = () => undefined;
  const acked = new Promise<void>((resolve) => (firstAck = resolve));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const [kind, a, b, c] = out.slice(0, nl).split(' ');
      out = out.slice(nl + 1);
      if (kind === 'start') start = Number(a);
      if (kind === 'ack') {
        acks.push({ base: Number(a), last: Number(b), sha: c });
        firstAck();
      }
    }
  });
  const exited = once(child, 'exit');
  await Promise.race([acked, exited]);
  await new Promise((r) => setTimeout(r, Math.random() * 120));
  child.kill('SIGKILL');
  await exited;
  return { start, acks };
}

describe('partition log > crash recovery with real processes', () => {
  it(`keeps every acknowledged batch byte-identical across ${KILLS} SIGKILLs`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-crash-'));
    const acked = new Map<number, Ack>();
    let expectedEnd = 0;
    try {
      for (let round = 0; round < KILLS; round++) {
        const { start, acks } = await runAndKill(dir);
        // The child restarted on the log the previous round left and carried on where it ended.
        expect(start).toBe(expectedEnd);
        for (const a of acks) acked.set(a.base, a);

        const log = await PartitionLog.open({
          dir,
          topic: 'crash',
          partition: 0,
          config: { flush: FLUSH_EVERY_BATCH, segmentBytes: SEGMENT_BYTES, indexIntervalBytes: 1024 },
        });
        const maxAcked = Math.max(-1, ...[...acked.values()].map((a) => a.last));
        expect(log.logEndOffset).toBeGreaterThan(maxAcked);

        // Everything served is valid, in order, and every acknowledged batch is there as written.
        const found = new Map<number, string>();
        let next = 0;
        let prevLast = -1;
        while (next < log.logEndOffset) {
          const { records } = await log.read(next, { maxBytes: 1 << 20 });
          expect(records.length).toBeGreaterThan(0);
          const headers = validateRecords(records);
          let at = 0;
          for (const h of headers) {
            const size = 12 + h.batchLength;
            expect(h.baseOffset).toBeGreaterThan(prevLast);
            prevLast = h.baseOffset + h.lastOffsetDelta;
            found.set(
              h.baseOffset,
              createHash('sha256')
                .update(records.subarray(at, at + size))
                .digest('hex'),
            );
            at += size;
          }
          next = prevLast + 1;
        }
        for (const a of acked.values()) expect(found.get(a.base)).toBe(a.sha);

        // The log takes new appends at its end.
        const end = log.logEndOffset;
        const batch = encodeBatch({ records: [{ value: Buffer.from(`parent-${round}`), timestamp: 1 }] });
        const r = await log.append(batch, { leaderEpoch: 1 });
        expect(r.baseOffset).toBe(end);
        acked.set(r.baseOffset, {
          base: r.baseOffset,
          last: r.lastOffset,
          sha: createHash('sha256').update(batch).digest('hex'),
        });
        expectedEnd = r.lastOffset + 1;
        // Alternate clean and unclean hand-overs, so the child starts both ways.
        if (round % 2 === 0) await log.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
