/**
 * The runtime's Kubernetes client (our connections, client-node's credentials) against a real
 * kube-apiserver: every way a kubeconfig (or a pod's service account) proves who we are — bearer
 * token, client certificate, token file, exec plugin, impersonation — how it verifies the server,
 * and its watches.
 *
 * Who the server took us for is asked of the server itself (a SelfSubjectReview), so a test passes
 * only if the credential it sets up is the one that was sent.
 */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigMap, NamespaceList } from 'kubernetes-types/core/v1.js';
import type { Status } from 'kubernetes-types/meta/v1.js';
import { KubeApiError } from '../../src/operator/runtime/api-errors.ts';
import {
  KubeClient,
  loadKubeConfig,
  type KubeClientOptions,
  type RawWatchEvent,
} from '../../src/operator/runtime/client.ts';
import { inClusterConfig, type KubeConfig } from '../../src/operator/runtime/kubeconfig.ts';
import { selfSignedCa, signClientCertificate, type IssuedCertificate } from './harness.ts';
import { eventually, must, namespace, widgetCrd } from './operator-helpers.ts';
import { useControlPlane } from './use-control-plane.ts';

const plane = useControlPlane();

/** Every client a test made, closed after it so no kept-alive socket outlives the test. */
const clients: KubeClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

function clientFor(config: KubeConfig, options?: KubeClientOptions): KubeClient {
  const c = new KubeClient(config, options);
  clients.push(c);
  return c;
}

const fromFile = (path: string, options?: KubeClientOptions): KubeClient =>
  clientFor(loadKubeConfig({ kubeconfigPath: path }), options);

/** A fresh directory inside the control plane's (removed with it). */
const scratch = (): string => mkdtempSync(join(plane().dir, 'client-'));

/** The harness's cluster, as a kubeconfig `cluster` entry. */
const trustedCluster = (): Record<string, unknown> => ({
  server: plane().server,
  'certificate-authority-data': Buffer.from(plane().caCert).toString('base64'),
});

/** A one-context kubeconfig in `dir` (JSON, which is YAML too); returns its path. */
function writeKubeconfig(
  dir: string,
  cluster: Record<string, unknown>,
  user: Record<string, unknown>,
  file = 'kubeconfig',
): string {
  const path = join(dir, file);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster }],
    users: [{ name: 'me', user }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'me' } }],
    'current-context': 'test',
  };
  writeFileSync(path, JSON.stringify(doc, null, 2), { mode: 0o600 });
  return path;
}

interface UserInfo {
  username?: string;
  groups?: string[];
}

