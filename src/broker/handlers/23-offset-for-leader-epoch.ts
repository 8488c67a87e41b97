/**
 * OffsetForLeaderEpoch (key 23), versions 0–4: where a leader epoch ends in the leader's log — the
 * start of the next epoch, or the log end for the current one (KIP-101). A follower asks it for
 * its latest epoch before fetching from a new leader and truncates to the answer
 * (../replication/truncation.ts); a consumer (replicaId -1) asks it after a leader change to check
 * that its position was not on a tail the new leader never had (KIP-320), and truncates its
 * position when it was.
 *
 * v1 adds the epoch of the answer (the largest epoch at or below the one asked about, KIP-279); v2
 * the current leader epoch of the requester, checked as Fetch checks it (KIP-320:
 * FENCED_LEADER_EPOCH for an older one, UNKNOWN_LEADER_EPOCH for a newer one); v3 the replicaId;
 * v4 is flexible. Only the leader answers, as Kafka 3.9 does. An epoch the log cannot place is
 * answered with epoch -1 and offset -1 and no error.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type {
  OffsetForLeaderEpochRequest,
  OffsetForLeaderPartition,
} from '../../protocol/messages/offset-for-leader-epoch-request.ts';
import {
  type EpochEndOffset,
  OffsetForLeaderEpochResponse,
} from '../../protocol/messages/offset-for-leader-epoch-response.ts';
import { leaderLogAtEpoch } from '../fetch-leader.ts';
import { epochEnd } from '../fetch-reader.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

export function offsetForLeaderEpochHandler(
  services: Pick<BrokerServices, 'replicas' | 'metadata'>,
): Handler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> {
  return {
    apiKey: ApiKey.OffsetForLeaderEpoch,
    minVersion: 0,
    maxVersion: 4,
    handle(_ctx, request) {
      return {
        ...OffsetForLeaderEpochResponse.defaults(),
        topics: request.topics.map((t) => ({
          topic: t.topic,
          partitions: t.partitions.map((p) => endOffset(services, t.topic, p)),
        })),
      };
    },
  };
}

function endOffset(
  s: Pick<BrokerServices, 'replicas' | 'metadata'>,
  topic: string,
  p: OffsetForLeaderPartition,
): EpochEndOffset {
  const found = leaderLogAtEpoch(s, topic, p.partition, p.currentLeaderEpoch);
  if (!found.ok) {
    return { errorCode: found.errorCode, partition: p.partition, leaderEpoch: -1, endOffset: -1n };
  }
  const { log, state } = found;
  const end = epochEnd(log.leaderEpochs, state.leaderEpoch, log.logEndOffset, p.leaderEpoch);
  return {
    errorCode: ErrorCode.NONE,
    partition: p.partition,
    leaderEpoch: end.epoch,
    endOffset: BigInt(end.endOffset),
  };
}
