import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  KubeConfigError,
  type KubeConfig,
  fromFiles,
  inClusterConfig,
  loadKubeConfig,
  parseKubeConfig,
} from '../../../../src/operator/runtime/kubeconfig.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trib-kubeconfig-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `content` (an object is written as JSON, which is YAML too) under the test's directory. */
function write(name: string, content: string | object): string {
  const path = join(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** A kubeconfig with one context `main` joining `users` and `clusters` entries given by body. */
function kubeconfig(cluster: object, user?: object): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'main',
    clusters: [{ name: 'c', cluster }],
    users: user === undefined ? [] : [{ name: 'u', user }],
    contexts: [{ name: 'main', context: { cluster: 'c', ...(user === undefined ? {} : { user: 'u' }) } }],
  };
}

const base64 = (s: string): string => Buffer.from(s).toString('base64');

/** The cluster and user entries client-node was given. */
const clusterOf = (config: KubeConfig) => config.kc.getCurrentCluster();
const userOf = (config: KubeConfig) => config.kc.getCurrentUser();

/** The KubeConfigError `fn` throws (failing the test if it throws nothing or something else). */
function errorOf(fn: () => unknown): KubeConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KubeConfigError);
    return err as KubeConfigError;
  }
  throw new Error('expected a KubeConfigError, nothing was thrown');
}

const TWO_CONTEXTS = `
apiVersion: v1
kind: Config
current-context: dev
clusters:
  - name: dev-cluster
    cluster:
      server: https://dev.example:6443/
      insecure-skip-tls-verify: true
  - name: prod-cluster
    cluster:
      server: https://prod.example:6443
      tls-server-name: api.prod.example
users:
  - name: dev-user
    user:
      token: dev-token
  - name: prod-user
    user:
      username: admin
      password: s3cret
contexts:
  - name: dev
    context:
      cluster: dev-cluster
      user: dev-user
      namespace: kafka
  - name: prod
    context:
      cluster: prod-cluster
      user: prod-user
`;

describe('kubeconfig > contexts', () => {
  it('uses the current context: its cluster, user and namespace', () => {
    const path = write('config', TWO_CONTEXTS);
    const config = fromFiles([path]);
    expect(config).toMatchObject({
      server: 'https://dev.example:6443',
      namespace: 'kafka',
      contextName: 'dev',
      source: path,
    });
    expect(clusterOf(config)).toMatchObject({ server: 'https://dev.example:6443', skipTLSVerify: true });
    expect(userOf(config)).toMatchObject({ name: 'dev-user', token: 'dev-token' });
    expect(config.kc.getContexts()).toHaveLength(1);
    expect(config.impersonate).toBeUndefined();
  });

  it('uses the context asked for instead of the current one', () => {
    const path = write('config', TWO_CONTEXTS);
    const config = loadKubeConfig({ kubeconfigPath: path, context: 'prod' }, { env: {} });
    expect(config).toMatchObject({ server: 'https://prod.example:6443', contextName: 'prod' });
    expect(clusterOf(config)).toMatchObject({ skipTLSVerify: false, tlsServerName: 'api.prod.example' });
    expect(userOf(config)).toMatchObject({ username: 'admin', password: 's3cret' });
    expect(config.namespace).toBeUndefined();
  });

  it('names the known contexts when the one asked for does not exist', () => {
    const path = write('config', TWO_CONTEXTS);
    const err = errorOf(() => fromFiles([path], 'staging'));
    expect(err.message).toContain(path);
    expect(err.message).toContain('no context "staging" (it has: dev, prod)');
  });

  it('asks for --context when there is no current context', () => {
    const path = write('config', { clusters: [], contexts: [] });
    expect(errorOf(() => fromFiles([path])).message).toMatch(/no current-context; pass --context/);
  });

  it('refuses a context whose cluster is not defined', () => {
    const path = write('config', {
      'current-context': 'x',
      contexts: [{ name: 'x', context: { cluster: 'gone', user: 'u' } }],
      users: [{ name: 'u', user: { token: 't' } }],
    });
    expect(errorOf(() => fromFiles([path])).message).toBe(
      `kubeconfig ${path}: context "x" names cluster "gone", which is not defined`,
    );
  });

  it('refuses a context whose user is not defined', () => {
    const path = write('config', {
      'current-context': 'x',
      clusters: [{ name: 'c', cluster: { server: 'https://k' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'nobody' } }],
    });
    expect(errorOf(() => fromFiles([path])).message).toBe(
      `kubeconfig ${path}: context "x" names user "nobody", which is not defined`,
    );
  });

  it('gives client-node an empty user for a context without one', () => {
    const config = fromFiles([write('config', kubeconfig({ server: 'https://127.0.0.1:6443' }))]);
    expect(userOf(config)).toEqual({ name: 'anonymous' });
    expect(config.server).toBe('https://127.0.0.1:6443');
  });

  it('refuses plain http:// unless insecure-skip-tls-verify allows it', () => {
    const path = write('a', kubeconfig({ server: 'http://127.0.0.1:8001' }));
    expect(errorOf(() => fromFiles([path])).message).toBe(
      `kubeconfig ${path}: cluster "c": server "http://127.0.0.1:8001" is plain HTTP, over which` +
        ' credentials would travel in the clear; use https://, or set insecure-skip-tls-verify: true to allow it',
    );
    const allowed = write(
      'b',
      kubeconfig({ server: 'http://127.0.0.1:8001', 'insecure-skip-tls-verify': true }),
    );
    expect(fromFiles([allowed]).server).toBe('http://127.0.0.1:8001');
  });

  it('refuses a cluster without a server, or with one that is not http(s)', () => {
    expect(errorOf(() => fromFiles([write('a', kubeconfig({}))])).message).toMatch(
      /cluster "c" has no "server"/,
    );
    expect(errorOf(() => fromFiles([write('b', kubeconfig({ server: 'unix:///sock' }))])).message).toMatch(
      /must be http:\/\/ or https:\/\//,
    );
    expect(errorOf(() => fromFiles([write('c', kubeconfig({ server: 'not a url' }))])).message).toMatch(
      /is not a URL/,
    );
  });
});

