/**
 * What a kubeconfig's credentials put on each request — headers, basic auth and TLS settings — as
 * client-node gives them through {@link Credentials}, with real files and real plugin processes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Credentials, sameTls } from '../../../../src/operator/runtime/credentials.ts';
import { KubeConfigError, parseKubeConfig } from '../../../../src/operator/runtime/kubeconfig.ts';

const V1 = 'client.authentication.k8s.io/v1';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trib-credentials-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const base64 = (s: string): string => Buffer.from(s).toString('base64');

/** Credentials for a kubeconfig whose one context joins `cluster` (extra fields) and `user`. */
function credentialsFor(user: object | undefined, cluster: object = {}): Credentials {
  const kubeconfig = {
    'current-context': 'main',
    clusters: [{ name: 'c', cluster: { server: 'https://k.example:6443', ...cluster } }],
    users: user === undefined ? [] : [{ name: 'u', user }],
    contexts: [{ name: 'main', context: { cluster: 'c', ...(user === undefined ? {} : { user: 'u' }) } }],
  };
  return new Credentials(parseKubeConfig(JSON.stringify(kubeconfig), join(dir, 'config')));
}

describe('credentials > static', () => {
  it('sends a bearer token', async () => {
    const creds = credentialsFor({ token: 'abc' });
    expect((await creds.forRequest()).headers).toEqual({ authorization: 'Bearer abc' });
    expect(creds.refreshable).toBe(false);
  });

  it('sends basic auth as user:password', async () => {
    const sent = await credentialsFor({ username: 'admin', password: 'p:ss' }).forRequest();
    expect(sent.auth).toBe('admin:p:ss');
    expect(sent.headers).toEqual({});
  });

  it('sends impersonation headers, one value per group and extra, extra keys percent-encoded', async () => {
    const creds = credentialsFor({
      token: 'abc',
      as: 'jane',
      'as-groups': ['dev', 'ops'],
      'as-uid': '42',
      'as-user-extra': { scopes: ['view', 'edit'], 'acme.com/project': ['x'], empty: [] },
    });
    expect((await creds.forRequest()).headers).toEqual({
      authorization: 'Bearer abc',
      'impersonate-user': 'jane',
      'impersonate-group': ['dev', 'ops'],
      'impersonate-uid': '42',
      'impersonate-extra-scopes': ['view', 'edit'],
      'impersonate-extra-acme.com%2Fproject': ['x'],
    });
  });

  it('sends nothing for a context without a user, but still verifies the server with its CA', async () => {
    const sent = await credentialsFor(undefined, {
      'certificate-authority-data': base64('CA'),
      'tls-server-name': 'api.example',
    }).forRequest();
    expect(sent.headers).toEqual({});
    expect(sent.auth).toBeUndefined();
    expect(String(sent.tls.ca)).toBe('CA');
    expect(sent.tls.servername).toBe('api.example');
    expect(sent.tls.rejectUnauthorized).toBeUndefined(); // Node's default: verify
  });

  it('does not verify the server with insecure-skip-tls-verify', async () => {
    const sent = await credentialsFor({ token: 't' }, { 'insecure-skip-tls-verify': true }).forRequest();
    expect(sent.tls.rejectUnauthorized).toBe(false);
  });
});

