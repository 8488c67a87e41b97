import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { FakeClock } from '../../../../src/common/clock.ts';
import { Credentials, parseExecCredential } from '../../../../src/operator/runtime/credentials.ts';
import {
  KubeConfigError,
  type ExecConfig,
  type KubeConfig,
  type UserAuth,
} from '../../../../src/operator/runtime/kubeconfig.ts';

const V1 = 'client.authentication.k8s.io/v1';
const START = Date.parse('2030-01-01T00:00:00Z');

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trib-credentials-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function configWith(auth: UserAuth, extra: Partial<KubeConfig> = {}): KubeConfig {
  return {
    server: 'https://k.example:6443',
    insecureSkipTlsVerify: false,
    auth,
    contextName: 'test',
    source: 'test',
    ...extra,
  };
}

describe('credentials > static', () => {
  it('sends a bearer token', async () => {
    const creds = new Credentials(configWith({ type: 'token', token: 'abc' }));
    expect(await creds.headers()).toEqual({ authorization: 'Bearer abc' });
    expect(creds.refreshable).toBe(false);
  });

  it('sends basic auth as base64 of user:password', async () => {
    const creds = new Credentials(configWith({ type: 'basic', username: 'admin', password: 'p:ss' }));
    expect(await creds.headers()).toEqual({
      authorization: `Basic ${Buffer.from('admin:p:ss').toString('base64')}`,
    });
  });

  it('sends impersonation headers, one value per group and extra, extra keys percent-encoded', async () => {
    const creds = new Credentials(
      configWith(
        { type: 'token', token: 'abc' },
        {
          impersonate: {
            user: 'jane',
            groups: ['dev', 'ops'],
            uid: '42',
            extra: { scopes: ['view', 'edit'], 'acme.com/project': ['x'], empty: [] },
          },
        },
      ),
    );
    expect(await creds.headers()).toEqual({
      authorization: 'Bearer abc',
      'impersonate-user': 'jane',
      'impersonate-group': ['dev', 'ops'],
      'impersonate-uid': '42',
      'impersonate-extra-scopes': ['view', 'edit'],
      'impersonate-extra-acme.com%2Fproject': ['x'],
    });
  });

  it('sends nothing for no credentials, and the kubeconfig client certificate for connections', async () => {
    const clientCert = { cert: Buffer.from('CERT'), key: Buffer.from('KEY') };
    const creds = new Credentials(configWith({ type: 'none' }, { clientCert }));
    expect(await creds.headers()).toEqual({});
    expect(await creds.clientCert()).toBe(clientCert);
  });
});

describe('credentials > token file', () => {
  function tokenFile(token: string): string {
    const path = join(dir, 'token');
    writeFileSync(path, token);
    return path;
  }

  it('re-reads the file once a minute, not before', async () => {
    const clock = new FakeClock(START);
    const creds = new Credentials(configWith({ type: 'tokenFile', path: tokenFile('first\n') }), { clock });
    expect(await creds.headers()).toEqual({ authorization: 'Bearer first' });
    expect(creds.refreshable).toBe(true);

    tokenFile('second\n');
    clock.advance(59_999);
    expect(await creds.headers()).toEqual({ authorization: 'Bearer first' });
    clock.advance(1);
    expect(await creds.headers()).toEqual({ authorization: 'Bearer second' });
  });

  it('re-reads the file at once after invalidate()', async () => {
    const clock = new FakeClock(START);
    const creds = new Credentials(configWith({ type: 'tokenFile', path: tokenFile('first') }), { clock });
    await creds.headers();
    tokenFile('second');
    creds.invalidate();
    expect(await creds.headers()).toEqual({ authorization: 'Bearer second' });
  });

  it('keeps the last token read when the file vanishes', async () => {
    const clock = new FakeClock(START);
    const path = tokenFile('first');
    const creds = new Credentials(configWith({ type: 'tokenFile', path }), { clock });
    await creds.headers();
    unlinkSync(path);
    clock.advance(120_000);
    expect(await creds.headers()).toEqual({ authorization: 'Bearer first' });
  });

  it('fails, naming the file, when it was never readable', async () => {
    const path = join(dir, 'absent');
    const creds = new Credentials(configWith({ type: 'tokenFile', path }), { clock: new FakeClock(START) });
    const err = await creds.headers().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as Error).message).toContain(`cannot read the token file ${path}`);
  });
});