describe('kubeconfig > merging $KUBECONFIG', () => {
  function twoFiles(): { first: string; second: string } {
    write('first/token', 'token-of-first\n');
    write('second/ca.pem', 'CA OF SECOND');
    write('second/token', 'token-of-second\n');
    const first = write('first/config', {
      'current-context': 'one',
      clusters: [{ name: 'shared', cluster: { server: 'https://first.example' } }],
      users: [{ name: 'me', user: { tokenFile: 'token' } }],
      contexts: [{ name: 'one', context: { cluster: 'shared', user: 'me' } }],
    });
    const second = write('second/config', {
      'current-context': 'two',
      clusters: [
        { name: 'shared', cluster: { server: 'https://second.example' } },
        { name: 'own', cluster: { server: 'https://own.example', 'certificate-authority': 'ca.pem' } },
      ],
      users: [{ name: 'me', user: { tokenFile: 'token' } }],
      contexts: [
        { name: 'one', context: { cluster: 'own', user: 'me', namespace: 'ignored' } },
        { name: 'two', context: { cluster: 'own', user: 'me', namespace: 'b' } },
      ],
    });
    return { first, second };
  }

  it('takes current-context and same-named entries from the first file that has them', () => {
    const { first, second } = twoFiles();
    const config = loadKubeConfig({}, { env: { KUBECONFIG: [first, second].join(delimiter) }, home: dir });
    expect(config).toMatchObject({
      contextName: 'one',
      server: 'https://first.example',
      source: [first, second].join(delimiter),
    });
    expect(userOf(config)?.authProvider).toEqual({
      name: 'tokenFile',
      config: { tokenFile: join(dir, 'first/token') },
    });
    expect(config.namespace).toBeUndefined();
  });

  it('resolves relative paths against the file that names them', () => {
    const { first, second } = twoFiles();
    const config = loadKubeConfig(
      { context: 'two' },
      { env: { KUBECONFIG: [first, second].join(delimiter) }, home: dir },
    );
    // The cluster and its CA come from the second file, the user (same name in both) from the first.
    expect(config).toMatchObject({ contextName: 'two', server: 'https://own.example', namespace: 'b' });
    expect(userOf(config)?.authProvider?.config).toEqual({ tokenFile: join(dir, 'first/token') });
    expect(clusterOf(config)?.caFile).toBe(join(dir, 'second/ca.pem'));
  });

  it('skips empty entries in the list', () => {
    const { first } = twoFiles();
    const config = loadKubeConfig({}, { env: { KUBECONFIG: `${delimiter}${first}${delimiter}` } });
    expect(config.server).toBe('https://first.example');
  });

  it('skips files in the list that do not exist, as kubectl does', () => {
    const { second } = twoFiles();
    const missing = join(dir, 'missing/config');
    const config = loadKubeConfig({}, { env: { KUBECONFIG: [missing, second].join(delimiter) } });
    expect(config.contextName).toBe('two');
  });

  it('refuses a list in which no file exists, naming it', () => {
    const missing = join(dir, 'missing/config');
    const err = errorOf(() => loadKubeConfig({}, { env: { KUBECONFIG: missing }, home: dir }));
    expect(err.message).toContain(missing);
    expect(err.message).toContain('KUBECONFIG');
  });
});

