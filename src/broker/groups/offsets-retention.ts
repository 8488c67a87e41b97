/**
 * Offsets retention for the group coordinator: every `offsets.retention.check.interval.ms` it
 * removes the expired offsets of the groups served here (./offsets.ts has the rule), and forgets
 * the Empty groups left with no offsets, writing tombstones for both.
 */
import { type Clock, MAX_TIMER_DELAY_MS, type TimerHandle } from '../../common/clock.ts';
import type { Logger } from '../../common/logger.ts';
import type { CoordinatorConfig } from './coordinator-api.ts';
import { appendRecords, tombstones } from './coordinator-writes.ts';
import { expiredOffsets } from './offsets.ts';
import type { CoordinatorRecord } from './offsets-store.ts';
import type { OffsetsPartitions } from './ownership.ts';

export interface OffsetsRetentionOptions {
  clock: Clock;
  config: Pick<CoordinatorConfig, 'offsetsRetentionMs' | 'offsetsRetentionCheckIntervalMs'>;
  partitions: OffsetsPartitions;
  log: Logger;
}

export class OffsetsRetention {
  readonly #o: OffsetsRetentionOptions;
  #stopped = false;
  #timer: TimerHandle | null = null;

  constructor(options: OffsetsRetentionOptions) {
    this.#o = options;
  }

  /** Checks every `offsets.retention.check.interval.ms` from now on, until stopped. */
  start(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(
      () => {
        this.#timer = null;
        this.expire();
        this.start();
      },
      Math.min(this.#o.config.offsetsRetentionCheckIntervalMs, MAX_TIMER_DELAY_MS),
    );
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) this.#o.clock.clearTimeout(this.#timer);
  }

  /** Removes expired offsets, and Empty groups left with no offsets, writing tombstones for both. */
  expire(): void {
    const now = this.#o.clock.now();
    let removedOffsets = 0;
    let removedGroups = 0;
    for (const { owned, groups } of this.#o.partitions.active()) {
      const records: CoordinatorRecord[] = [];
      for (const group of groups) {
        const expired = expiredOffsets({
          offsets: group.offsets,
          state: group.state,
          protocolType: group.protocolType,
          stateTimestamp: group.stateTimestamp,
          subscribedTopics: group.subscribedTopics,
          now,
          retentionMs: this.#o.config.offsetsRetentionMs,
        });
        for (const o of expired) group.offsets.delete(o.topic, o.partition);
        removedOffsets += expired.length;
        // A group that is empty in every sense is forgotten, unless a member is about to join it.
        const forget = group.state === 'Empty' && group.offsets.size === 0 && group.pendingMemberCount === 0;
        records.push(...tombstones(group, expired, forget));
        if (forget) {
          this.#o.partitions.remove(group);
          removedGroups++;
        }
      }
      if (records.length > 0) void appendRecords(owned, records, this.#o.log);
    }
    if (removedOffsets + removedGroups > 0) {
      this.#o.log.info(
        { offsets: removedOffsets, groups: removedGroups },
        'Expired offsets and empty groups',
      );
    }
  }
}