describe('credentials > exec plugin', () => {
  /**
   * A plugin that logs each run (one line appended to `runs`, so concurrent runs all count), records
   * its arguments and KUBERNETES_EXEC_INFO, and prints a token numbered by its run.
   */
  const COUNTING_PLUGIN = `#!/bin/sh
echo run >> "$PLUGIN_DIR/runs"
printf '%s\\n' "$@" > "$PLUGIN_DIR/args"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$PLUGIN_DIR/info.json"
n=$(wc -l < "$PLUGIN_DIR/runs" | tr -d ' ')
if [ -n "$EXPIRES" ]; then expiry=",\\"expirationTimestamp\\":\\"$EXPIRES\\""; else expiry=''; fi
printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"token-%s"%s}}\\n' "$n" "$expiry"
`;

  function plugin(name: string, script: string): void {
    writeFileSync(join(dir, name), script, { mode: 0o755 });
  }

  function execConfig(over: Partial<ExecConfig> = {}): ExecConfig {
    return {
      apiVersion: V1,
      command: './plugin.sh',
      args: [],
      env: { PLUGIN_DIR: dir },
      provideClusterInfo: false,
      baseDir: dir,
      ...over,
    };
  }

  const runs = (): number =>
    existsSync(join(dir, 'runs')) ? readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n').length : 0;

  it('runs the plugin with its args, its env and KUBERNETES_EXEC_INFO', async () => {
    plugin('plugin.sh', COUNTING_PLUGIN);
    const exec = execConfig({ args: ['get-token', 'with space'], provideClusterInfo: true });
    const creds = new Credentials(configWith({ type: 'exec', exec }, { ca: Buffer.from('CLUSTER CA') }), {
      clock: new FakeClock(START),
    });
    expect(await creds.headers()).toEqual({ authorization: 'Bearer token-1' });
    expect(creds.refreshable).toBe(true);
    expect(readFileSync(join(dir, 'args'), 'utf8')).toBe('get-token\nwith space\n');
    expect(JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8'))).toEqual({
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: {
        interactive: false,
        cluster: {
          server: 'https://k.example:6443',
          'certificate-authority-data': Buffer.from('CLUSTER CA').toString('base64'),
        },
      },
    });
  });

  it('tells the plugin nothing about the cluster unless provideClusterInfo is set', async () => {
    plugin('plugin.sh', COUNTING_PLUGIN);
    const creds = new Credentials(configWith({ type: 'exec', exec: execConfig() }), {
      clock: new FakeClock(START),
    });
    await creds.headers();
    expect(JSON.parse(readFileSync(join(dir, 'info.json'), 'utf8'))).toEqual({
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
  });

  it('keeps the credential until its expirationTimestamp, then runs the plugin again', async () => {
    plugin('plugin.sh', COUNTING_PLUGIN);
    const clock = new FakeClock(START);
    const exec = execConfig({ env: { PLUGIN_DIR: dir, EXPIRES: '2030-01-01T00:10:00Z' } });
    const creds = new Credentials(configWith({ type: 'exec', exec }), { clock });
    expect(await creds.headers()).toEqual({ authorization: 'Bearer token-1' });
    clock.advance(10 * 60_000 - 1);
    expect(await creds.headers()).toEqual({ authorization: 'Bearer token-1' });
    expect(runs()).toBe(1);
    clock.advance(1);
    expect(await creds.headers()).toEqual({ authorization: 'Bearer token-2' });
    expect(runs()).toBe(2);
  });

  it('keeps a credential without expiry until invalidate(), then runs the plugin again', async () => {
    plugin('plugin.sh', COUNTING_PLUGIN);
    const clock = new FakeClock(START);
    const creds = new Credentials(configWith({ type: 'exec', exec: execConfig() }), { clock });
    await creds.headers();
    clock.advance(24 * 60 * 60_000);
    expect(await creds.headers()).toEqual({ authorization: 'Bearer token-1' });
    creds.invalidate();
    expect(await creds.headers()).toEqual({ authorization: 'Bearer token-2' });
    expect(runs()).toBe(2);
  });

  it('runs the plugin once for concurrent callers', async () => {
    plugin('plugin.sh', COUNTING_PLUGIN);
    const creds = new Credentials(configWith({ type: 'exec', exec: execConfig() }), {
      clock: new FakeClock(START),
    });
    const all = await Promise.all([creds.headers(), creds.headers(), creds.clientCert(), creds.headers()]);
    expect(all).toEqual([
      { authorization: 'Bearer token-1' },
      { authorization: 'Bearer token-1' },
      undefined,
      { authorization: 'Bearer token-1' },
    ]);
    expect(runs()).toBe(1);
  });

  it('gives the client certificate a plugin printed', async () => {
    const status = { clientCertificateData: 'PEM CERT', clientKeyData: 'PEM KEY' };
    writeFileSync(join(dir, 'cred.json'), JSON.stringify({ apiVersion: V1, kind: 'ExecCredential', status }));
    plugin('plugin.sh', '#!/bin/sh\ncat "$PLUGIN_DIR/cred.json"\n');
    const creds = new Credentials(configWith({ type: 'exec', exec: execConfig() }), {
      clock: new FakeClock(START),
    });
    const cert = await creds.clientCert();
    expect(cert?.cert.toString()).toBe('PEM CERT');
    expect(cert?.key.toString()).toBe('PEM KEY');
    expect(await creds.headers()).toEqual({});
  });

  it('fails with what the plugin wrote to stderr when it exits non-zero', async () => {
    plugin('plugin.sh', '#!/bin/sh\necho "not logged in: run login first" >&2\nexit 1\n');
    const creds = new Credentials(configWith({ type: 'exec', exec: execConfig() }), {
      clock: new FakeClock(START),
    });
    const err = await creds.headers().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeConfigError);
    expect((err as Error).message).toMatch(/^exec credential plugin "\.\/plugin\.sh" failed: /);
    expect((err as Error).message).toContain('not logged in: run login first');
  });

  it('runs the plugin again after a failed run', async () => {
    plugin('plugin.sh', '#!/bin/sh\nexit 3\n');
    const creds = new Credentials(configWith({ type: 'exec', exec: execConfig() }), {
      clock: new FakeClock(START),
    });
    await expect(creds.headers()).rejects.toThrow(KubeConfigError);
    plugin('plugin.sh', COUNTING_PLUGIN);
    expect(await creds.headers()).toEqual({ authorization: 'Bearer token-1' });
  });
});