describe('kubeconfig > TLS and client certificates', () => {
  it('gives client-node file paths made absolute against the kubeconfig', () => {
    write('ca.pem', 'CA');
    write('client.crt', 'CERT');
    write('client.key', 'KEY');
    const config = fromFiles([
      write(
        'a',
        kubeconfig(
          { server: 'https://k', 'certificate-authority': 'ca.pem' },
          { 'client-certificate': 'client.crt', 'client-key': join(dir, 'client.key') },
        ),
      ),
    ]);
    expect(clusterOf(config)?.caFile).toBe(join(dir, 'ca.pem'));
    expect(userOf(config)).toMatchObject({
      certFile: join(dir, 'client.crt'),
      keyFile: join(dir, 'client.key'),
    });
  });

  it('refuses a CA given both as a file and as -data, as kubectl does', () => {
    write('ca.pem', 'CA FROM FILE');
    const path = write(
      'a',
      kubeconfig({
        server: 'https://k',
        'certificate-authority': 'ca.pem',
        'certificate-authority-data': base64('CA FROM DATA'),
      }),
    );
    const err = errorOf(() => fromFiles([path]));
    expect(err.message).toContain(`kubeconfig ${path}: "c"`);
    expect(err.message).toContain('both certificate-authority and certificate-authority-data');
  });

  it('names the file and entry when a CA file cannot be read', () => {
    const path = write('a', kubeconfig({ server: 'https://k', 'certificate-authority': 'nope.pem' }));
    const err = errorOf(() => fromFiles([path]));
    expect(err.message).toContain(`kubeconfig ${path}: certificate-authority of "c" cannot be read`);
  });

  it('refuses a client certificate given both as a file and as -data', () => {
    write('client.crt', 'CERT FROM FILE');
    const path = write(
      'a',
      kubeconfig(
        { server: 'https://k' },
        {
          'client-certificate': 'client.crt',
          'client-certificate-data': base64('CERT FROM DATA'),
          'client-key-data': base64('KEY'),
        },
      ),
    );
    expect(errorOf(() => fromFiles([path])).message).toContain(
      'both client-certificate and client-certificate-data',
    );
  });

  it('refuses a client certificate without its key', () => {
    const path = write(
      'a',
      kubeconfig({ server: 'https://k' }, { 'client-certificate-data': base64('CERT') }),
    );
    expect(errorOf(() => fromFiles([path])).message).toBe(
      `kubeconfig ${path}: user "u": client-certificate and client-key must be given together`,
    );
  });

  it('refuses proxy-url, saying what to do instead', () => {
    const path = write('a', kubeconfig({ server: 'https://k', 'proxy-url': 'http://proxy:3128' }));
    const err = errorOf(() => fromFiles([path]));
    expect(err.message).toContain(`kubeconfig ${path}: cluster "c"`);
    expect(err.message).toMatch(/proxy-url is not supported; reach the API server directly/);
  });
});