/** Who the API server says the client is. */
async function whoAmI(client: KubeClient): Promise<UserInfo> {
  const review = await client.request<{ status?: { userInfo?: UserInfo } }>({
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  return review.status?.userInfo ?? {};
}

async function namespaceNames(client: KubeClient): Promise<string[]> {
  const list = await client.request<NamespaceList>({ method: 'GET', path: '/api/v1/namespaces' });
  return list.items.map((n) => n.metadata?.name ?? '');
}

/** The error `promise` rejects with; fails the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the request to be refused, but it succeeded');
}

// --- certificates ------------------------------------------------------------------------------

/** `client.crt` and `client.key` in `dir`, for CN=tributary-cert-user in group system:masters. */
const clientCertificate = (dir: string): IssuedCertificate =>
  signClientCertificate(plane(), dir, {
    commonName: 'tributary-cert-user',
    organisations: ['system:masters'],
  });

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Every timer jest can fake but Date. */
const NOT_DATE = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

// --- tests -------------------------------------------------------------------------------------

describe('runtime client > bearer token', () => {
  it("lists namespaces with the token of the harness's kubeconfig", async () => {
    const client = fromFile(plane().kubeconfigPath);
    expect(client.config.kc.getCurrentUser()?.token).toBe(plane().token);
    expect(await namespaceNames(client)).toEqual(expect.arrayContaining(['default', 'kube-system']));
    expect((await whoAmI(client)).username).toBe('tributary-admin');
  });

  it("turns the server's refusal into a KubeApiError carrying its Status", async () => {
    const client = fromFile(plane().kubeconfigPath);
    const err = await rejection(
      client.request({ method: 'GET', path: '/api/v1/namespaces/default/configmaps/no-such-map' }),
    );
    expect(err).toBeInstanceOf(KubeApiError);
    const apiErr = err as KubeApiError;
    expect(apiErr.status).toBe(404);
    expect(apiErr.reason).toBe('NotFound');
    expect(apiErr.message).toMatch(/HTTP 404.*no-such-map/);
  });
});

describe('runtime client > client certificate', () => {
  it('authenticates with client-certificate-data and client-key-data, and no token', async () => {
    const dir = scratch();
    const { cert, key } = clientCertificate(dir);
    const path = writeKubeconfig(dir, trustedCluster(), {
      'client-certificate-data': b64(cert),
      'client-key-data': b64(key),
    });
    const client = fromFile(path);
    expect(client.config.kc.getCurrentUser()?.token).toBeUndefined();
    expect(await namespaceNames(client)).toContain('default');
    const me = await whoAmI(client);
    expect(me.username).toBe('tributary-cert-user');
    expect(me.groups).toContain('system:masters');
  });

  it('reads client-certificate, client-key and certificate-authority relative to the kubeconfig', async () => {
    const dir = scratch();
    clientCertificate(dir); // client.crt and client.key
    writeFileSync(join(dir, 'ca.crt'), plane().caCert);
    const path = writeKubeconfig(
      dir,
      { server: plane().server, 'certificate-authority': 'ca.crt' },
      { 'client-certificate': 'client.crt', 'client-key': 'client.key' },
    );
    // The test runs in the repository, where none of these files are: found only next to the kubeconfig.
    const client = fromFile(path);
    expect((await whoAmI(client)).username).toBe('tributary-cert-user');
  });
});

describe('runtime client > token file', () => {
  it('authenticates with the token a tokenFile holds', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'token'), `${plane().token}\n`);
    const client = fromFile(writeKubeconfig(dir, trustedCluster(), { tokenFile: 'token' }));
    expect(client.config.kc.getCurrentUser()?.authProvider).toEqual({
      name: 'tokenFile',
      config: { tokenFile: join(dir, 'token') },
    });
    expect((await whoAmI(client)).username).toBe('tributary-admin');
  });

  it('is refused with a 401 KubeApiError when the file holds a wrong token', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'token'), 'not-a-token\n');
    const client = fromFile(writeKubeconfig(dir, trustedCluster(), { tokenFile: 'token' }));
    const err = await rejection(namespaceNames(client));
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(401);
    expect((err as KubeApiError).message).toMatch(/HTTP 401/);
  });

  it('reads a rotated token again when the server refuses the one it had', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'token'), 'revoked-token\n');
    // Well within the minute the file is kept for: only the 401 can make it read the file again.
    const client = fromFile(writeKubeconfig(dir, trustedCluster(), { tokenFile: 'token' }));
    expect(await rejection(namespaceNames(client))).toMatchObject({ status: 401 });

    writeFileSync(join(dir, 'token'), `${plane().token}\n`);
    expect((await whoAmI(client)).username).toBe('tributary-admin');
  });

  it('keeps a token it read for a minute, then reads the file again', async () => {
    const ns = await namespace(plane(), 'token-file');
    await must(plane(), 'POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'robot' } });
    const r = await plane().request('POST', `/api/v1/namespaces/${ns}/serviceaccounts/robot/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    });
    expect(r.status).toBe(201);
    const robotToken = (r.json as { status: { token: string } }).status.token;

    const dir = scratch();
    writeFileSync(join(dir, 'token'), plane().token);
    // client-node times the minute with Date: only Date is faked, so sockets and timers run as ever.
    jest.useFakeTimers({ doNotFake: [...NOT_DATE] });
    try {
      const client = fromFile(writeKubeconfig(dir, trustedCluster(), { tokenFile: 'token' }));
      expect((await whoAmI(client)).username).toBe('tributary-admin');

      writeFileSync(join(dir, 'token'), robotToken); // as the kubelet rotates a projected token
      jest.setSystemTime(Date.now() + 59_000);
      expect((await whoAmI(client)).username).toBe('tributary-admin');
      jest.setSystemTime(Date.now() + 2_000);
      expect((await whoAmI(client)).username).toBe(`system:serviceaccount:${ns}:robot`);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('runtime client > exec credential plugin', () => {
  /**
   * `plugin.sh` in `dir`: prints `credential.json`, writes KUBERNETES_EXEC_INFO to `exec-info.json`
   * and a line to `runs` each time it runs.
   */
  function plugin(dir: string, status: Record<string, unknown>): void {
    writeCredential(dir, status);
    writeFileSync(
      join(dir, 'plugin.sh'),
      '#!/bin/sh\nd=$(dirname "$0")\nprintf \'%s\' "$KUBERNETES_EXEC_INFO" > "$d/exec-info.json"\n' +
        'echo run >> "$d/runs"\ncat "$d/credential.json"\n',
      { mode: 0o755 },
    );
  }

  function writeCredential(dir: string, status: Record<string, unknown>): void {
    const credential = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status };
    writeFileSync(join(dir, 'credential.json'), JSON.stringify(credential));
  }

  const execUser = (provideClusterInfo: boolean): Record<string, unknown> => ({
    exec: {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: './plugin.sh', // relative to the kubeconfig
      interactiveMode: 'Never',
      provideClusterInfo,
    },
  });

  const runs = (dir: string): number => readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n').length;
  interface ExecInfo {
    apiVersion?: string;
    spec?: { cluster?: Record<string, unknown> };
  }
  const execInfo = (dir: string): ExecInfo =>
    JSON.parse(readFileSync(join(dir, 'exec-info.json'), 'utf8')) as ExecInfo;

  it('authenticates with the token the plugin prints, running it once for concurrent requests', async () => {
    const dir = scratch();
    plugin(dir, { token: plane().token });
    const client = fromFile(writeKubeconfig(dir, trustedCluster(), execUser(false)));
    const answers = await Promise.all([whoAmI(client), whoAmI(client), namespaceNames(client)]);
    expect(answers[0].username).toBe('tributary-admin');
    expect(answers[2]).toContain('default');
    expect(runs(dir)).toBe(1);
    expect(execInfo(dir)).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
  });

  it('tells the plugin the cluster in KUBERNETES_EXEC_INFO when provideClusterInfo is set', async () => {
    const dir = scratch();
    plugin(dir, { token: plane().token });
    const client = fromFile(writeKubeconfig(dir, trustedCluster(), execUser(true)));
    expect((await whoAmI(client)).username).toBe('tributary-admin');
    const cluster = execInfo(dir).spec?.cluster;
    expect(cluster?.server).toBe(plane().server);
    expect(cluster?.['certificate-authority-data']).toBe(b64(plane().caCert));
  });

  it('connects with the client certificate the plugin prints', async () => {
    const dir = scratch();
    const { cert, key } = clientCertificate(dir);
    plugin(dir, { clientCertificateData: cert, clientKeyData: key });
    const client = fromFile(writeKubeconfig(dir, trustedCluster(), execUser(false)));
    const me = await whoAmI(client);
    expect(me.username).toBe('tributary-cert-user');
    expect(me.groups).toContain('system:masters');
  });

  it('runs the plugin again after the server refuses its token', async () => {
    const dir = scratch();
    plugin(dir, { token: 'expired-token' });
    const client = fromFile(writeKubeconfig(dir, trustedCluster(), execUser(false)));
    expect(await rejection(namespaceNames(client))).toMatchObject({ status: 401 });
    expect(runs(dir)).toBe(2); // the first answer, and the one retry after the 401

    writeCredential(dir, { token: plane().token });
    expect((await whoAmI(client)).username).toBe('tributary-admin');
    expect(runs(dir)).toBe(3);
  });
});

describe('runtime client > impersonation', () => {
  const asUser = (extra: Record<string, unknown>): KubeClient =>
    fromFile(writeKubeconfig(scratch(), trustedCluster(), { token: plane().token, ...extra }));

  it('is refused what the impersonated user may not do, and the refusal names the user', async () => {
    const client = asUser({ as: 'someone-else' });
    const err = await rejection(namespaceNames(client));
    expect(err).toBeInstanceOf(KubeApiError);
    const apiErr = err as KubeApiError;
    expect(apiErr.status).toBe(403);
    expect(apiErr.reason).toBe('Forbidden');
    expect(apiErr.body?.message).toContain('"someone-else"');
    expect(apiErr.message).toContain('"someone-else"');
  });

  it('acts as the impersonated user and groups', async () => {
    const client = asUser({ as: 'someone-else', 'as-groups': ['system:masters'] });
    expect(await namespaceNames(client)).toContain('default');
    const me = await whoAmI(client);
    expect(me.username).toBe('someone-else');
    expect(me.groups).toContain('system:masters');
  });
});

describe('runtime client > TLS', () => {
  it('refuses a server whose certificate does not chain to the configured CA', async () => {
    const dir = scratch();
    const ca = selfSignedCa(dir, 'not-the-cluster-ca').cert;
    const client = fromFile(
      writeKubeconfig(
        dir,
        { server: plane().server, 'certificate-authority-data': b64(ca) },
        { token: plane().token },
      ),
    );
    const err = await rejection(namespaceNames(client));
    expect(err).not.toBeInstanceOf(KubeApiError);
    expect((err as NodeJS.ErrnoException).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('connects without verifying when insecure-skip-tls-verify is set', async () => {
    const client = fromFile(
      writeKubeconfig(
        scratch(),
        { server: plane().server, 'insecure-skip-tls-verify': true },
        { token: plane().token },
      ),
    );
    expect(await namespaceNames(client)).toContain('default');
  });

  it('checks the certificate against tls-server-name instead of the address', async () => {
    const withName = (name: string): KubeClient =>
      fromFile(
        writeKubeconfig(
          scratch(),
          { ...trustedCluster(), 'tls-server-name': name },
          { token: plane().token },
        ),
      );
    // The API server's certificate names 127.0.0.1 and localhost.
    expect(await namespaceNames(withName('localhost'))).toContain('default');
    const err = await rejection(namespaceNames(withName('elsewhere.example')));
    expect((err as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });
});

describe('runtime client > in-cluster', () => {
  /** A service-account directory as the kubelet mounts it. */
  function serviceAccountDir(): string {
    const dir = join(scratch(), 'serviceaccount');
    mkdirSync(dir);
    writeFileSync(join(dir, 'token'), plane().token);
    writeFileSync(join(dir, 'ca.crt'), plane().caCert);
    writeFileSync(join(dir, 'namespace'), 'tributary-system');
    return dir;
  }
  const serviceEnv = (): NodeJS.ProcessEnv => ({
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: new URL(plane().server).port,
  });

  it("reaches the API server through the service's address with the mounted token and CA", async () => {
    const config = inClusterConfig(serviceEnv(), serviceAccountDir());
    expect(config.server).toBe(plane().server);
    expect(config.namespace).toBe('tributary-system');
    const client = clientFor(config);
    expect(await namespaceNames(client)).toContain('default');
    expect((await whoAmI(client)).username).toBe('tributary-admin');
  });

  it('falls back to the service account when there is no kubeconfig', async () => {
    const home = scratch(); // no .kube/config in it
    const config = loadKubeConfig({}, { env: serviceEnv(), home, serviceAccountDir: serviceAccountDir() });
    expect(config.contextName).toBe('in-cluster');
    expect((await whoAmI(clientFor(config))).username).toBe('tributary-admin');
  });
});

describe('runtime client > watch', () => {
  /** A watch whose events and close are written down. */
  async function recordWatch(client: KubeClient, path: string, query: Record<string, string | number> = {}) {
    const events: RawWatchEvent[] = [];
    const closed: { err?: unknown }[] = [];
    const watch = await client.watch(
      path,
      query,
      (event) => events.push(event),
      (err) => closed.push({ err }),
    );
    return { events, closed, stop: () => watch.stop() };
  }

  it('sees a ConfigMap created after it opened', async () => {
    const ns = await namespace(plane(), 'watch');
    const client = fromFile(plane().kubeconfigPath);
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const w = await recordWatch(client, path);
    try {
      const name = `cm-${randomBytes(4).toString('hex')}`;
      await client.request<ConfigMap>({
        method: 'POST',
        path,
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } },
      });
      const added = await eventually('the ADDED event', () =>
        w.events.find((e) => e.type === 'ADDED' && (e.object as ConfigMap).metadata?.name === name),
      );
      expect((added.object as ConfigMap).data).toEqual({ a: '1' });
      expect(w.closed).toEqual([]);
    } finally {
      w.stop();
    }
  });

  /**
   * A resource whose watch cache starts now. A fresh server's built-in kinds are cached from (about)
   * revision 1 and etcd compacts only every five minutes, so there resourceVersion 1 is not yet too
   * old; a custom resource's cache is filled when first served, from the revision of that moment.
   */
  async function freshlyCachedResource(client: KubeClient): Promise<string> {
    const group = 'client-test.tributary.invalid';
    await client.request({
      method: 'POST',
      path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      body: widgetCrd(group),
    });
    const ns = await namespace(plane(), 'watch');
    const path = `/apis/${group}/v1/namespaces/${ns}/widgets`;
    await eventually('widgets to be served', () =>
      client.request({ method: 'GET', path }).then(
        () => true,
        () => false,
      ),
    );
    return path;
  }

  it('reports a resourceVersion that is too old as 410, in the stream or as the close', async () => {
    const client = fromFile(plane().kubeconfigPath);
    const path = await freshlyCachedResource(client);
    const w = await recordWatch(client, path, { resourceVersion: '1' });
    try {
      const code = await eventually('a 410 from the watch', () => {
        const error = w.events.find((e) => e.type === 'ERROR');
        if (error !== undefined) return (error.object as Status).code;
        const close = w.closed[0];
        if (close !== undefined)
          return close.err instanceof KubeApiError ? close.err.status : String(close.err);
        return undefined;
      });
      expect(code).toBe(410);
      expect(w.events.filter((e) => e.type !== 'ERROR')).toEqual([]);
    } finally {
      w.stop();
    }
  }, 60_000);

  it('closes with a KubeApiError when the server refuses the watch', async () => {
    const client = fromFile(
      writeKubeconfig(scratch(), trustedCluster(), { token: plane().token, as: 'someone-else' }),
    );
    const w = await recordWatch(client, '/api/v1/namespaces/default/configmaps');
    const [close] = await eventually('the watch to close', () =>
      w.closed.length > 0 ? w.closed : undefined,
    );
    expect(close.err).toBeInstanceOf(KubeApiError);
    expect((close.err as KubeApiError).status).toBe(403);
    expect(w.events).toEqual([]);
  });

  it('closes without an error when the server ends the watch at its timeoutSeconds', async () => {
    const ns = await namespace(plane(), 'watch');
    const client = fromFile(plane().kubeconfigPath);
    const w = await recordWatch(client, `/api/v1/namespaces/${ns}/configmaps`, { timeoutSeconds: 1 });
    const closed = await eventually('the watch to close', () => (w.closed.length > 0 ? w.closed : undefined));
    expect(closed).toEqual([{ err: undefined }]);
  });
});
