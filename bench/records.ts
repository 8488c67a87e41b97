/**
 * Record batch benchmark: the produce hot path — validateBatch (bounds, magic, CRC-32C, header
 * checks) and assignOffsets — over 1 MiB uncompressed batches of 1 KiB records, next to a plain
 * Buffer.copy of the same bytes for scale. The floor is validation at 2 GB/s or more. A full
 * decodeBatch is shown too, to make plain what the hot path avoids. Figures, not assertions.
 */
import {
  assignOffsets,
  decodeBatch,
  encodeBatch,
  validateBatch,
  validateRecords,
} from '../src/protocol/records/index.ts';
import { measure, printTable, type Measurement } from './harness.ts';

const BATCH_BYTES = 1024 * 1024;
const RECORD_VALUE_BYTES = 1024;
/** Distinct batches taken in turn, so no run works on a single buffer hot in cache. */
const BATCHES = 8;
const FLOOR_GBPS = 2;

function noise(n: number, seed: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    buf[i] = x >>> 24;
  }
  return buf;
}

/** An uncompressed batch of 1 KiB-value records just under BATCH_BYTES. */
function batch(seed: number): Buffer {
  const perRecord = RECORD_VALUE_BYTES + 16 + 8; // value + key + framing, roughly
  const count = Math.floor((BATCH_BYTES - 61) / perRecord);
  const value = noise(RECORD_VALUE_BYTES * count, seed);
  return encodeBatch({
    producerId: 1000 + seed,
    producerEpoch: 0,
    baseSequence: 0,
    records: Array.from({ length: count }, (_, i) => ({
      key: Buffer.from(`key-${seed}-${i}`.padEnd(16, '.')),
      value: value.subarray(i * RECORD_VALUE_BYTES, (i + 1) * RECORD_VALUE_BYTES),
      timestamp: 1_700_000_000_000 + i,
    })),
  });
}

export function run(quick: boolean): void {
  const batches = Array.from({ length: BATCHES }, (_, i) => batch(i + 1));
  const size = batches[0]!.length;
  const blob = Buffer.concat(batches);
  const target = Buffer.allocUnsafe(blob.length);
  let next = 0;
  const turn = (): Buffer => batches[next++ % BATCHES]!;
  let offset = 0;

  const cases: Array<[string, number, () => unknown]> = [
    ['Buffer.copy (scale)', size, () => turn().copy(target)],
    ['validateBatch', size, () => validateBatch(turn())],
    [
      'validateRecords + assignOffsets',
      size,
      () => {
        const buf = turn();
        validateRecords(buf);
        offset = assignOffsets(buf, offset, 1).lastOffset + 1;
      },
    ],
    [`Buffer.copy, ${BATCHES}-batch blob (scale)`, blob.length, () => blob.copy(target)],
    [
      `validateRecords + assignOffsets, ${BATCHES}-batch blob`,
      blob.length,
      () => {
        validateRecords(blob);
        offset = assignOffsets(blob, offset, 1).lastOffset + 1;
      },
    ],
    ['decodeBatch (full decode, for contrast)', size, () => decodeBatch(turn())],
  ];

  const results: Array<[string, number, Measurement]> = cases.map(([name, bytes, fn]) => [
    name,
    bytes,
    measure(fn, quick),
  ]);
  const gbps = (bytes: number, m: Measurement) => (bytes * m.opsPerSec) / 1e9;
  const copyRate = (bytes: number) => {
    const copy = results.find(([name, b]) => name.startsWith('Buffer.copy') && b === bytes)!;
    return gbps(copy[1], copy[2]);
  };
  const rows = results.map(([name, bytes, m]) => [
    name,
    (bytes / (1024 * 1024)).toFixed(1),
    (1e6 / m.opsPerSec).toFixed(1),
    gbps(bytes, m).toFixed(2),
    (gbps(bytes, m) / copyRate(bytes)).toFixed(3),
  ]);
  const records = decodeBatch(batches[0]!).recordCount;
  printTable(
    `Record batches: ${BATCHES} × ${(size / (1024 * 1024)).toFixed(2)} MiB uncompressed, ${records} records of ${RECORD_VALUE_BYTES} B each`,
    ['operation', 'MiB/op', 'µs/op', 'GB/s', 'vs copy'],
    rows,
  );
  const validation = results.find(([name]) => name === 'validateBatch')!;
  const rate = gbps(validation[1], validation[2]);
  console.log(
    `\nvalidateBatch: ${rate.toFixed(2)} GB/s — ${rate >= FLOOR_GBPS ? 'meets' : 'BELOW'} the ${FLOOR_GBPS} GB/s floor`,
  );
}

if (import.meta.main) run(process.argv.includes('--quick'));