describe('kubeconfig > users', () => {
  const cluster = { server: 'https://k' };

  it('reads impersonation (as, as-groups, as-uid, as-user-extra)', () => {
    const config = fromFiles([
      write(
        'a',
        kubeconfig(cluster, {
          token: 't',
          as: 'jane',
          'as-groups': ['dev', 'ops'],
          'as-uid': '42',
          'as-user-extra': { scopes: ['view'] },
        }),
      ),
    ]);
    // client-node sends `as`; the rest is sent alongside (credentials.ts).
    expect(userOf(config)).toMatchObject({ impersonateUser: 'jane', token: 't' });
    expect(config.impersonate).toEqual({ groups: ['dev', 'ops'], uid: '42', extra: { scopes: ['view'] } });
  });

  it('refuses as-groups that are not a list of strings', () => {
    const path = write('a', kubeconfig(cluster, { as: 'jane', 'as-groups': 'dev' }));
    expect(errorOf(() => fromFiles([path])).message).toMatch(/user "u": as-groups must be a list of strings/);
  });

  it('refuses as-user-extra that does not map keys to lists of strings', () => {
    const path = write('a', kubeconfig(cluster, { as: 'jane', 'as-user-extra': { scopes: 'view' } }));
    expect(errorOf(() => fromFiles([path])).message).toMatch(
      /user "u": as-user-extra must map keys to lists of strings/,
    );
  });

  it('gives client-node an exec plugin with its command found next to the kubeconfig, and KUBERNETES_EXEC_INFO', () => {
    const path = write('nested/config', {
      ...kubeconfig(cluster),
      users: [
        {
          name: 'u',
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: './bin/login',
              args: ['get-token', '--cluster', 'prod'],
              env: [{ name: 'REGION', value: 'eu' }],
              provideClusterInfo: true,
            },
          },
        },
      ],
      contexts: [{ name: 'main', context: { cluster: 'c', user: 'u' } }],
    });
    expect(userOf(fromFiles([path]))?.exec).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      command: join(dir, 'nested/bin/login'),
      args: ['get-token', '--cluster', 'prod'],
      env: [
        { name: 'REGION', value: 'eu' },
        {
          name: 'KUBERNETES_EXEC_INFO',
          value: JSON.stringify({
            apiVersion: 'client.authentication.k8s.io/v1',
            kind: 'ExecCredential',
            spec: { interactive: false, cluster: { server: 'https://k' } },
          }),
        },
      ],
      provideClusterInfo: true,
    });
  });

  it('leaves a command without a slash to be found on the PATH', () => {
    const path = write(
      'a',
      kubeconfig(cluster, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'kubelogin' } }),
    );
    expect(userOf(fromFiles([path]))?.exec.command).toBe('kubelogin');
  });

  it('refuses an exec plugin of version v1alpha1, naming the ones supported', () => {
    const path = write(
      'a',
      kubeconfig(cluster, {
        exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'login' },
      }),
    );
    const err = errorOf(() => fromFiles([path]));
    expect(err.message).toContain(`kubeconfig ${path}: user "u"`);
    expect(err.message).toContain('exec apiVersion "client.authentication.k8s.io/v1alpha1" is not supported');
    expect(err.message).toContain('client.authentication.k8s.io/v1, client.authentication.k8s.io/v1beta1');
  });

  it('refuses an exec plugin without a command', () => {
    const path = write('a', kubeconfig(cluster, { exec: { apiVersion: 'client.authentication.k8s.io/v1' } }));
    expect(errorOf(() => fromFiles([path])).message).toMatch(/exec needs a "command"/);
  });

  it('refuses auth-provider, pointing at exec plugins', () => {
    const path = write('a', kubeconfig(cluster, { 'auth-provider': { name: 'oidc', config: {} } }));
    const err = errorOf(() => fromFiles([path]));
    expect(err.message).toContain(`kubeconfig ${path}: user "u": auth-provider "oidc" is not supported`);
    expect(err.message).toMatch(/use an exec credential plugin instead \(for OIDC, kubelogin/);
  });

  it('names the file, the entry and the field when a field has the wrong type', () => {
    const path = write('a', kubeconfig(cluster, { token: 42 }));
    expect(errorOf(() => fromFiles([path])).message).toBe(
      `kubeconfig ${path}: "token" of "u" must be a string`,
    );
  });
});

describe('kubeconfig > documents', () => {
  it('refuses text that is not YAML, naming the file', () => {
    const path = write('config', 'clusters: [unclosed\n  - : :');
    expect(
      errorOf(() => fromFiles([path])).message.startsWith(`kubeconfig ${path} is not valid YAML: `),
    ).toBe(true);
  });

  it('refuses a document that is not a mapping', () => {
    const path = write('config', '- just\n- a list\n');
    expect(errorOf(() => fromFiles([path])).message).toBe(
      `kubeconfig ${path}: expected a mapping at the top level`,
    );
  });

  it('refuses a clusters field that is not a list, or an entry without a name', () => {
    expect(errorOf(() => fromFiles([write('a', { clusters: {} })])).message).toMatch(
      /"clusters" must be a list/,
    );
    expect(errorOf(() => fromFiles([write('b', { users: [{ user: {} }] })])).message).toMatch(
      /users\[0\] needs a "name"/,
    );
  });

  it('names a file that cannot be read', () => {
    const path = join(dir, 'absent');
    expect(errorOf(() => fromFiles([path])).message.startsWith(`cannot read kubeconfig ${path}: `)).toBe(
      true,
    );
  });

  it('parses text as if read from a file (relative paths against that file)', () => {
    write('sub/ca.pem', 'CA');
    const text = JSON.stringify(kubeconfig({ server: 'https://k', 'certificate-authority': 'ca.pem' }));
    const config = parseKubeConfig(text, join(dir, 'sub/config'));
    expect(clusterOf(config)?.caFile).toBe(join(dir, 'sub/ca.pem'));
    expect(config.source).toBe(join(dir, 'sub/config'));
  });
});