describe('credentials > parseExecCredential', () => {
  const exec: ExecConfig = {
    apiVersion: V1,
    command: 'login',
    args: [],
    env: {},
    provideClusterInfo: false,
    baseDir: '/',
  };
  const print = (doc: object): string => JSON.stringify(doc);
  const credential = (status: object): string => print({ apiVersion: V1, kind: 'ExecCredential', status });

  it('reads a token, a certificate and an expiry', () => {
    expect(
      parseExecCredential(credential({ token: 't', expirationTimestamp: '2030-01-01T00:00:00Z' }), exec),
    ).toEqual({
      token: 't',
      clientCert: undefined,
      expiresAt: START,
    });
    const withCert = parseExecCredential(
      credential({ clientCertificateData: 'C', clientKeyData: 'K' }),
      exec,
    );
    expect(withCert.token).toBeUndefined();
    expect(withCert.clientCert?.cert.toString()).toBe('C');
    expect(withCert.expiresAt).toBeUndefined();
  });

  it('refuses output that is not JSON', () => {
    expect(() => parseExecCredential('Please log in', exec)).toThrow(
      'exec credential plugin "login" did not print JSON: Please log in',
    );
  });

  it('refuses another kind or another version than the one asked for', () => {
    expect(() =>
      parseExecCredential(print({ apiVersion: V1, kind: 'Status', status: { token: 't' } }), exec),
    ).toThrow(KubeConfigError);
    expect(() =>
      parseExecCredential(
        print({
          apiVersion: 'client.authentication.k8s.io/v1beta1',
          kind: 'ExecCredential',
          status: { token: 't' },
        }),
        exec,
      ),
    ).toThrow(`printed client.authentication.k8s.io/v1beta1 ExecCredential; expected ${V1} ExecCredential`);
  });

  it('refuses a credential with neither a token nor a certificate', () => {
    expect(() => parseExecCredential(credential({ token: '' }), exec)).toThrow(
      'gave neither a token nor a client certificate',
    );
    expect(() => parseExecCredential(print({ apiVersion: V1, kind: 'ExecCredential' }), exec)).toThrow(
      KubeConfigError,
    );
  });

  it('refuses a certificate without its key, and a key without its certificate', () => {
    expect(() => parseExecCredential(credential({ token: 't', clientCertificateData: 'C' }), exec)).toThrow(
      'gave clientCertificateData or clientKeyData without the other',
    );
    expect(() => parseExecCredential(credential({ clientKeyData: 'K' }), exec)).toThrow(KubeConfigError);
  });

  it('refuses an expirationTimestamp that is not a time', () => {
    expect(() => parseExecCredential(credential({ token: 't', expirationTimestamp: 'soon' }), exec)).toThrow(
      'gave an expirationTimestamp that is not a time: soon',
    );
  });
});
