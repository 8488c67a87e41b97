/**
 * A classic group on a FakeClock, with a store whose writes a test completes when it chooses (or
 * at once), and clients that send JoinGroup / SyncGroup and collect the answers.
 */
import { FakeClock } from '../../../../src/common/clock.ts';
import { silentLogger } from '../../../../src/common/logger.ts';
import { encodeAssignment, encodeSubscription } from '../../../../src/protocol/consumer-protocol.ts';
import {
  ClassicGroup,
  type GroupConfig,
  type JoinRequest,
  type SyncRequest,
} from '../../../../src/broker/groups/group.ts';
import type { JoinResult, Protocol, SyncResult } from '../../../../src/broker/groups/membership.ts';
import type { GroupMetadataValue } from '../../../../src/broker/groups/records.ts';

export interface PendingStore {
  record: GroupMetadataValue;
  done: (errorCode: number) => void;
}

export interface HarnessOptions {
  config?: Partial<GroupConfig>;
  /** Complete every store at once with success (default), or queue them for the test. */
  storeMode?: 'immediate' | 'queued';
  startMs?: number;
}

export interface Harness {
  group: ClassicGroup;
  clock: FakeClock;
  /** Every GroupMetadata record stored, in order. */
  stored: GroupMetadataValue[];
  /** Stores not yet completed (queued mode). */
  pendingStores: PendingStore[];
  rebalances: number;
  completeStore(errorCode?: number): void;
}

export function newGroup(o: HarnessOptions = {}): Harness {
  const clock = new FakeClock(o.startMs ?? 1_000_000);
  let ids = 0;
  const h: Harness = {
    clock,
    stored: [],
    pendingStores: [],
    rebalances: 0,
    group: undefined as unknown as ClassicGroup,
    completeStore(errorCode = 0) {
      const next = h.pendingStores.shift();
      if (!next) throw new Error('no store pending');
      if (errorCode === 0) h.stored.push(next.record);
      next.done(errorCode);
    },
  };
  h.group = new ClassicGroup('g', {
    clock,
    config: { initialRebalanceDelayMs: 0, maxSize: 100, newMemberJoinTimeoutMs: 300_000, ...o.config },
    log: silentLogger,
    newMemberId: (prefix) => `${prefix}-${++ids}`,
    store: (group, assignments, done) => {
      const record = group.toRecord(assignments);
      if ((o.storeMode ?? 'immediate') === 'immediate') {
        h.stored.push(record);
        done(0);
      } else {
        h.pendingStores.push({ record, done });
      }
    },
    onRebalance: () => h.rebalances++,
  });
  return h;
}

/** A consumer's protocols: its subscription under each assignor name, in preference order. */
export function consumerProtocols(names: string[] = ['range'], topics: string[] = ['t']): Protocol[] {
  return names.map((name) => ({ name, metadata: encodeSubscription({ topics }) }));
}

export function joinRequest(o: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId: '',
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: 20_000,
    sessionTimeoutMs: 10_000,
    protocolType: 'consumer',
    protocols: consumerProtocols(),
    requireKnownMemberId: true,
    supportSkippingAssignment: true,
    reason: null,
    ...o,
  };
}

/** A JoinGroup whose answer may come now or later: `result` is set when it does. */
export function join(h: Harness, o: Partial<JoinRequest> = {}): { result: JoinResult | null } {
  const box: { result: JoinResult | null } = { result: null };
  h.group.join(joinRequest(o), (r) => {
    if (box.result) throw new Error('JoinGroup answered twice');
    box.result = r;
  });
  return box;
}

export function sync(
  h: Harness,
  o: Partial<SyncRequest> & Pick<SyncRequest, 'memberId' | 'generationId'>,
): { result: SyncResult | null } {
  const box: { result: SyncResult | null } = { result: null };
  h.group.sync(
    { groupInstanceId: null, protocolType: null, protocolName: null, assignments: new Map(), ...o },
    (r) => {
      if (box.result) throw new Error('SyncGroup answered twice');
      box.result = r;
    },
  );
  return box;
}

/** A dynamic member's first join from v4: MEMBER_ID_REQUIRED, then the join with the id given. */
export function joinWithId(
  h: Harness,
  o: Partial<JoinRequest> = {},
): { memberId: string; box: { result: JoinResult | null } } {
  const first = join(h, { ...o, memberId: '' });
  if (first.result?.errorCode !== 79)
    throw new Error(`expected MEMBER_ID_REQUIRED, got ${first.result?.errorCode}`);
  const memberId = first.result.memberId;
  return { memberId, box: join(h, { ...o, memberId }) };
}

export function assignmentOf(partitions: number[], topic = 't'): Buffer {
  return encodeAssignment({ assignedPartitions: [{ topic, partitions }] });
}
