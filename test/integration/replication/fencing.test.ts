/**
 * A deposed leader cannot acknowledge a write. The leader of a partition is stopped (SIGSTOP: the
 * process and its sockets stay, it just stops running) until its leadership has moved to another
 * broker and a write has been taken there; a Produce (acks=all) is put on a connection it accepted
 * before, and only then is it resumed — so it reads that request still believing itself leader, at
 * its old epoch. The request must not be acknowledged: it is answered NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH.
 * Afterwards every replica of the partition holds the same log, byte for byte: whatever the old
 * leader may have appended alone was cut away. kafka-reference.test.ts runs the same scenario.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Admin } from 'kafkajs';
import { ErrorCode } from '../../../src/protocol/error-codes.ts';
import { startDevCluster, type DevCluster } from '../../helpers/dev-cluster.ts';
import { deposedLeaderCannotAcknowledge } from './isolation-scenarios.ts';
import { devReplicated } from './clusters.ts';

jest.setTimeout(240_000);

let cluster: DevCluster;
let admin: Admin;

beforeAll(async () => {
  cluster = await startDevCluster({ brokers: 3 });
  admin = cluster.kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  await admin?.disconnect();
  await cluster?.stop();
});

describe('replication > a deposed leader', () => {
  it('resumed after its leadership moved, gets no write acknowledged, and its log ends up identical to the others', async () => {
    const refusal = await deposedLeaderCannotAcknowledge(devReplicated(cluster, admin));
    expect([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.FENCED_LEADER_EPOCH]).toContain(refusal);
  });
});
