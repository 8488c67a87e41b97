/**
 * Every API the broker serves, one handler file each (named `<api key>-<api name>.ts`). A handler
 * joins the broker by being listed here.
 */
import type { Handler, HandlerRegistry } from '../handler.ts';
import { registry } from '../handler.ts';
import type { BrokerServices } from '../services.ts';
import { produceHandler } from './0-produce.ts';
import { fetchHandler } from './1-fetch.ts';
import { apiVersionsHandler } from './18-api-versions.ts';
import { createTopicsHandler } from './19-create-topics.ts';
import { deleteTopicsHandler } from './20-delete-topics.ts';
import { metadataHandler } from './3-metadata.ts';
import { describeConfigsHandler } from './32-describe-configs.ts';
import { alterConfigsHandler } from './33-alter-configs.ts';
import { describeLogDirsHandler } from './35-describe-log-dirs.ts';
import { createPartitionsHandler } from './37-create-partitions.ts';
import { incrementalAlterConfigsHandler } from './44-incremental-alter-configs.ts';
import { describeClusterHandler } from './60-describe-cluster.ts';
import { deleteRecordsHandler } from './21-delete-records.ts';
import { initProducerIdHandler } from './22-init-producer-id.ts';
import { offsetForLeaderEpochHandler } from './23-offset-for-leader-epoch.ts';
import { listOffsetsHandler } from './2-list-offsets.ts';
import { offsetCommitHandler } from './8-offset-commit.ts';
import { offsetFetchHandler } from './9-offset-fetch.ts';
import { findCoordinatorHandler } from './10-find-coordinator.ts';
import { joinGroupHandler } from './11-join-group.ts';
import { heartbeatHandler } from './12-heartbeat.ts';
import { leaveGroupHandler } from './13-leave-group.ts';
import { syncGroupHandler } from './14-sync-group.ts';
import { describeGroupsHandler } from './15-describe-groups.ts';
import { listGroupsHandler } from './16-list-groups.ts';
import { deleteGroupsHandler } from './42-delete-groups.ts';
import { electLeadersHandler } from './43-elect-leaders.ts';
import { alterPartitionReassignmentsHandler } from './45-alter-partition-reassignments.ts';
import { listPartitionReassignmentsHandler } from './46-list-partition-reassignments.ts';
import { offsetDeleteHandler } from './47-offset-delete.ts';

export function brokerHandlers(services: BrokerServices): HandlerRegistry {
  const handlers: Array<Handler<never, unknown>> = [
    // ApiVersions lists every handler, itself included, so it reads the registry at request time.
    apiVersionsHandler(() => all),
    produceHandler(services),
    initProducerIdHandler(services),
    metadataHandler(services),
    createTopicsHandler(services),
    deleteTopicsHandler(services),
    createPartitionsHandler(services),
    describeConfigsHandler(services),
    alterConfigsHandler(services),
    incrementalAlterConfigsHandler(services),
    electLeadersHandler(services),
    alterPartitionReassignmentsHandler(services),
    listPartitionReassignmentsHandler(services),
    describeClusterHandler(services),
    describeLogDirsHandler(services),
    fetchHandler(services),
    listOffsetsHandler(services),
    deleteRecordsHandler(services),
    offsetForLeaderEpochHandler(services),
    // Consumer groups (src/broker/groups).
    offsetCommitHandler(services),
    offsetFetchHandler(services),
    findCoordinatorHandler(services),
    joinGroupHandler(services),
    heartbeatHandler(services),
    leaveGroupHandler(services),
    syncGroupHandler(services),
    describeGroupsHandler(services),
    listGroupsHandler(services),
    deleteGroupsHandler(services),
    offsetDeleteHandler(services),
  ];
  void services;
  const all = registry(handlers);
  return all;
}
