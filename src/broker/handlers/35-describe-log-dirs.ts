/**
 * DescribeLogDirs (key 35), versions 0–4: this broker's log dir (its one `log.dirs`) with the
 * partitions in it, each with its size on disk and offset lag — what `kafka-log-dirs --describe`,
 * disk dashboards and rebalancers read.
 *
 * v1 is v0 (throttling reported differently); v2 is the first flexible version; v3 adds a top-level
 * errorCode (Kafka sets it only for CLUSTER_AUTHORIZATION_FAILED, and we have no authorization); v4
 * adds the volume's totalBytes and usableBytes (KIP-827).
 *
 * As in Kafka's ReplicaManager.describeLogDirs: null topics asks for every partition here; a topic or
 * partition that is not here is simply absent, and so is a topic none of whose partitions was asked
 * for. The dir is reported by its absolute path. offsetLag is Kafka's max(high watermark − log end,
 * 0) for a current log, -1 when the partition is not hosted (a log not yet or no longer placed here
 * by the image). Kafka meant the field for AlterReplicaLogDirs' future logs (isFutureKey, which
 * Tributary never has); for a current log it is 0 on leaders and followers alike, because a high
 * watermark never passes its log end — a follower's lag behind its leader is not what it carries.
 *
 * Kafka takes a whole dir offline on an I/O error in any of its logs and answers KAFKA_STORAGE_ERROR
 * for it, without topics or sizes. Tributary takes single logs offline (docs/adr/0016), yet its dir is
 * one volume: a dir holding an offline log is answered as Kafka would, so that tools read its
 * replicas as offline (kafka-reassign-partitions and Admin.describeReplicaLogDirs skip such a dir).
 */
import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ErrorCode } from '../../protocol/error-codes.ts';
import type { DescribeLogDirsRequest } from '../../protocol/messages/describe-log-dirs-request.ts';
import {
  type DescribeLogDirsResult,
  type DescribeLogDirsTopic,
  DescribeLogDirsResponse,
} from '../../protocol/messages/describe-log-dirs-response.ts';
import { ApiKey } from '../../protocol/messages/index.ts';
import type { PartitionLog } from '../../storage/partition-log.ts';
import type { Handler } from '../handler.ts';
import type { BrokerServices } from '../services.ts';

/** Kafka's DescribeLogDirsResponse.INVALID_OFFSET_LAG: the partition is not hosted here. */
const INVALID_OFFSET_LAG = -1n;

export interface VolumeSpace {
  totalBytes: bigint;
  usableBytes: bigint;
}

/** The volume holding `dir`: its size and what an unprivileged writer may still use (f_bavail). */
export async function volumeSpace(dir: string): Promise<VolumeSpace> {
  const s = await statfs(dir, { bigint: true });
  return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize };
}

export function describeLogDirsHandler(
  s: BrokerServices,
  volume: (dir: string) => Promise<VolumeSpace> = volumeSpace,
): Handler<DescribeLogDirsRequest, DescribeLogDirsResponse> {
  return {
    apiKey: ApiKey.DescribeLogDirs,
    minVersion: 0,
    maxVersion: 4,
    async handle(ctx, request) {
      const dir = resolve(s.config.dataDir);
      return {
        ...DescribeLogDirsResponse.defaults(),
        results: [await describeDir(s, dir, asked(request), volume, ctx.log)],
      };
    },
  };
}

/** Whether a partition was asked for; null topics asks for all of them. */
function asked(request: DescribeLogDirsRequest): (topic: string, partition: number) => boolean {
  if (request.topics === null) return () => true;
  const wanted = new Set(request.topics.flatMap((t) => t.partitions.map((p) => `${t.topic}\0${p}`)));
  return (topic, partition) => wanted.has(`${topic}\0${partition}`);
}

async function describeDir(
  s: BrokerServices,
  dir: string,
  wanted: (topic: string, partition: number) => boolean,
  volume: (dir: string) => Promise<VolumeSpace>,
  log: BrokerServices['log'],
): Promise<DescribeLogDirsResult> {
  const failed: DescribeLogDirsResult = {
    errorCode: ErrorCode.KAFKA_STORAGE_ERROR,
    logDir: dir,
    topics: [],
    totalBytes: -1n,
    usableBytes: -1n,
  };
  const logs = s.replicas.localLogs();
  const offline = logs.filter((l) => l.offline);
  if (offline.length > 0) {
    log.warn(
      { logDir: dir, offline: offline.map((l) => `${l.topic}-${l.partition}`) },
      `Answered KAFKA_STORAGE_ERROR for log dir ${dir}: ${offline.length} of its logs are offline`,
    );
    return failed;
  }
  let space: VolumeSpace;
  try {
    space = await volume(dir);
  } catch (err) {
    // Kafka would have taken the dir offline at the I/O error that makes statfs fail.
    log.warn({ logDir: dir, err }, `Answered KAFKA_STORAGE_ERROR for log dir ${dir}: statfs failed`);
    return failed;
  }
  return { errorCode: ErrorCode.NONE, logDir: dir, topics: topicsOf(s, logs, wanted), ...space };
}

function topicsOf(
  s: BrokerServices,
  logs: readonly PartitionLog[],
  wanted: (topic: string, partition: number) => boolean,
): DescribeLogDirsTopic[] {
  const byTopic = new Map<string, DescribeLogDirsTopic>();
  for (const l of logs) {
    if (!wanted(l.topic, l.partition)) continue;
    let topic = byTopic.get(l.topic);
    if (!topic) byTopic.set(l.topic, (topic = { name: l.topic, partitions: [] }));
    topic.partitions.push({
      partitionIndex: l.partition,
      partitionSize: BigInt(l.sizeInBytes()),
      offsetLag: s.replicas.replica(l.topic, l.partition)
        ? BigInt(Math.max(l.highWatermark - l.logEndOffset, 0))
        : INVALID_OFFSET_LAG,
      isFutureKey: false,
    });
  }
  for (const t of byTopic.values()) t.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex);
  return [...byTopic.values()].sort((a, b) => a.name.localeCompare(b.name));
}
