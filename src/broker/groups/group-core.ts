/**
 * The state of one classic group, and the one rule about how it moves: the states each state may be
 * entered from (Kafka's validPreviousStates). The group's protocol is run by functions over this
 * state — ./join.ts (JoinGroup), ./rebalance.ts (join phase, generations, assignments),
 * ./member-requests.ts (SyncGroup, Heartbeat, LeaveGroup, commits, expiry) — and ClassicGroup
 * (./group.ts) is the only way in from outside: nothing else holds a GroupCore, so its fields,
 * though open to those modules, have one owner. Everything here is synchronous.
 */
import type { Clock, TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { GroupState } from './group-api.ts';
import { GroupMembers } from './group-members.ts';

/** The states each state may be entered from (Kafka's validPreviousStates). */
export const PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'],
};

export interface GroupConfig {
  initialRebalanceDelayMs: number;
  maxSize: number;
  /** How long a member may wait for its first JoinGroup answer (Kafka: 5 minutes). */
  newMemberJoinTimeoutMs: number;
}

/** What the core is given by its ClassicGroup: the environment, bound to that group. */
export interface GroupCoreOptions {
  groupId: string;
  clock: Clock;
  config: GroupConfig;
  /** Already the group's child logger. */
  log: Logger;
  newMemberId: (prefix: string) => string;
  /** Persists the group with these assignments; `done` gets a Kafka error code, 0 when stored. */
  store: (assignments: ReadonlyMap<string, Buffer>, done: (errorCode: number) => void) => void;
  onRebalance: () => void;
  onSessionExpired: (memberId: string) => void;
  onPendingExpired: (memberId: string) => void;
}

export class GroupCore {
  readonly groupId: string;
  readonly clock: Clock;
  readonly config: GroupConfig;
  readonly log: Logger;
  readonly newMemberId: (prefix: string) => string;
  readonly store: GroupCoreOptions['store'];
  readonly onRebalance: () => void;

  state: GroupState = 'Empty';
  stateTimestamp: number;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  subscribedTopics: Set<string> | null = null;
  readonly members: GroupMembers;
  /** Members of the current generation that have not sent SyncGroup yet. */
  readonly pendingSync = new Set<string>();
  syncTimer: TimerHandle | null = null;
  joinTimer: TimerHandle | null = null;
  /** Set while a new group waits out `group.initial.rebalance.delay.ms`. */
  initialDelay: { remainingMs: number } | null = null;
  newMemberAdded = false;

  constructor(o: GroupCoreOptions) {
    this.groupId = o.groupId;
    this.clock = o.clock;
    this.config = o.config;
    this.log = o.log;
    this.newMemberId = o.newMemberId;
    this.store = o.store;
    this.onRebalance = o.onRebalance;
    this.stateTimestamp = o.clock.now();
    this.members = new GroupMembers({
      clock: o.clock,
      onSessionExpired: o.onSessionExpired,
      onPendingExpired: o.onPendingExpired,
    });
  }

  transition(to: GroupState): void {
    if (!PREVIOUS_STATES[to].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} → ${to}`);
    }
    this.state = to;
    this.stateTimestamp = this.clock.now();
  }
}
