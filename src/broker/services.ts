/**
 * What the broker's handlers are built from. Each handler module exports a factory taking these
 * services (`produceHandler(services)`); handlers reach storage, metadata and the controller only
 * through them, so a test can build the services over a temp directory and call a handler directly.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import type { BrokerConfig } from './config.ts';
import type { GroupCoordinator } from './groups/coordinator.ts';
import type { MetadataImage } from '../controller/image.ts';
import type { TopicAdmin } from '../controller/api.ts';
import type { ReplicaManager } from './replica-manager.ts';

export interface BrokerServices {
  config: BrokerConfig;
  clock: Clock;
  log: Logger;
  /** Where handlers register their own metrics (one registry per broker). */
  registry: Registry;
  /** The current metadata image (brokers, topics, partition leaders). */
  metadata: () => MetadataImage;
  /** Topic creation, deletion, growth and config changes, decided by the controller. */
  admin: TopicAdmin;
  /** The partitions this broker holds, and their logs. */
  replicas: ReplicaManager;
  /**
   * Aborted when the broker begins to shut down, before it drains connections: anything parked
   * (long-polling fetches, delayed joins) should answer now instead of holding the shutdown.
   */
  shutdown: AbortSignal;
  /** The consumer groups this broker coordinates (src/broker/groups). */
  groups: GroupCoordinator;
}
