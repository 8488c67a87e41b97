/**
 * A member of a classic group and what the group needs to know of it: the protocols it supports
 * (in its order of preference, each with its metadata — for consumers, the subscription), its
 * timeouts, its assignment, and the JoinGroup / SyncGroup responses it is waiting for.
 *
 * Protocol selection follows Kafka: the candidates are the protocols every member supports; each
 * member votes for the first candidate in its own preference order; the most votes win. Ties go to
 * the candidate voted for by the member that joined first, so the choice is deterministic.
 */
import { EMPTY_BUFFER } from '../../protocol/primitives/index.ts';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

/** What a JoinGroup answer carries, before it is shaped to the request's version. */
export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  /** Every member with its metadata for the selected protocol: for the leader only. */
  members: Array<{ memberId: string; groupInstanceId: string | null; metadata: Buffer }>;
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export type JoinCallback = (result: JoinResult) => void;
export type SyncCallback = (result: SyncResult) => void;

export function joinError(memberId: string, errorCode: number): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export function syncError(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BUFFER };
}

export interface MemberInit {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
}

export class GroupMember {
  memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  readonly protocolType: string;
  protocols: Protocol[];
  assignment: Buffer = EMPTY_BUFFER;
  /** Set while its JoinGroup waits for the rebalance to complete. */
  joinCallback: JoinCallback | null = null;
  /** Set while its SyncGroup waits for the leader's assignment. */
  syncCallback: SyncCallback | null = null;
  /**
   * A member that has not yet received its first JoinGroup answer: it cannot heartbeat, so it is
   * held to the new-member join timeout rather than its session timeout.
   */
  isNew = false;

  constructor(init: MemberInit) {
    this.memberId = init.memberId;
    this.groupInstanceId = init.groupInstanceId;
    this.clientId = init.clientId;
    this.clientHost = init.clientHost;
    this.rebalanceTimeoutMs = init.rebalanceTimeoutMs;
    this.sessionTimeoutMs = init.sessionTimeoutMs;
    this.protocolType = init.protocolType;
    this.protocols = init.protocols;
  }

  get isStatic(): boolean {
    return this.groupInstanceId !== null;
  }

  get awaitingJoin(): boolean {
    return this.joinCallback !== null;
  }

  get awaitingSync(): boolean {
    return this.syncCallback !== null;
  }

  /** The metadata this member gave for `protocol` (empty when it gave none). */
  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BUFFER;
  }

  /** Whether `protocols` is exactly what this member sent last time (names, order and metadata). */
  matches(protocols: readonly Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every(
      (p, i) => p.name === this.protocols[i].name && p.metadata.equals(this.protocols[i].metadata),
    );
  }

  /** The first of `candidates` in this member's order of preference. */
  vote(candidates: ReadonlySet<string>): string | undefined {
    return this.protocols.find((p) => candidates.has(p.name))?.name;
  }

  /** Sends the pending JoinGroup answer, if any; true when there was one. */
  completeJoin(result: JoinResult): boolean {
    const cb = this.joinCallback;
    if (!cb) return false;
    this.joinCallback = null;
    cb(result);
    return true;
  }

  /** Sends the pending SyncGroup answer, if any; true when there was one. */
  completeSync(result: SyncResult): boolean {
    const cb = this.syncCallback;
    if (!cb) return false;
    this.syncCallback = null;
    cb(result);
    return true;
  }
}

/** Distinct protocol names, in order; a member naming one twice counts once. */
export function protocolNames(protocols: readonly Protocol[]): Set<string> {
  return new Set(protocols.map((p) => p.name));
}

/** The protocols every one of `members` supports. */
export function commonProtocols(members: Iterable<GroupMember>): Set<string> {
  const [first, ...rest] = [...members].map((m) => protocolNames(m.protocols));
  if (first === undefined) return new Set();
  return new Set([...first].filter((name) => rest.every((names) => names.has(name))));
}

/**
 * The protocol the group will use: the most-voted of the protocols all members support. Throws
 * when there is none, which the join checks make impossible for a non-empty group.
 */
export function selectProtocol(members: readonly GroupMember[]): string {
  const candidates = commonProtocols(members);
  const votes = new Map<string, number>();
  for (const m of members) {
    const choice = m.vote(candidates);
    if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
  }
  let best: string | null = null;
  let bestVotes = 0;
  // Map iteration follows first vote, i.e. member join order: ties go to the earliest joiner's pick.
  for (const [name, n] of votes) {
    if (n > bestVotes) {
      best = name;
      bestVotes = n;
    }
  }
  if (best === null) throw new Error('no protocol is supported by every member');
  return best;
}
