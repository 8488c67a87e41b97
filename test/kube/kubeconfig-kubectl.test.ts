/**
 * Our kubeconfig reading against kubectl's (the kubectl built with the control plane): for merged
 * $KUBECONFIG lists, relative file paths, and context overrides, both must pick the same server,
 * CA, namespace and credentials — on our side, what client-node would send with them.
 * `kubectl config view --minify --flatten` prints what kubectl resolved, with every file read into
 * its `-data` field. No API server is needed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Credentials, type RequestCredentials } from '../../src/operator/runtime/credentials.ts';
import { loadKubeConfig, type KubeConfig } from '../../src/operator/runtime/kubeconfig.ts';
import { defaultBinDir } from './harness.ts';

let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tributary-kubeconfig-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Flattened {
  'current-context': string;
  clusters: { cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users: {
    user: { token?: string; 'client-certificate-data'?: string; 'client-key-data'?: string };
  }[];
  contexts: { context: { namespace?: string } }[];
}

/** What kubectl resolves for these files (and context). */
function kubectlView(files: string[], context?: string): Flattened {
  const args = ['config', 'view', '--minify', '--flatten', '-o', 'json'];
  if (context !== undefined) args.push('--context', context);
  const out = execFileSync(join(defaultBinDir(), 'kubectl'), args, {
    env: { PATH: process.env.PATH, HOME: dir, KUBECONFIG: files.join(delimiter) },
    encoding: 'utf8',
  });
  return JSON.parse(out) as Flattened;
}

function ours(files: string[], context?: string): KubeConfig {
  return loadKubeConfig({ context }, { env: { KUBECONFIG: files.join(delimiter) }, home: dir });
}

const base64 = (pem: unknown): string | undefined =>
  pem === undefined ? undefined : Buffer.from(pem as string | Buffer).toString('base64');

/** Both readings agree on everything the connection uses; ours as sent. */
async function expectSame(
  files: string[],
  context?: string,
): Promise<{ config: KubeConfig; sent: RequestCredentials }> {
  const k = kubectlView(files, context);
  const config = ours(files, context);
  const sent = await new Credentials(config).forRequest();
  expect(config.contextName).toBe(k['current-context']);
  expect(config.server).toBe(k.clusters[0].cluster.server);
  expect(base64(sent.tls.ca)).toBe(k.clusters[0].cluster['certificate-authority-data']);
  expect(config.namespace).toBe(k.contexts[0].context.namespace);
  const user = k.users[0]?.user ?? {};
  expect(sent.headers.authorization).toBe(user.token === undefined ? undefined : `Bearer ${user.token}`);
  expect(base64(sent.tls.cert)).toBe(user['client-certificate-data']);
  expect(base64(sent.tls.key)).toBe(user['client-key-data']);
  return { config, sent };
}

const pem = (label: string, body: string): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(body).toString('base64')}\n-----END ${label}-----\n`;

describe('kubeconfig reading agrees with kubectl', () => {
  it('merges $KUBECONFIG first-wins, and resolves relative paths against the file naming them', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    mkdirSync(join(a, 'certs'), { recursive: true });
    mkdirSync(join(b, 'certs'), { recursive: true });
    writeFileSync(join(a, 'certs/ca.crt'), pem('CERTIFICATE', 'ca of a'));
    writeFileSync(join(b, 'certs/client.crt'), pem('CERTIFICATE', 'client of b'));
    writeFileSync(join(b, 'certs/client.key'), pem('PRIVATE KEY', 'key of b'));
    // File a: the current context, a cluster whose CA is a relative path, and a user that b
    // also defines (a's must win).
    writeFileSync(
      join(a, 'config'),
      `apiVersion: v1
kind: Config
current-context: dev
clusters:
  - name: one
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority: certs/ca.crt
users:
  - name: shared
    user:
      token: token-from-a
contexts:
  - name: dev
    context: {cluster: one, user: shared, namespace: team-a}
`,
    );
    // File b: another current-context (ignored: a named one first), a duplicate cluster name
    // (ignored), and a certificate user with relative paths of its own.
    writeFileSync(
      join(b, 'config'),
      `apiVersion: v1
kind: Config
current-context: prod
clusters:
  - name: one
    cluster:
      server: https://10.0.0.1:6443
  - name: two
    cluster:
      server: https://127.0.0.2:443
      certificate-authority-data: ${Buffer.from(pem('CERTIFICATE', 'ca of b')).toString('base64')}
users:
  - name: shared
    user:
      token: token-from-b
  - name: cert-user
    user:
      client-certificate: certs/client.crt
      client-key: certs/client.key
contexts:
  - name: prod
    context: {cluster: two, user: cert-user}
  - name: mixed
    context: {cluster: one, user: cert-user, namespace: team-b}
`,
    );
    const files = [join(a, 'config'), join(b, 'config')];

    const dev = await expectSame(files);
    expect(dev.config.contextName).toBe('dev');
    expect(dev.sent.headers.authorization).toBe('Bearer token-from-a');

    const prod = await expectSame(files, 'prod');
    expect(String(prod.sent.tls.cert)).toContain('-----BEGIN CERTIFICATE-----');

    // A context from b using a's cluster: the CA path is still relative to a.
    const mixed = await expectSame(files, 'mixed');
    expect(mixed.config.server).toBe('https://127.0.0.1:6443');

    // Reversed order: b's current context and b's entries win.
    const reversed = await expectSame([...files].reverse());
    expect(reversed.config.contextName).toBe('prod');
    const devReversed = await expectSame([...files].reverse(), 'dev');
    expect(devReversed.sent.headers.authorization).toBe('Bearer token-from-b');
  });

  it('refuses a file path and a -data field for the same thing, as kubectl does', () => {
    const file = join(dir, 'both');
    writeFileSync(join(dir, 'ca-file.crt'), pem('CERTIFICATE', 'from the file'));
    writeFileSync(
      file,
      `apiVersion: v1
kind: Config
current-context: c
clusters:
  - name: k
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority: ca-file.crt
      certificate-authority-data: ${Buffer.from(pem('CERTIFICATE', 'from the data')).toString('base64')}
users:
  - name: u
    user: {token: t}
contexts:
  - name: c
    context: {cluster: k, user: u}
`,
    );
    expect(() => kubectlView([file])).toThrow(/both path and contents/);
    expect(() => ours([file])).toThrow(/both certificate-authority and certificate-authority-data/);
  });
});
