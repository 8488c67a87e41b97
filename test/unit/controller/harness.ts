/** A Controller on a FakeClock and an in-memory store, with brokers that register and heartbeat on request. */
import { FakeClock } from '../../../src/common/clock.ts';
import { createLogger } from '../../../src/common/logger.ts';
import type { CreateTopicRequest, RegisterRequest } from '../../../src/controller/api.ts';
import { Controller, type ControllerSettings } from '../../../src/controller/controller.ts';
import type { MetadataImage } from '../../../src/controller/image.ts';
import { type MetadataStore, MemoryStore } from '../../../src/controller/store.ts';

export const SESSION_MS = 9000;

export const SETTINGS: ControllerSettings = {
  sessionTimeoutMs: SESSION_MS,
  numPartitions: 2,
  defaultReplicationFactor: 1,
  deleteTopicEnable: true,
  // Off unless a test is about it, so that advancing the clock elects nobody behind a test's back.
  autoLeaderRebalanceEnable: false,
  leaderImbalanceCheckIntervalMs: 300_000,
  leaderImbalancePerBrokerPercentage: 10,
};

export interface Harness {
  controller: Controller;
  clock: FakeClock;
  store: MetadataStore;
  images: MetadataImage[];
  /** The messages the controller logged. */
  logged: string[];
  epochs: Map<number, number>;
  /** Registers (as a new process unless `incarnationId` says otherwise) and heartbeats caught up. */
  join(nodeId: number, o?: Partial<RegisterRequest>): Promise<void>;
  /** One heartbeat from each of `nodeIds` under its current epoch. */
  beat(...nodeIds: number[]): Promise<void>;
}

export async function openController(
  o: { store?: MetadataStore; clock?: FakeClock; settings?: Partial<ControllerSettings> } = {},
): Promise<Harness> {
  const clock = o.clock ?? new FakeClock(1_000_000);
  const store = o.store ?? new MemoryStore();
  const logged: string[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line) => void logged.push((JSON.parse(line) as { msg: string }).msg) },
  });
  const controller = await Controller.open({
    store,
    clock,
    logger,
    settings: { ...SETTINGS, ...o.settings },
  });
  const images: MetadataImage[] = [];
  controller.onImage((image) => void images.push(image));
  const epochs = new Map<number, number>();
  const h: Harness = {
    controller,
    clock,
    store,
    images,
    logged,
    epochs,
    async join(nodeId, r = {}) {
      const answer = await controller.register({
        nodeId,
        host: 'localhost',
        port: 9092 + nodeId,
        rack: null,
        incarnationId: `inc-${nodeId}`,
        clusterId: null,
        ...r,
      });
      if (!answer.ok) throw new Error(answer.errorMessage);
      epochs.set(nodeId, answer.brokerEpoch);
      await h.beat(nodeId);
    },
    async beat(...nodeIds) {
      for (const nodeId of nodeIds) {
        const brokerEpoch = epochs.get(nodeId)!;
        const r = await controller.heartbeat({ nodeId, brokerEpoch, caughtUp: true, wantShutdown: false });
        if (!r.ok) throw new Error(r.errorMessage);
      }
    },
  };
  return h;
}

export function topicRequest(name: string, o: Partial<CreateTopicRequest> = {}) {
  return { name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: {}, ...o };
}