describe('credentials > certificates', () => {
  it('reads the CA, client certificate and key from files relative to the kubeconfig, or from -data', async () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA FROM FILE');
    writeFileSync(join(dir, 'client.crt'), 'CERT FROM FILE');
    writeFileSync(join(dir, 'client.key'), 'KEY FROM FILE');
    const fromFiles = await credentialsFor(
      { 'client-certificate': 'client.crt', 'client-key': join(dir, 'client.key') },
      { 'certificate-authority': 'ca.pem' },
    ).forRequest();
    expect(String(fromFiles.tls.ca)).toBe('CA FROM FILE');
    expect(String(fromFiles.tls.cert)).toBe('CERT FROM FILE');
    expect(String(fromFiles.tls.key)).toBe('KEY FROM FILE');
    expect(fromFiles.headers).toEqual({});

    const fromData = await credentialsFor(
      { 'client-certificate-data': base64('CERT FROM DATA'), 'client-key': 'client.key' },
      { 'certificate-authority-data': base64('CA FROM DATA') },
    ).forRequest();
    expect(String(fromData.tls.ca)).toBe('CA FROM DATA');
    expect(String(fromData.tls.cert)).toBe('CERT FROM DATA');
    expect(String(fromData.tls.key)).toBe('KEY FROM FILE');
  });

  it('reads certificate files afresh, so a rotated certificate makes new TLS settings', async () => {
    writeFileSync(join(dir, 'client.crt'), 'FIRST');
    writeFileSync(join(dir, 'client.key'), 'KEY');
    const creds = credentialsFor({ 'client-certificate': 'client.crt', 'client-key': 'client.key' });
    const first = (await creds.forRequest()).tls;
    expect(sameTls(first, (await creds.forRequest()).tls)).toBe(true);
    writeFileSync(join(dir, 'client.crt'), 'SECOND');
    const second = (await creds.forRequest()).tls;
    expect(String(second.cert)).toBe('SECOND');
    expect(sameTls(first, second)).toBe(false);
  });
});

describe('credentials > token file', () => {
  const tokenFile = (token: string): void => writeFileSync(join(dir, 'token'), token);

  it('sends the token without the trailing newline a file usually has', async () => {
    tokenFile('first\n');
    const creds = credentialsFor({ tokenFile: 'token' });
    expect((await creds.forRequest()).headers).toEqual({ authorization: 'Bearer first' });
    expect(creds.refreshable).toBe(true);
  });

  it('re-reads the file after a minute, not before', async () => {
    tokenFile('first');
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'setTimeout'] });
    try {
      const creds = credentialsFor({ tokenFile: 'token' });
      expect((await creds.forRequest()).headers.authorization).toBe('Bearer first');
      tokenFile('second');
      jest.setSystemTime(Date.now() + 59_000);
      expect((await creds.forRequest()).headers.authorization).toBe('Bearer first');
      jest.setSystemTime(Date.now() + 2_000);
      expect((await creds.forRequest()).headers.authorization).toBe('Bearer second');
    } finally {
      jest.useRealTimers();
    }
  });

  it('re-reads the file at once after invalidate()', async () => {
    tokenFile('first');
    const creds = credentialsFor({ tokenFile: 'token' });
    await creds.forRequest();
    tokenFile('second');
    creds.invalidate();
    expect((await creds.forRequest()).headers).toEqual({ authorization: 'Bearer second' });
  });

  it('fails, naming the file, when it cannot be read', async () => {
    const path = join(dir, 'absent');
    const err = await credentialsFor({ tokenFile: path })
      .forRequest()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as Error).message).toMatch(/^cannot get the credentials of user "u" \(.*\): /);
    expect((err as Error).message).toContain(path);
  });
});

