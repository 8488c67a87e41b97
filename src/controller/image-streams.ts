/**
 * The open image streams of the controller HTTP API (./http-server.ts, docs/adr/0015), one per
 * broker, grouped by the controller that accepted them. A stream is its broker's session: when its
 * connection closes without a completed controlled shutdown, that controller is told the broker is
 * lost. A server may serve many clusters, one controller each, picked by the token a request
 * carries; when a token stops reaching the controller that accepted a stream (that controller was
 * closed, or this process lost the leadership), the stream is ended so its broker finds the
 * controller again — and not reported lost, since the controller that would fence it is gone.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { Logger } from '../common/logger.ts';
import { ErrorCode } from '../protocol/error-codes.ts';
import type { ControllerService } from './api.ts';
import { isNewer, type MetadataImage } from './image.ts';
import { NDJSON, type StreamLine, toWireImage } from './http-wire.ts';

export interface OpenStream {
  nodeId: number;
  brokerEpoch: number;
  reply: FastifyReply;
  remoteAddress: string;
}

interface Stream {
  nodeId: number;
  brokerEpoch: number;
  res: ServerResponse;
  /** Ended by the controller itself (superseded, refused, shutting down): not a lost broker. */
  endedByUs: boolean;
}

/**
 * Every open stream of a server, by cluster: `key` names the cluster (a digest of its token) and
 * each cluster's streams belong to one controller at a time.
 */
export class ImageStreamRegistry {
  readonly #log: Logger;
  readonly #keepAliveMs: number;
  readonly #onCountChange: (n: number) => void;
  readonly #byCluster = new Map<string, ImageStreams>();
  #count = 0;
  #closing = false;

  constructor(o: { log: Logger; keepAliveMs: number; onCountChange: (n: number) => void }) {
    this.#log = o.log;
    this.#keepAliveMs = o.keepAliveMs;
    this.#onCountChange = o.onCountChange;
  }

  /**
   * A request for cluster `key` now reaches `service` (null: no controller, refused or standby):
   * streams of that cluster accepted by another controller end.
   */
  routed(key: string, service: ControllerService | null): void {
    const streams = this.#byCluster.get(key);
    if (streams && streams.service !== service) this.#retire(key, streams);
  }

  /**
   * Opens a stream for `key`'s cluster on `service`. `stillRouted` is asked at every keep-alive
   * whether the cluster still reaches that controller, so streams end even when no other request of
   * the cluster arrives.
   */
  open(o: OpenStream & { key: string; service: ControllerService; stillRouted: () => boolean }): void {
    this.routed(o.key, o.service);
    let streams = this.#byCluster.get(o.key);
    if (!streams) {
      streams = new ImageStreams({
        service: o.service,
        log: this.#log,
        keepAliveMs: this.#keepAliveMs,
        stillRouted: o.stillRouted,
        onRetired: () => this.#retire(o.key, streams!),
        onCountChange: (delta) => this.#changeCount(o.key, streams!, delta),
      });
      this.#byCluster.set(o.key, streams);
    }
    if (this.#closing) streams.refuse(o, 'The controller is shutting down');
    else streams.open(o);
  }

  shutdownCompleted(key: string, service: ControllerService, nodeId: number, brokerEpoch: number): void {
    const streams = this.#byCluster.get(key);
    if (streams?.service === service) streams.shutdownCompleted(nodeId, brokerEpoch);
  }

  /** The server is stopping: end every stream without reporting its broker lost. */
  closeAll(): void {
    this.#closing = true;
    for (const streams of this.#byCluster.values()) streams.endAll();
  }

  #retire(key: string, streams: ImageStreams): void {
    if (this.#byCluster.get(key) === streams) this.#byCluster.delete(key);
    if (streams.size > 0) {
      this.#log.info(
        { streams: streams.size },
        'Ended the image streams of a controller that no longer serves their cluster',
      );
    }
    streams.endAll();
  }

  #changeCount(key: string, streams: ImageStreams, delta: number): void {
    this.#count += delta;
    this.#onCountChange(this.#count);
    // An idle cluster keeps nothing here: its next stream starts afresh.
    if (streams.size === 0 && this.#byCluster.get(key) === streams) this.#byCluster.delete(key);
  }
}

/**
 * The image streams of one controller, one per broker. Each stream writes only images newer than
 * the last it wrote; when the broker reads slowly, only the newest waiting image is kept (an image
 * is a whole snapshot, so skipping one in between loses nothing).
 */
class ImageStreams {
  readonly service: ControllerService;
  readonly #log: Logger;
  readonly #keepAliveMs: number;
  readonly #stillRouted: () => boolean;
  readonly #onRetired: () => void;
  readonly #onCountChange: (delta: number) => void;
  readonly #byNode = new Map<number, Stream>();
  /** Broker epochs told `shutdownReady`, by node: their stream's close is the expected exit. */
  readonly #shutDown = new Map<number, number>();
  /** Each image serialised once, however many brokers it goes to. */
  readonly #lines = new WeakMap<MetadataImage, string>();

