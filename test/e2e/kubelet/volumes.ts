/**
 * A pod's volumes as directories: ConfigMap and Secret volumes written as files (items, mode,
 * defaultMode), emptyDir as an empty directory, a PersistentVolumeClaim as the directory of the
 * volume bound to it (a hostPath or local PV: see provisioner.ts), hostPath as itself. Contents are
 * written once, when the pod starts (the kubelet's later refresh of ConfigMap contents is not
 * imitated). Projected and downwardAPI volumes are not supported.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type {
  ConfigMap,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  Secret,
} from 'kubernetes-types/core/v1.js';
import type { Api } from './api.ts';
import type { DataReader, MappedMount } from './container-spec.ts';
import type { Container } from 'kubernetes-types/core/v1.js';

/** A reader of ConfigMaps and Secrets through `api`, decoding binaryData and Secret data. */
export function dataReader(api: Api): DataReader {
  return async (kind, namespace, name) => {
    const obj = await api.must<ConfigMap & Secret>(
      'GET',
      `/api/v1/namespaces/${namespace}/${kind}/${name}`,
      undefined,
      {
        allow: [404],
      },
    );
    if (!obj) return undefined;
    const out: Record<string, string> = {};
    const decode = (v: string): string => Buffer.from(v, 'base64').toString('utf8');
    if (kind === 'secrets') {
      for (const [k, v] of Object.entries(obj.data ?? {})) out[k] = decode(v);
      for (const [k, v] of Object.entries(obj.stringData ?? {})) out[k] = v;
    } else {
      for (const [k, v] of Object.entries(obj.data ?? {})) out[k] = v;
      for (const [k, v] of Object.entries(obj.binaryData ?? {})) out[k] = decode(v);
    }
    return out;
  };
}

/** Thrown while a volume cannot be made yet (a missing ConfigMap, an unbound claim): try again. */
export class VolumeNotReady extends Error {}

/**
 * Every volume of `pod`, by name → its directory here. ConfigMap, Secret and emptyDir volumes go
 * under `podDir/volumes/`; claims resolve to their PV's path.
 */
export async function prepareVolumes(
  pod: Pod,
  podDir: string,
  api: Api,
  read: DataReader,
): Promise<Map<string, string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const dirs = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    const dir = join(podDir, 'volumes', v.name);
    if (v.configMap || v.secret) {
      const kind = v.configMap ? 'configmaps' : 'secrets';
      const name = v.configMap?.name ?? v.secret?.secretName ?? '';
      const source = v.configMap ?? v.secret!;
      const data = await read(kind, ns, name);
      if (!data && !source.optional) throw new VolumeNotReady(`${kind} ${ns}/${name} not found`);
      writeFiles(dir, data ?? {}, source.items, source.defaultMode ?? 0o644);
      dirs.set(v.name, dir);
    } else if (v.emptyDir) {
      mkdirSync(dir, { recursive: true });
      dirs.set(v.name, dir);
    } else if (v.persistentVolumeClaim) {
      dirs.set(v.name, await claimDirectory(api, ns, v.persistentVolumeClaim.claimName));
    } else if (v.hostPath) {
      dirs.set(v.name, v.hostPath.path);
    } else {
      throw new Error(
        `volume ${v.name}: the kubelet stand-in supports configMap, secret, emptyDir, persistentVolumeClaim and hostPath`,
      );
    }
  }
  return dirs;
}

/** The container's mounts as mount path → directory (or file, with subPath) here. */
export function containerMounts(container: Container, volumes: Map<string, string>): MappedMount[] {
  return (container.volumeMounts ?? []).map((m) => {
    const dir = volumes.get(m.name);
    if (dir === undefined) throw new Error(`volumeMount ${m.name}: no such volume`);
    return { mountPath: m.mountPath, hostPath: m.subPath ? join(dir, m.subPath) : dir };
  });
}

function writeFiles(
  dir: string,
  data: Record<string, string>,
  items: { key: string; path: string; mode?: number }[] | undefined,
  defaultMode: number,
): void {
  // Written afresh each time: a mode such as 0400 would refuse an overwrite.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
  for (const item of files) {
    if (!(item.key in data)) throw new VolumeNotReady(`key ${item.key} not found`);
    const file = join(dir, item.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, data[item.key]);
    chmodSync(file, item.mode ?? defaultMode);
  }
}

async function claimDirectory(api: Api, ns: string, claim: string): Promise<string> {
  const pvc = await api.must<PersistentVolumeClaim>(
    'GET',
    `/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`,
    undefined,
    {
      allow: [404],
    },
  );
  const volumeName = pvc?.spec?.volumeName;
  if (!volumeName || pvc?.status?.phase !== 'Bound')
    throw new VolumeNotReady(`claim ${ns}/${claim} is not bound`);
  const pv = await api.must<PersistentVolume>('GET', `/api/v1/persistentvolumes/${volumeName}`);
  const path = pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path;
  if (!path) throw new Error(`volume ${volumeName} of claim ${ns}/${claim} is neither hostPath nor local`);
  mkdirSync(path, { recursive: true });
  return path;
}
