/**
 * InitProducerId (key 22), versions 0–5: producer ids for idempotent producers.
 *
 * v1 is v0; v2 is flexible; v3 adds producerId and producerEpoch, so that a transactional producer
 * can ask for its epoch to be bumped after an error (KIP-360); v4 and v5 only let the coordinator
 * answer PRODUCER_FENCED and TRANSACTION_ABORTABLE.
 *
 * Without a transactional id (every idempotent producer; the Java client's default since 3.0) the
 * answer is a fresh producer id at epoch 0, whatever producerId/epoch the request carries — as
 * Kafka's coordinator answers it: with no transactional id nothing ties the caller to an earlier id,
 * so bumping the epoch of the id it names would let any client fence any producer. Ids come from the
 * controller in blocks (`allocateProducerIds`), so the metadata file is rewritten once per block,
 * not per producer; the rest of a block is lost at restart and ids are never reused.
 *
 * With a transactional id, the request needs a transaction coordinator, which this broker does not
 * have yet. It is answered TRANSACTIONAL_ID_AUTHORIZATION_FAILED: the answer Kafka gives a client
 * that may not use transactional ids. Every client treats it as fatal and says so at once
 * (the Java client's initTransactions() throws TransactionalIdAuthorizationException, kafkajs and
 * librdkafka fail the transactional producer), rather than retrying a coordinator error until a
 * timeout.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { InitProducerIdRequest } from '../../protocol/messages/init-producer-id-request.ts';
import { InitProducerIdResponse } from '../../protocol/messages/init-producer-id-response.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

/** Producer ids reserved from the controller at a time (Kafka's block size). */
export const PRODUCER_ID_BLOCK_SIZE = 1000;

/** Hands out producer ids from blocks the controller reserved; one block request at a time. */
export class ProducerIdBlocks {
  readonly #allocate: (count: number) => Promise<bigint>;
  readonly #blockSize: number;
  #next = 0n;
  #end = 0n;
  #refill: Promise<void> | null = null;

  constructor(allocate: (count: number) => Promise<bigint>, blockSize = PRODUCER_ID_BLOCK_SIZE) {
    this.#allocate = allocate;
    this.#blockSize = blockSize;
  }

  async next(): Promise<bigint> {
    while (this.#next >= this.#end) {
      this.#refill ??= this.#allocate(this.#blockSize)
        .then((first) => {
          this.#next = first;
          this.#end = first + BigInt(this.#blockSize);
        })
        .finally(() => {
          this.#refill = null;
        });
      await this.#refill;
    }
    return this.#next++;
  }
}

export function initProducerIdHandler(
  services: BrokerServices,
): Handler<InitProducerIdRequest, InitProducerIdResponse> {
  const ids = new ProducerIdBlocks((count) => services.admin.allocateProducerIds(count));
  const answer = (errorCode: number, producerId = -1n, producerEpoch = -1): InitProducerIdResponse => ({
    ...InitProducerIdResponse.defaults(),
    errorCode,
    producerId,
    producerEpoch,
  });
  return {
    apiKey: ApiKey.InitProducerId,
    minVersion: 0,
    maxVersion: 5,
    async handle(ctx, request) {
      const { transactionalId, producerId, producerEpoch } = request;
      // Both or neither, as Kafka requires.
      if ((producerId === -1n) !== (producerEpoch === -1)) return answer(ErrorCode.INVALID_REQUEST);
      if (transactionalId !== null) {
        if (transactionalId === '') return answer(ErrorCode.INVALID_REQUEST);
        ctx.log.info(
          { transactionalId },
          'Refused InitProducerId for a transactional id: transactions are not supported yet',
        );
        return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      }
      try {
        return answer(ErrorCode.NONE, await ids.next(), 0);
      } catch (err) {
        ctx.log.error({ err }, 'Failed to reserve producer ids');
        return answer(ErrorCode.UNKNOWN_SERVER_ERROR);
      }
    },
  };
}
