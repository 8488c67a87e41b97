/**
 * What travels between ./http-link.ts (the broker's end) and ./http-server.ts (the controller's):
 * the route paths, the image as JSON (maps as arrays) and the lines of the image stream. Kept apart
 * so that both ends agree by construction and neither imports the other.
 */
import type { WireImage } from './api.ts';
import { indexTopics, type MetadataImage } from './image.ts';

export const ROUTES = {
  register: '/v1/brokers/register',
  heartbeat: '/v1/brokers/heartbeat',
  alterPartition: '/v1/partitions/alter',
  electLeaders: '/v1/partitions/elect-leaders',
  alterReassignments: '/v1/partitions/alter-reassignments',
  listReassignments: '/v1/partitions/list-reassignments',
  createTopic: '/v1/topics/create',
  deleteTopic: '/v1/topics/delete',
  createPartitions: '/v1/topics/create-partitions',
  alterConfigs: '/v1/topics/alter-configs',
  producerIds: '/v1/producer-ids',
  images: (nodeId: number, brokerEpoch: number) => `/v1/brokers/${nodeId}/images?brokerEpoch=${brokerEpoch}`,
} as const;

export const NDJSON = 'application/x-ndjson';

/**
 * One line of `GET /v1/brokers/:nodeId/images`: an image, a keep-alive (so both ends notice a
 * silent connection), or a refusal to open the stream (the broker epoch is not the registered one:
 * the broker must register again), after which the controller ends the response.
 */
export type StreamLine =
  | { type: 'image'; image: WireImage }
  | { type: 'keepalive' }
  | { type: 'refused'; errorCode: number; errorMessage: string };

/**
 * The body of HTTP 503 on any /v1 route: no controller of the token's cluster is served at this
 * address now (a standby operator replica, or the cluster's controller is not open yet). A broker
 * tries its next controller address.
 */
export interface NotControllerBody {
  notController: true;
  message: string;
}

/** How often the controller writes a keep-alive line on an otherwise idle stream. */
export const STREAM_KEEPALIVE_MS = 2000;

export function toWireImage(image: MetadataImage): WireImage {
  const { topics, topicsById: _byId, ...rest } = image;
  return { ...rest, topics: [...topics.values()] };
}

export function fromWireImage(wire: WireImage): MetadataImage {
  const { topics, ...rest } = wire;
  return { ...rest, ...indexTopics(topics) };
}
