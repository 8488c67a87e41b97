import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  KubeConfigError,
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
      insecureSkipTlsVerify: true,
      auth: { type: 'token', token: 'dev-token' },
      namespace: 'kafka',
      contextName: 'dev',
      source: path,
    });
    expect(config.ca).toBeUndefined();
    expect(config.clientCert).toBeUndefined();
    expect(config.impersonate).toBeUndefined();
  });

  it('uses the context asked for instead of the current one', () => {
    const path = write('config', TWO_CONTEXTS);
    const config = loadKubeConfig({ kubeconfigPath: path, context: 'prod' }, { env: {} });
    expect(config).toMatchObject({
      server: 'https://prod.example:6443',
      insecureSkipTlsVerify: false,
      tlsServerName: 'api.prod.example',
      auth: { type: 'basic', username: 'admin', password: 's3cret' },
      contextName: 'prod',
    });
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

  it('sends no credentials for a context without a user', () => {
    const config = fromFiles([write('config', kubeconfig({ server: 'http://127.0.0.1:8080' }))]);
    expect(config.auth).toEqual({ type: 'none' });
    expect(config.server).toBe('http://127.0.0.1:8080');
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
      auth: { type: 'tokenFile', path: join(dir, 'first/token') },
      source: [first, second].join(delimiter),
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
    expect(config).toMatchObject({
      contextName: 'two',
      server: 'https://own.example',
      namespace: 'b',
      auth: { type: 'tokenFile', path: join(dir, 'first/token') },
    });
    expect(config.ca?.toString()).toBe('CA OF SECOND');
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
  it('reads the CA from a file or from -data', () => {
    write('ca.pem', 'CA FROM FILE');
    const fromFile = fromFiles([
      write('a', kubeconfig({ server: 'https://k', 'certificate-authority': 'ca.pem' })),
    ]);
    expect(fromFile.ca?.toString()).toBe('CA FROM FILE');
    const fromData = fromFiles([
      write('b', kubeconfig({ server: 'https://k', 'certificate-authority-data': base64('CA FROM DATA') })),
    ]);
    expect(fromData.ca?.toString()).toBe('CA FROM DATA');
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

  it('reads the client certificate and key from files or -data, each on its own', () => {
    write('client.crt', 'CERT FROM FILE');
    write('client.key', 'KEY FROM FILE');
    const cluster = { server: 'https://k' };
    const fromFile = fromFiles([
      write(
        'a',
        kubeconfig(cluster, { 'client-certificate': 'client.crt', 'client-key': join(dir, 'client.key') }),
      ),
    ]);
    expect(fromFile.clientCert?.cert.toString()).toBe('CERT FROM FILE');
    expect(fromFile.clientCert?.key.toString()).toBe('KEY FROM FILE');
    expect(fromFile.auth).toEqual({ type: 'none' });

    const mixed = fromFiles([
      write(
        'b',
        kubeconfig(cluster, {
          'client-certificate-data': base64('CERT FROM DATA'),
          'client-key': 'client.key',
        }),
      ),
    ]);
    expect(mixed.clientCert?.cert.toString()).toBe('CERT FROM DATA');
    expect(mixed.clientCert?.key.toString()).toBe('KEY FROM FILE');
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
    expect(config.impersonate).toEqual({
      user: 'jane',
      groups: ['dev', 'ops'],
      uid: '42',
      extra: { scopes: ['view'] },
    });
    expect(config.auth).toEqual({ type: 'token', token: 't' });
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

  it('reads an exec plugin: command, args, env, cluster info and where its command is found', () => {
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
    expect(fromFiles([path]).auth).toEqual({
      type: 'exec',
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1',
        command: './bin/login',
        args: ['get-token', '--cluster', 'prod'],
        env: { REGION: 'eu' },
        provideClusterInfo: true,
        baseDir: join(dir, 'nested'),
      },
    });
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
    expect(config.ca?.toString()).toBe('CA');
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
      insecureSkipTlsVerify: false,
      auth: { type: 'tokenFile', path: `${sa}/token` },
      namespace: 'kafka',
      contextName: 'in-cluster',
      source: sa,
    });
    expect(config.ca?.toString()).toBe('CLUSTER CA');
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
    expect(config.ca).toBeUndefined();
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
