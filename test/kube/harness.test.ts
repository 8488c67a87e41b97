import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBinDir, pinnedVersions, startControlPlane } from './harness.ts';
import { useControlPlane } from './use-control-plane.ts';

// No skipping: without the binaries beforeAll fails, saying to run hack/kube/build.sh.
const plane = useControlPlane({ controllerManager: true });

/** GET through nothing but what the kubeconfig file says (server, CA, token). */
function getWithKubeconfig(kubeconfigPath: string, path: string): Promise<{ status: number; body: string }> {
  const text = readFileSync(kubeconfigPath, 'utf8');
  const field = (name: string): string => {
    const m = new RegExp(`^\\s*${name}:\\s*(\\S+)\\s*$`, 'm').exec(text);
    if (!m) throw new Error(`kubeconfig has no ${name}`);
    return m[1];
  };
  const server = new URL(path, field('server'));
  const ca = Buffer.from(field('certificate-authority-data'), 'base64').toString();
  return new Promise((resolve, reject) => {
    request(server, { ca, headers: { authorization: `Bearer ${field('token')}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('kube control plane harness', () => {
  it('answers /readyz to a client that knows only the kubeconfig', async () => {
    const r = await getWithKubeconfig(plane().kubeconfigPath, '/readyz?verbose');
    expect(r.status).toBe(200);
    expect(r.body).toContain('readyz check passed');
  });

  const kubectl = join(defaultBinDir(), 'kubectl');
  it('works with kubectl, which reports the pinned version', () => {
    if (!existsSync(kubectl)) throw new Error(`${kubectl} is missing: run hack/kube/build.sh`);
    const run = (...args: string[]): string =>
      execFileSync(kubectl, ['--kubeconfig', plane().kubeconfigPath, ...args], { encoding: 'utf8' });
    expect(run('get', '--raw', '/readyz')).toBe('ok');
    const version = JSON.parse(run('version', '-o', 'json')) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toBe(pinnedVersions().kubernetes);
  });

  it('creates a ConfigMap and reads it back through the REST API', async () => {
    const created = await plane().request('POST', '/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'harness-check' },
      data: { greeting: 'hello' },
    });
    expect(created.status).toBe(201);
    const read = await plane().request('GET', '/api/v1/namespaces/default/configmaps/harness-check');
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ metadata: { name: 'harness-check' }, data: { greeting: 'hello' } });
  });

  it('runs the garbage collector in kube-controller-manager', async () => {
    const owner = await plane().request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: { name: 'gc-owner' },
    });
    expect(owner.status).toBe(201);
    const uid = (owner.json as { metadata: { uid: string } }).metadata.uid;
    const dependent = await plane().request('POST', '/api/v1/namespaces/default/configmaps', {
      metadata: {
        name: 'gc-dependent',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'gc-owner', uid }],
      },
    });
    expect(dependent.status).toBe(201);
    const deleted = await plane().request('DELETE', '/api/v1/namespaces/default/configmaps/gc-owner');
    expect(deleted.status).toBe(200);
    await eventually('the dependent to be collected', async () => {
      const r = await plane().request('GET', '/api/v1/namespaces/default/configmaps/gc-dependent');
      return r.status === 404;
    });
  }, 90_000);

  it.each([
    ['gracefully', false],
    ['after a SIGKILL', true],
  ])(
    'restarts the API server %s on the same address, keeping the data',
    async (_how, kill) => {
      await plane().restartApiServer({ kill });
      const r = await getWithKubeconfig(
        plane().kubeconfigPath,
        '/api/v1/namespaces/default/configmaps/harness-check',
      );
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ data: { greeting: 'hello' } });
    },
    90_000,
  );

  it('stops every process and removes its directory', async () => {
    const { dir } = plane();
    const pids = Object.values(plane().pids());
    expect(pids).toHaveLength(3);
    await plane().stop();
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code !== 'ESRCH';
      }
    };
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 60_000);

  it('fails with a message naming the build script when the binaries are missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tributary-kube-empty-'));
    try {
      await expect(startControlPlane({ binDir: empty })).rejects.toThrow(/hack\/kube\/build\.sh/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
