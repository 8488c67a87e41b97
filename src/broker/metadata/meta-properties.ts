/**
 * What a broker's data directory says about itself: `meta.properties` (as Kafka writes it) holds the
 * node id and the cluster id the logs belong to, written once the broker has joined a cluster. A
 * broker refuses a data directory written under another node id, and tells the controller the
 * cluster id it has, so a directory never silently joins another cluster.
 */
import type { Fs } from '../../storage/fs.ts';
import { writeFileAtomic } from '../../storage/fs.ts';

export const META_PROPERTIES_FILE = 'meta.properties';
/** The lone broker's controller state (src/controller/store.ts), kept in its data directory. */
export const METADATA_FILE = 'metadata.json';

interface MetaProperties {
  nodeId: number;
  clusterId: string;
}

async function read(fs: Fs, dataDir: string): Promise<MetaProperties | null> {
  const path = `${dataDir}/${META_PROPERTIES_FILE}`;
  if (!(await fs.stat(path))) return null;
  const props = new Map<string, string>();
  for (const line of (await fs.readFile(path)).toString('utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && !line.startsWith('#')) props.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const nodeId = Number(props.get('node.id'));
  const clusterId = props.get('cluster.id');
  if (!Number.isInteger(nodeId) || !clusterId) {
    throw new Error(`${path} has no node.id or cluster.id; restore it, or move the data directory away`);
  }
  return { nodeId, clusterId };
}

/** The cluster id the data directory belongs to (null when it has none yet); refuses another node's. */
export async function readClusterId(fs: Fs, dataDir: string, nodeId?: number): Promise<string | null> {
  const meta = await read(fs, dataDir);
  if (meta && nodeId !== undefined && meta.nodeId !== nodeId) {
    throw new Error(
      `${dataDir} belongs to node ${meta.nodeId}, but this broker is node.id=${nodeId}; ` +
        'start it with the node id the data was written under, or point log.dirs at another directory',
    );
  }
  return meta?.clusterId ?? null;
}

export async function writeMetaProperties(
  fs: Fs,
  dataDir: string,
  nodeId: number,
  clusterId: string,
): Promise<void> {
  const meta = await read(fs, dataDir);
  if (meta?.nodeId === nodeId && meta.clusterId === clusterId) return;
  await writeFileAtomic(
    fs,
    `${dataDir}/${META_PROPERTIES_FILE}`,
    `version=1\nnode.id=${nodeId}\ncluster.id=${clusterId}\n`,
  );
}
