/**
 * What a leader reads of a produced batch beyond its header, as Kafka's LogValidator reads it:
 * every record decodes — decompressed within the bound — and their offset deltas run 0, 1, 2, …
 *
 * The header checks (`validateBatch` with `fromClient`) and the CRC say only that the bytes arrived
 * as the client sent them. A client can send, with a correct CRC, a compressed flag over bytes no
 * decompressor reads, or records whose lengths do not add up; stored, such a batch is found
 * "corrupt" by the first reader that decodes it — a ListOffsets by timestamp, compaction — which
 * takes the whole partition offline. So it is refused at the door, with Kafka's error codes.
 */
import { invalid } from './errors.ts';
import { decodeBatch, type DecodeOptions, type RecordBatch } from './record.ts';

export function validateProducedBatch(buf: Buffer, at = 0, options: DecodeOptions = {}): RecordBatch {
  const batch = decodeBatch(buf, at, { ...options, fromClient: true });
  batch.records.forEach((r, i) => {
    if (r.offset !== batch.baseOffset + i) {
      throw invalid(`record ${i} has offset delta ${r.offset - batch.baseOffset}, expected ${i}`, at);
    }
  });
  return batch;
}
