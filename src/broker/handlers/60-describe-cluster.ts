/**
 * DescribeCluster (key 60), versions 0–1: the brokers, the cluster id and the controller, as the
 * Java admin client's describeCluster() asks for them (it prefers this to Metadata).
 *
 * v0 is the first flexible version; v1 adds endpointType (1 = brokers, 2 = controllers). A broker
 * describes brokers only: asking it for controllers gets MISMATCHED_ENDPOINT_TYPE, an unknown type
 * UNSUPPORTED_ENDPOINT_TYPE (INVALID_REQUEST in v0, which has neither code), as in Kafka.
 */
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { DescribeClusterRequest } from '../../protocol/messages/describe-cluster-request.ts';
import { DescribeClusterResponse } from '../../protocol/messages/describe-cluster-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import { CLUSTER_OPERATIONS, NOT_REQUESTED } from '../authorized-operations.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

const BROKERS = 1;
const CONTROLLERS = 2;

export function describeClusterHandler(
  s: BrokerServices,
): Handler<DescribeClusterRequest, DescribeClusterResponse> {
  return {
    apiKey: ApiKey.DescribeCluster,
    minVersion: 0,
    maxVersion: 1,
    handle(ctx, request) {
      const response = DescribeClusterResponse.defaults();
      if (request.endpointType !== BROKERS) {
        const known = request.endpointType === CONTROLLERS;
        response.errorCode =
          ctx.apiVersion === 0
            ? ErrorCode.INVALID_REQUEST
            : known
              ? ErrorCode.MISMATCHED_ENDPOINT_TYPE
              : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE;
        response.errorMessage = known
          ? 'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER'
          : `Unsupported endpoint type ${request.endpointType}`;
        return response;
      }
      const image = s.metadata();
      return {
        ...response,
        endpointType: BROKERS,
        clusterId: image.clusterId,
        controllerId: image.brokers.some((b) => b.nodeId === image.controllerId) ? image.controllerId : -1,
        brokers: image.brokers.map((b) => ({ brokerId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
        clusterAuthorizedOperations: request.includeClusterAuthorizedOperations
          ? CLUSTER_OPERATIONS
          : NOT_REQUESTED,
      };
    },
  };
}