describe('kubeconfig > in cluster', () => {
  function serviceAccount(files: Record<string, string>): string {
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(sa, name), text);
    return sa;
  }
  const env = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  it('uses the service address, the mounted CA, token file and namespace', () => {
    const sa = serviceAccount({ token: 'jwt', 'ca.crt': 'CLUSTER CA', namespace: 'kafka\n' });
    const config = inClusterConfig(env, sa);
    expect(config).toMatchObject({
      server: 'https://10.96.0.1:443',
      namespace: 'kafka',
      contextName: 'in-cluster',
      source: sa,
    });
    expect(clusterOf(config)).toMatchObject({ caFile: `${sa}/ca.crt`, skipTLSVerify: false });
    expect(userOf(config)?.authProvider).toEqual({ name: 'tokenFile', config: { tokenFile: `${sa}/token` } });
  });

  it('brackets an IPv6 service host', () => {
    const sa = serviceAccount({ token: 'jwt' });
    const config = inClusterConfig(
      { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    expect(config.server).toBe('https://[fd00:10:96::1]:443');
    expect(new URL(config.server).hostname).toBe('[fd00:10:96::1]');
    expect(config.namespace).toBeUndefined();
    expect(clusterOf(config)?.caFile).toBeUndefined(); // the system's CAs then
  });

  it('refuses to run outside a pod', () => {
    const sa = serviceAccount({ token: 'jwt' });
    expect(errorOf(() => inClusterConfig({}, sa)).message).toMatch(
      /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/,
    );
    expect(() => inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, sa)).toThrow(KubeConfigError);
  });

  it('refuses a pod without a mounted token', () => {
    const sa = serviceAccount({ 'ca.crt': 'CA' });
    expect(errorOf(() => inClusterConfig(env, sa)).message).toBe(
      `no service-account token at ${sa}/token: is automountServiceAccountToken turned off for this pod?`,
    );
  });
});

describe('kubeconfig > where it is loaded from', () => {
  const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  /** Three kubeconfigs and a service account, each naming a different server. */
  function everywhere(): { explicit: string; listed: string; home: string; sa: string } {
    const home = join(dir, 'home');
    write('home/.kube/config', kubeconfig({ server: 'https://home.example' }));
    write('sa/token', 'jwt');
    return {
      explicit: write('explicit', kubeconfig({ server: 'https://explicit.example' })),
      listed: write('listed', kubeconfig({ server: 'https://listed.example' })),
      home,
      sa: join(dir, 'sa'),
    };
  }

  it('prefers the explicit path over everything else', () => {
    const { explicit, listed, home, sa } = everywhere();
    const config = loadKubeConfig(
      { kubeconfigPath: explicit },
      { env: { ...inPod, KUBECONFIG: listed }, home, serviceAccountDir: sa },
    );
    expect(config.server).toBe('https://explicit.example');
  });

  it('uses the service account when asked to, even with kubeconfigs around', () => {
    const { listed, home, sa } = everywhere();
    const config = loadKubeConfig(
      { inCluster: true },
      { env: { ...inPod, KUBECONFIG: listed }, home, serviceAccountDir: sa },
    );
    expect(config.server).toBe('https://10.96.0.1:443');
  });

  it('then $KUBECONFIG', () => {
    const { listed, home, sa } = everywhere();
    const config = loadKubeConfig({}, { env: { ...inPod, KUBECONFIG: listed }, home, serviceAccountDir: sa });
    expect(config.server).toBe('https://listed.example');
  });

  it('then ~/.kube/config, HOME taken from the environment when not given', () => {
    const { home, sa } = everywhere();
    expect(loadKubeConfig({}, { env: inPod, home, serviceAccountDir: sa }).server).toBe(
      'https://home.example',
    );
    expect(loadKubeConfig({}, { env: { ...inPod, HOME: home }, serviceAccountDir: sa }).server).toBe(
      'https://home.example',
    );
  });

  it('then the service account, when running in a pod', () => {
    const { sa } = everywhere();
    const config = loadKubeConfig({}, { env: inPod, home: join(dir, 'empty-home'), serviceAccountDir: sa });
    expect(config.contextName).toBe('in-cluster');
    expect(config.source).toBe(sa);
  });

  it('and with nothing at all, says what to do', () => {
    const home = join(dir, 'empty-home');
    const err = errorOf(() => loadKubeConfig({}, { env: {}, home, serviceAccountDir: join(dir, 'sa') }));
    expect(err.message).toBe(
      `no kubeconfig found: pass --kubeconfig FILE, set KUBECONFIG, or create ${join(home, '.kube/config')}` +
        ' (outside a pod there is no service account to fall back on)',
    );
  });
});
