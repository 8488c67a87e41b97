/**
 * Codec benchmark: encode and decode of a Fetch response with 100 partitions (v4, the oldest
 * version we serve, and v12, the first flexible one), each partition carrying a 16 KiB records
 * blob. Prints time per operation and MB/s. Decoding leaves records as views into the frame, so its
 * MB/s counts bytes it did not have to copy; encoding copies them into the one output buffer.
 * Not a test: figures, not assertions.
 */
import { FetchResponse, defaultPartitionData } from '../src/protocol/messages/fetch-response.ts';
import { measure, printTable } from './harness.ts';

const PARTITIONS = 100;
const RECORDS_BYTES = 16 * 1024;

function response(): FetchResponse {
  const records = Buffer.alloc(RECORDS_BYTES, 7);
  return {
    ...FetchResponse.defaults(),
    responses: [
      {
        topic: 'bench-topic',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions: Array.from({ length: PARTITIONS }, (_, i) => ({
          ...defaultPartitionData(),
          partitionIndex: i,
          highWatermark: 1_000_000n + BigInt(i),
          lastStableOffset: 1_000_000n,
          logStartOffset: 0n,
          abortedTransactions: [],
          records,
        })),
      },
    ],
  };
}

export function run(quick: boolean): void {
  const value = response();
  const rows: string[][] = [];
  for (const version of [4, 12]) {
    const bytes = FetchResponse.encode(value, version);
    const mb = bytes.length / 1e6;
    const enc = measure(() => FetchResponse.encode(value, version), quick);
    const dec = measure(() => FetchResponse.decode(bytes, version), quick);
    for (const [name, m] of [
      [`encode v${version}`, enc],
      [`decode v${version}`, dec],
    ] as const) {
      rows.push([
        name,
        (1e6 / m.opsPerSec).toFixed(1),
        m.opsPerSec.toFixed(0),
        (m.opsPerSec * mb).toFixed(0),
      ]);
    }
  }
  printTable(
    `Fetch response, ${PARTITIONS} partitions × ${RECORDS_BYTES / 1024} KiB records`,
    ['operation', 'µs/op', 'ops/s', 'MB/s'],
    rows,
  );
}

if (import.meta.main) run(process.argv.includes('--quick'));
