/**
 * The fuzz test's witness: a client that minds its own business beside the fuzzer, on its own two
 * connections. A writer produces one record after another (acks=-1) to partition 0 of its topic,
 * and checks each is acknowledged at the next offset; a reader fetches from where it left off and
 * checks every record comes back, in order, with the value written. Any error, wrong offset, wrong
 * value or a request left unanswered for `requestTimeoutMs` is recorded as a failure and stops it.
 */
import { ErrorCode, errorName } from '../../../src/protocol/error-codes.ts';
import {
  defaultFetchPartition,
  defaultFetchTopic,
  FetchRequest,
} from '../../../src/protocol/messages/fetch-request.ts';
import type { FetchResponse } from '../../../src/protocol/messages/fetch-response.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { ProduceRequest } from '../../../src/protocol/messages/produce-request.ts';
import type { ProduceResponse } from '../../../src/protocol/messages/produce-response.ts';
import { decodeRecords, encodeBatch } from '../../../src/protocol/records/index.ts';
import { RawClient } from '../../helpers/raw-client.ts';

export interface WitnessOptions {
  port: number;
  topic: string;
  requestTimeoutMs: number;
}

export class Witness {
  readonly failures: string[] = [];
  written = 0;
  read = 0;
  #stopWriting = false;
  #stopReading = false;
  #writerDone = false;
  #writer: Promise<void> = Promise.resolve();
  #reader: Promise<void> = Promise.resolve();
  readonly #o: WitnessOptions;

  constructor(o: WitnessOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    const writer = await RawClient.connect(this.#o.port);
    const reader = await RawClient.connect(this.#o.port);
    this.#writer = this.#write(writer).finally(() => writer.close());
    this.#reader = this.#read(reader).finally(() => reader.close());
  }

  /** Stops writing; the reader goes on until it has read everything written, or fails. */
  async stopWriting(): Promise<void> {
    this.#stopWriting = true;
    await this.#writer;
  }

  async stop(): Promise<void> {
    this.#stopWriting = true;
    this.#stopReading = true;
    await Promise.all([this.#writer, this.#reader]);
  }

  async #timed<T>(what: string, call: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what}: no answer within ${this.#o.requestTimeoutMs} ms`)),
        this.#o.requestTimeoutMs,
      );
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #write(client: RawClient): Promise<void> {
    try {
      while (!this.#stopWriting) {
        const n = this.written;
        const request: ProduceRequest = {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [
            {
              name: this.#o.topic,
              partitionData: [
                {
                  index: 0,
                  records: encodeBatch({
                    records: [{ value: Buffer.from(`w-${n}`), timestamp: Date.now() }],
                  }),
                },
              ],
            },
          ],
        };
        const res = await this.#timed(
          `produce #${n}`,
          client.call<ProduceResponse>(ApiKey.Produce, 8, request),
        );
        const p = res.responses[0]?.partitionResponses[0];
        if (p?.errorCode !== ErrorCode.NONE || p.baseOffset !== BigInt(n)) {
          throw new Error(
            `produce #${n}: ${p ? `${errorName(p.errorCode)} at offset ${p.baseOffset}` : 'no partition'}`,
          );
        }
        this.written++;
      }
    } catch (err) {
      this.failures.push(`writer: ${(err as Error).message}`);
    } finally {
      this.#writerDone = true;
    }
  }

  async #read(client: RawClient): Promise<void> {
    try {
      while (!(this.#stopReading || (this.#writerDone && this.read >= this.written))) {
        const request: FetchRequest = {
          ...FetchRequest.defaults(),
          replicaId: -1,
          maxWaitMs: 100,
          minBytes: 1,
          maxBytes: 1 << 20,
          sessionEpoch: -1,
          topics: [
            {
              ...defaultFetchTopic(),
              topic: this.#o.topic,
              partitions: [
                {
                  ...defaultFetchPartition(),
                  partition: 0,
                  fetchOffset: BigInt(this.read),
                  partitionMaxBytes: 1 << 20,
                },
              ],
            },
          ],
        };
        const res = await this.#timed(
          `fetch at ${this.read}`,
          client.call<FetchResponse>(ApiKey.Fetch, 11, request),
        );
        const p = res.responses[0]?.partitions[0];
        if (res.errorCode !== ErrorCode.NONE || p?.errorCode !== ErrorCode.NONE) {
          throw new Error(`fetch at ${this.read}: ${errorName(p?.errorCode ?? res.errorCode)}`);
        }
        for (const batch of decodeRecords(p.records ?? Buffer.alloc(0), { allowPartialTail: true })) {
          for (const r of batch.records) {
            if (r.offset < this.read) continue;
            const value = r.value?.toString() ?? 'null';
            if (r.offset !== this.read || value !== `w-${this.read}`) {
              throw new Error(
                `fetch: offset ${r.offset} holds ${value}, expected w-${this.read} at ${this.read}`,
              );
            }
            this.read++;
          }
        }
      }
    } catch (err) {
      this.failures.push(`reader: ${(err as Error).message}`);
    }
  }
}