describe('credentials > exec plugin', () => {
  /**
   * A plugin that logs each run (one line appended to `runs`, so concurrent runs all count), records
   * its arguments and KUBERNETES_EXEC_INFO, and prints a token numbered by its run, expiring at
   * $EXPIRES when that is set.
   */
  const COUNTING_PLUGIN = `#!/bin/sh
echo run >> "$PLUGIN_DIR/runs"
printf '%s\\n' "$@" > "$PLUGIN_DIR/args"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$PLUGIN_DIR/info.json"
n=$(wc -l < "$PLUGIN_DIR/runs" | tr -d ' ')
if [ -n "$EXPIRES" ]; then expiry=",\\"expirationTimestamp\\":\\"$EXPIRES\\""; else expiry=''; fi
printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"token-%s"%s}}\\n' "$n" "$expiry"
`;

  function plugin(script: string): void {
    writeFileSync(join(dir, 'plugin.sh'), script, { mode: 0o755 });
  }

  /** A user running ./plugin.sh (next to the kubeconfig) with PLUGIN_DIR and `env` set. */
  const execUser = (exec: object = {}, env: Record<string, string> = {}): object => ({
    exec: {
      apiVersion: V1,
      command: './plugin.sh',
      env: Object.entries({ PLUGIN_DIR: dir, ...env }).map(([name, value]) => ({ name, value })),
      ...exec,
    },
  });

  const runs = (): number =>
    existsSync(join(dir, 'runs')) ? readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n').length : 0;
  const execInfo = (): unknown => JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8'));

  it('runs the plugin with its args, its env and KUBERNETES_EXEC_INFO', async () => {
    plugin(COUNTING_PLUGIN);
    const creds = credentialsFor(execUser({ args: ['get-token', 'with space'], provideClusterInfo: true }), {
      'certificate-authority-data': base64('CLUSTER CA'),
    });
    expect((await creds.forRequest()).headers).toEqual({ authorization: 'Bearer token-1' });
    expect(creds.refreshable).toBe(true);
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe('get-token\nwith space\n');
    expect(execInfo()).toEqual({
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: { server: 'https://k.example:6443', 'certificate-authority-data': base64('CLUSTER CA') },
      },
    });
  });

  it('tells the plugin nothing about the cluster unless provideClusterInfo is set', async () => {
    plugin(COUNTING_PLUGIN);
    await credentialsFor(execUser()).forRequest();
    expect(execInfo()).toEqual({ apiVersion: V1, kind: 'ExecCredential', spec: { interactive: false } });
  });

  it('keeps a credential until its expirationTimestamp', async () => {
    plugin(COUNTING_PLUGIN);
    const creds = credentialsFor(execUser({}, { EXPIRES: new Date(Date.now() + 3_600_000).toISOString() }));
    expect((await creds.forRequest()).headers.authorization).toBe('Bearer token-1');
    expect((await creds.forRequest()).headers.authorization).toBe('Bearer token-1');
    expect(runs()).toBe(1);
  });

  it('runs the plugin again for a credential that has expired', async () => {
    plugin(COUNTING_PLUGIN);
    const creds = credentialsFor(execUser({}, { EXPIRES: '2000-01-01T00:00:00Z' }));
    expect((await creds.forRequest()).headers.authorization).toBe('Bearer token-1');
    expect((await creds.forRequest()).headers.authorization).toBe('Bearer token-2');
  });

  it('keeps a credential without expiry until invalidate(), then runs the plugin again', async () => {
    plugin(COUNTING_PLUGIN);
    const creds = credentialsFor(execUser());
    await creds.forRequest();
    expect((await creds.forRequest()).headers).toEqual({ authorization: 'Bearer token-1' });
    creds.invalidate();
    expect((await creds.forRequest()).headers).toEqual({ authorization: 'Bearer token-2' });
    expect(runs()).toBe(2);
  });

  it('runs the plugin once for concurrent callers', async () => {
    plugin(COUNTING_PLUGIN);
    const creds = credentialsFor(execUser());
    const all = await Promise.all([creds.forRequest(), creds.forRequest(), creds.forRequest()]);
    expect(all.map((sent) => sent.headers.authorization)).toEqual([
      'Bearer token-1',
      'Bearer token-1',
      'Bearer token-1',
    ]);
    expect(runs()).toBe(1);
  });

  it('gives the client certificate a plugin printed', async () => {
    const status = { clientCertificateData: 'PEM CERT', clientKeyData: 'PEM KEY' };
    writeFileSync(join(dir, 'cred.json'), JSON.stringify({ apiVersion: V1, kind: 'ExecCredential', status }));
    plugin('#!/bin/sh\ncat "$PLUGIN_DIR/cred.json"\n');
    const sent = await credentialsFor(execUser()).forRequest();
    expect(String(sent.tls.cert)).toBe('PEM CERT');
    expect(String(sent.tls.key)).toBe('PEM KEY');
    expect(sent.headers).toEqual({});
  });

  it('fails with what the plugin wrote to stderr when it exits non-zero', async () => {
    plugin('#!/bin/sh\necho "not logged in: run login first" >&2\nexit 1\n');
    const err = await credentialsFor(execUser())
      .forRequest()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as Error).message).toBe(
      `exec credential plugin "${join(dir, 'plugin.sh')}" failed: not logged in: run login first`,
    );
  });

  it('runs the plugin again after a failed run', async () => {
    plugin('#!/bin/sh\nexit 3\n');
    const creds = credentialsFor(execUser());
    await expect(creds.forRequest()).rejects.toThrow(KubeConfigError);
    plugin(COUNTING_PLUGIN);
    expect((await creds.forRequest()).headers).toEqual({ authorization: 'Bearer token-1' });
  });
});
