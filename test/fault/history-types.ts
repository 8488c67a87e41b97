/**
 * The vocabulary of the history checker (history.ts): the kinds of problem it reports, what tests
 * record, and the events it keeps — apart, so the checks (history-records.ts, history-consumers.ts)
 * and the report table (table.ts) share them without importing the recorder.
 */

/** Every kind of problem the checker reports, in the order the report table lists them. */
export const ANOMALY_KINDS = [
  'lost', // acknowledged, never read
  'offset-mismatch', // read at another offset than acknowledged
  'duplicate', // an idempotent producer's record read at two offsets
  'conflict', // two reads of one offset gave two records
  'unknown', // read a record nobody sent
  'unacknowledged-read', // read a record whose send definitely failed
  'order', // one producer's unkeyed records of a partition stored out of send order
  'key-order', // one producer's acknowledged records of a key in two partitions, or out of send order
  'commit-regression', // a group's committed offset went back
  'consumer-backwards', // a consumer read an offset not above its last one, or below the committed one
  'split-ownership', // two members of a group owned one partition in one generation
] as const;

export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

export interface SentRecord {
  id: string;
  producer: string;
  /** Its place in the producer's sends, increasing. */
  seq: number;
  /** The partition the producer chose, when it chose one (where it was stored is what counts). */
  partition?: number;
  /** Its key: a key's acknowledged records must share a partition and keep their send order. */
  key?: string;
  /** False for an at-least-once producer, whose retries may store a record twice. Default true. */
  idempotent?: boolean;
}

export interface Problem {
  kind: AnomalyKind;
  detail: string;
}

/** A member's partitions (of the one topic) after it joined its group. */
export interface Assignment {
  group: string;
  member: string;
  /** The group generation, when the client knows it; without it the assignment is not compared. */
  generation?: number;
  partitions: number[];
  at?: number;
}

/** One record handed to a member of a consumer group. */
export interface ConsumedRecord {
  group: string;
  member: string;
  /**
   * The generation it was consumed in — or any number that changes each time the member rejoins
   * (a client that cannot see the generation numbers its joins): it scopes the "offsets increase" check.
   */
  generation: number;
  partition: number;
  offset: bigint | number;
  id: string;
  at?: number;
}

export interface HistoryReport {
  sent: number;
  acknowledged: number;
  /** Sends that failed, in doubt or definitely. */
  failed: number;
  /** Failed in doubt, or sent and never answered: they may or may not be in the log. */
  inDoubt: number;
  /** Of those in doubt, the sends never answered. */
  unanswered: number;
  /** Failed sends the client knows were not written. */
  failedDefinitely: number;
  /** Distinct records read (by id), by plain reads or consumers. */
  read: number;
  /** A non-idempotent producer's records stored at more than one offset (allowed, counted). */
  redelivered: number;
  /** Records handed to consumer group members. */
  consumed: number;
  /** Of those, records a group had been handed before (a rebalance restarting from a commit). */
  reconsumed: number;
  assignments: number;
  /** Offset commits recorded. */
  commits: number;
  problems: Problem[];
}

/** Recorded events; `n` is the order they were recorded in (ties of `at` keep it). */
export interface SendEvent extends SentRecord {
  at: number;
}
export interface AckEvent {
  partition: number;
  offset: bigint;
  at: number;
}
export interface FailEvent {
  error: string;
  definite: boolean;
  at: number;
}
export interface ReadEvent {
  id: string;
  partition: number;
  offset: bigint;
  at: number;
  n: number;
  /** Set when a consumer group member read it. */
  consumer?: { group: string; member: string; generation: number };
}
export interface AssignmentEvent extends Required<Omit<Assignment, 'generation'>> {
  generation?: number;
  n: number;
}
export interface CommitEvent {
  group: string;
  partition: number;
  offset: bigint;
  member?: string;
  generation?: number;
  at: number;
  n: number;
}

export interface Recorded {
  sent: Map<string, SendEvent>;
  acks: Map<string, AckEvent>;
  failures: Map<string, FailEvent>;
  reads: ReadEvent[];
  assignments: AssignmentEvent[];
  commits: CommitEvent[];
}

/** A time for problem details: the time of day, to the millisecond (UTC). */
export const clock = (at: number): string => new Date(at).toISOString().slice(11, 23);
