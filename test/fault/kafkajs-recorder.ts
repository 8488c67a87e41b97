/**
 * Records a kafkajs consumer group member into a {@link History}: its assignment after each join,
 * each record handed to it, and each commit that succeeded — so the history checker can judge the
 * group (no member going back, commits honoured after a rebalance, no partition owned twice).
 *
 * It listens to the consumer's instrumentation events. kafkajs 2.2.4's GROUP_JOIN carries the member
 * id and its assignment but not the generation (consumer/consumerGroup.js builds the payload without
 * it); HEARTBEAT and COMMIT_OFFSETS carry it. So an assignment is recorded, with the time of the join,
 * once the member's next heartbeat or commit names a generation above the one it had before (a
 * heartbeat sent before the join may answer after it) — or without a generation (not compared with
 * other members' assignments) if the member joins again first, or when `stop()` is called. The
 * records a member consumes carry its join count (1, 2, …) as their generation: that is what scopes
 * "offsets go up within a generation", and the consumer knows it when the record arrives.
 *
 * Times are per member and never go back: a join is timed after the last record the member's previous
 * generation consumed (a batch may finish in the millisecond the rebalance ends), and what the member
 * does next at least a millisecond after the join, so each record and commit falls on the right side
 * of the assignment, though the assignment is recorded after them.
 */
import type { Consumer, KafkaMessage } from 'kafkajs';
import type { History } from './history.ts';

export interface ConsumerRecorder {
  /** Call from eachMessage (or for each message of an eachBatch batch): the record id is the `id` header. */
  consumed(partition: number, message: KafkaMessage): void;
  /** The member id after the first join. */
  member(): string | undefined;
  /** How many times the member joined. */
  joins(): number;
  /** Records a join whose generation is still unknown, and stops listening. */
  stop(): void;
}

export function recordConsumerGroup(o: {
  consumer: Consumer;
  history: History;
  group: string;
  topic: string;
  /** ms since the epoch; Date.now by default. */
  now?: () => number;
}): ConsumerRecorder {
  const { consumer, history, group, topic } = o;
  const now = o.now ?? Date.now;
  let member: string | undefined;
  let joins = 0;
  let last = 0;
  let highest = -1; // the highest generation learned
  let pending: { member: string; partitions: number[]; at: number } | undefined;

  const flush = (generation?: number) => {
    if (!pending) return;
    history.assigned({ group, ...pending, generation });
    pending = undefined;
  };
  const learned = (memberId: string, named: number) => {
    if (pending?.member !== memberId || named <= highest) return;
    highest = named;
    flush(named);
  };

  const listeners = [
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (payload.groupId !== group) return;
      flush();
      joins++;
      member = payload.memberId;
      const at = Math.max(now(), last + 1);
      last = at + 1; // what the member does next comes after the join, however late it is recorded
      pending = { member, partitions: [...(payload.memberAssignment[topic] ?? [])], at };
    }),
    consumer.on(consumer.events.HEARTBEAT, ({ payload }) => {
      if (payload.groupId === group) learned(payload.memberId, payload.groupGenerationId);
    }),
    consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
      if (payload.groupId !== group) return;
      learned(payload.memberId, payload.groupGenerationId);
      const at = (last = Math.max(now(), last));
      for (const t of payload.topics) {
        if (t.topic !== topic) continue;
        for (const p of t.partitions) {
          const { memberId, groupGenerationId: generation } = payload;
          history.commit(group, p.partition, BigInt(p.offset), { member: memberId, generation, at });
        }
      }
    }),
  ];

  return {
    consumed(partition, message) {
      if (member === undefined) throw new Error('a record consumed before the member joined its group');
      last = Math.max(now(), last);
      const id = String(message.headers?.['id']);
      const { offset } = message;
      history.consumed({ group, member, generation: joins, partition, offset: BigInt(offset), id, at: last });
    },
    member: () => member,
    joins: () => joins,
    stop() {
      flush();
      for (const remove of listeners) remove();
    },
  };
}