  constructor(o: {
    service: ControllerService;
    log: Logger;
    keepAliveMs: number;
    stillRouted: () => boolean;
    onRetired: () => void;
    onCountChange: (delta: number) => void;
  }) {
    this.service = o.service;
    this.#log = o.log;
    this.#keepAliveMs = o.keepAliveMs;
    this.#stillRouted = o.stillRouted;
    this.#onRetired = o.onRetired;
    this.#onCountChange = o.onCountChange;
  }

  get size(): number {
    return this.#byNode.size;
  }

  shutdownCompleted(nodeId: number, brokerEpoch: number): void {
    this.#shutDown.set(nodeId, brokerEpoch);
  }

  /** Answers the stream with one refusal line and ends it. */
  refuse(o: OpenStream, errorMessage: string, errorCode: number = ErrorCode.NOT_CONTROLLER): void {
    const res = this.#begin(o.reply);
    const line: StreamLine = { type: 'refused', errorCode, errorMessage };
    res.end(JSON.stringify(line) + '\n');
  }

  open(o: OpenStream): void {
    const { nodeId, brokerEpoch } = o;
    const log = this.#log.child({ nodeId, brokerEpoch });
    const registered = this.service.image().registrations.find((r) => r.nodeId === nodeId);
    if (!registered || registered.brokerEpoch !== brokerEpoch) {
      return registered
        ? this.refuse(
            o,
            `Broker ${nodeId} is registered with epoch ${registered.brokerEpoch}, not ${brokerEpoch}: register again`,
            ErrorCode.STALE_BROKER_EPOCH,
          )
        : this.refuse(o, `Broker ${nodeId} is not registered`, ErrorCode.BROKER_ID_NOT_REGISTERED);
    }
    const res = this.#begin(o.reply);

    const previous = this.#byNode.get(nodeId);
    if (previous) {
      previous.endedByUs = true;
      previous.res.end();
    }
    const stream: Stream = { nodeId, brokerEpoch, res, endedByUs: false };
    this.#byNode.set(nodeId, stream);
    this.#shutDown.delete(nodeId);
    if (!previous) this.#onCountChange(1);

    let last: MetadataImage | null = null;
    let waiting: MetadataImage | null = null;
    const send = (image: MetadataImage): void => {
      if (last && !isNewer(image, last)) return;
      if (res.writableNeedDrain) {
        waiting = image;
        return;
      }
      last = image;
      res.write(this.#lineOf(image));
    };
    res.on('drain', () => {
      const next = waiting;
      waiting = null;
      if (next) send(next);
    });
    const unsubscribe = this.service.onImage(send);
    send(this.service.image());
    const keepAlive = setInterval(() => {
      if (!this.#stillRouted()) return this.#onRetired();
      if (!res.writableNeedDrain) res.write('{"type":"keepalive"}\n');
    }, this.#keepAliveMs);
    log.info({ remoteAddress: o.remoteAddress }, 'Broker connected to the image stream');

    res.on('close', () => {
      clearInterval(keepAlive);
      unsubscribe();
      if (this.#byNode.get(nodeId) === stream) {
        this.#byNode.delete(nodeId);
        this.#onCountChange(-1);
      }
      if (stream.endedByUs) return;
      // Either way the broker is gone and is fenced now, so clients stop being sent to it; after a
      // controlled shutdown it leads nothing any more, so the fencing moves nothing.
      let reason = 'connection closed';
      if (this.#shutDown.get(nodeId) === brokerEpoch) {
        this.#shutDown.delete(nodeId);
        log.info('Broker closed its image stream after its controlled shutdown');
        reason = 'stopped after its controlled shutdown';
      } else {
        log.warn('Broker lost: its image stream closed without a controlled shutdown');
      }
      this.service.brokerLost(nodeId, brokerEpoch, reason).catch((err: unknown) => {
        log.error({ err }, 'Could not fence a lost broker');
      });
    });
  }

  /** Ends every stream without reporting its broker lost. */
  endAll(): void {
    for (const s of this.#byNode.values()) {
      s.endedByUs = true;
      s.res.end();
    }
  }

  #begin(reply: FastifyReply): ServerResponse {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': NDJSON, 'cache-control': 'no-store' });
    res.socket?.setNoDelay(true);
    return res;
  }

  #lineOf(image: MetadataImage): string {
    let line = this.#lines.get(image);
    if (line === undefined) {
      const l: StreamLine = { type: 'image', image: toWireImage(image) };
      line = JSON.stringify(l) + '\n';
      this.#lines.set(image, line);
    }
    return line;
  }
}
