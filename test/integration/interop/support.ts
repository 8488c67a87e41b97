/**
 * Shared by the interop tests: topic names, the records they produce, and a look at how the broker
 * stored them on disk.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchCompression, batchSizeAt, readBatchHeader } from '../../../src/protocol/records/batch.ts';
import type { Compression } from '../../../src/protocol/records/compression.ts';
import { partitionDirName } from '../../../src/storage/names.ts';

export function randomTopic(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * The compression codec of every batch the broker stored for `topic` (all partitions, every
 * segment). Batches are stored as the producer sent them, so this says what the client sent — and
 * proves a test about, say, zstd really had zstd batches to serve back.
 */
export function storedCodecs(dataDir: string, topic: string, partitions: number): Set<Compression> {
  const codecs = new Set<Compression>();
  for (let p = 0; p < partitions; p++) {
    const dir = join(dataDir, partitionDirName(topic, p));
    for (const name of readdirSync(dir).filter((n) => n.endsWith('.log'))) {
      const bytes = readFileSync(join(dir, name));
      let at = 0;
      for (;;) {
        const size = batchSizeAt(bytes, at);
        if (size < 0 || at + size > bytes.length) break;
        const codec = batchCompression(readBatchHeader(bytes, at).attributes);
        if (codec) codecs.add(codec);
        at += size;
      }
    }
  }
  return codecs;
}

/** Text that compresses well, so a client does not fall back to sending a batch uncompressed. */
export function compressibleValue(i: number): string {
  return `value ${i} `.padEnd(200, 'abcdefgh');
}
