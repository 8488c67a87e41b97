/**
 * Test harness for the kube tier: a real etcd + kube-apiserver (and optionally
 * kube-controller-manager) on 127.0.0.1, from the binaries hack/kube/build.sh caches.
 *
 * `startControlPlane()` generates a CA and serving certificate (openssl), an admin bearer token and a
 * service-account key pair in a fresh temp dir, starts etcd and kube-apiserver on free loopback ports,
 * waits for `/readyz`, and writes a kubeconfig (token auth, CA embedded) that kubectl and
 * the operator's own client both read. `stop()` terminates everything (SIGTERM, then SIGKILL) and
 * removes the temp dir. If the test process exits without calling it, an exit hook kills the
 * processes; if the test process is killed outright, a watchdog shell does (within a second).
 * With `scheduler` set, kube-scheduler binds pods to nodes; there are no kubelets here (the e2e tier's
 * stand-in, test/e2e/kubelet/, runs them), so without one pods are stored, never run.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_SCRIPT = 'hack/kube/build.sh';

/** Controllers run when `controllerManager` is set: what the operator relies on, plus namespace deletion. */
export const DEFAULT_CONTROLLERS = [
  'statefulset-controller',
  'garbage-collector-controller',
  'namespace-controller',
];

export interface StartOptions {
  /** Also run kube-controller-manager (default false). */
  controllerManager?: boolean;
  /** Controllers kube-controller-manager runs (default {@link DEFAULT_CONTROLLERS}). */
  controllers?: string[];
  /** More flags for kube-controller-manager (e.g. the node lifecycle controller's grace periods). */
  controllerManagerArgs?: string[];
  /** Also run kube-scheduler (default false). */
  scheduler?: boolean;
  /** Directory holding the binaries (default: the cache dir for the versions pinned in hack/kube). */
  binDir?: string;
  /** How long to wait for each component to become ready (default 60 s). */
  readyTimeoutMs?: number;
}

export interface KubeResponse {
  status: number;
  body: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

export interface ControlPlane {
  /** A kubeconfig (context `tributary-test`, namespace `default`) with the admin token and the CA. */
  kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  server: string;
  /** Bearer token of `tributary-admin`, in group system:masters. */
  token: string;
  /** PEM of the CA that signed the API server's certificate. */
  caCert: string;
  /** The CA's certificate and private key (PEM files): see {@link signClientCertificate}. */
  caCertPath: string;
  caKeyPath: string;
  /** The temp dir: certificates, etcd data, and one log per process (`<name>.log`). */
  dir: string;
  binDir: string;
  /** Process ids of the running components, by name. */
  pids(): Record<string, number>;
  /** A raw request to the API server as the admin (for tests that need no client library). */
  request(method: string, path: string, body?: unknown): Promise<KubeResponse>;
  /**
   * Stops kube-apiserver and starts it again on the same port (same certificate, token and etcd);
   * resolves once it is ready. A graceful stop (SIGTERM: watches get a GOAWAY) unless `kill` is set,
   * which SIGKILLs it as a crash would.
   */
  restartApiServer(options?: { kill?: boolean }): Promise<void>;
  /** Stops everything and removes {@link dir}. Safe to call twice. */
  stop(): Promise<void>;
}

/** The versions pinned by the wrapper modules, read the way hack/kube/build.sh reads them. */
export function pinnedVersions(): { kubernetes: string; etcd: string } {
  const pinned = (goMod: string, module: string): string => {
    const text = readFileSync(join(REPO, 'hack/kube', goMod), 'utf8');
    const m = new RegExp(`(?:^|\\s)${module.replace(/\./g, '\\.')}\\s+(v\\d\\S*)`, 'm').exec(text);
    if (!m) throw new Error(`hack/kube/${goMod} pins no version of ${module}`);
    return m[1];
  };
  return {
    kubernetes: pinned('kubernetes/go.mod', 'k8s.io/kubernetes'),
    etcd: pinned('etcd/go.mod', 'go.etcd.io/etcd/server/v3'),
  };
}

/** `${TRIBUTARY_KUBE_CACHE:-~/.cache/tributary/kube}/<k8s>-etcd<etcd>/bin`, as hack/kube/build.sh lays it out. */
export function defaultBinDir(): string {
  const { kubernetes, etcd } = pinnedVersions();
  const root = process.env.TRIBUTARY_KUBE_CACHE || join(homedir(), '.cache/tributary/kube');
  return join(root, `${kubernetes.replace(/^v/, '')}-etcd${etcd.replace(/^v/, '')}`, 'bin');
}

/** Starts etcd and kube-apiserver (and kube-controller-manager when asked); see the module comment. */
export async function startControlPlane(options: StartOptions = {}): Promise<ControlPlane> {
  const binDir = options.binDir ?? defaultBinDir();
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const needed = [
    'etcd',
    'kube-apiserver',
    ...(options.controllerManager ? ['kube-controller-manager'] : []),
    ...(options.scheduler ? ['kube-scheduler'] : []),
  ];
  const missing = needed.filter((b) => !existsSync(join(binDir, b)));
  if (missing.length > 0) {
    throw new Error(
      `kube binaries missing in ${binDir}: ${missing.join(', ')}. ` +
        `Build them first with \`${BUILD_SCRIPT}\` (a cold build takes about 11 minutes; later runs are instant).`,
    );
  }

  const dir = mkdtempSync(join(tmpdir(), 'tributary-kube-'));
  const cp = new Processes(dir);
  try {
    const [etcdClient, etcdPeer, apiPort, kcmPort, schedulerPort] = await freePorts(5);
    const pki = makePki(dir);
    const server = `https://127.0.0.1:${apiPort}`;
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},tributary-admin,tributary-admin,"system:masters"\n`, {
      mode: 0o600,
    });
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfig(server, pki.caCert, token), { mode: 0o600 });

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    cp.start('etcd', join(binDir, 'etcd'), [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync', // test data: durability is not the point, speed is
      '--log-level=warn',
    ]);
    await cp.waitReady('etcd', readyTimeoutMs, async () => {
      const r = await get(`${etcdUrl}/health`);
      return r.status === 200 && /"health":\s*"true"/.test(r.body);
    });

    const apiArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.serverCertPath}`,
      `--tls-private-key-file=${pki.serverKeyPath}`,
      `--client-ca-file=${pki.caCertPath}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPublicKeyPath}`,
      `--service-account-signing-key-file=${pki.saPrivateKeyPath}`,
      // No kubelet mounts tokens here, and no controller creates `default` service accounts unless
      // asked: without this, every pod (a StatefulSet's too) would be refused.
      '--disable-admission-plugins=ServiceAccount',
      // On SIGTERM, stop within seconds: wait for in-flight requests, then give long-running ones
      // (watches) 2 s after GOAWAY, instead of up to --request-timeout (60 s) for them.
      '--shutdown-send-retry-after=true',
      '--allow-privileged=true',
      '--profiling=false',
    ];
    const apiReady = async (): Promise<boolean> => {
      const r = await get(`${server}/readyz`, { ca: pki.caCert, token });
      return r.status === 200;
    };
    cp.start('kube-apiserver', join(binDir, 'kube-apiserver'), apiArgs);
    await cp.waitReady('kube-apiserver', readyTimeoutMs, apiReady);

    if (options.controllerManager) {
      cp.start('kube-controller-manager', join(binDir, 'kube-controller-manager'), [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        `--controllers=${(options.controllers ?? DEFAULT_CONTROLLERS).join(',')}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${join(dir, 'kcm-certs')}`,
        `--service-account-private-key-file=${pki.saPrivateKeyPath}`,
        `--root-ca-file=${pki.caCertPath}`,
        '--profiling=false',
        ...(options.controllerManagerArgs ?? []),
      ]);
      await cp.waitReady('kube-controller-manager', readyTimeoutMs, async () => {
        // Its /healthz is served to anyone; its certificate is self-signed.
        const r = await get(`https://127.0.0.1:${kcmPort}/healthz`, { insecure: true });
        return r.status === 200;
      });
    }

    if (options.scheduler) {
      cp.start('kube-scheduler', join(binDir, 'kube-scheduler'), [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${schedulerPort}`,
        `--cert-dir=${join(dir, 'scheduler-certs')}`,
        '--profiling=false',
      ]);
      await cp.waitReady('kube-scheduler', readyTimeoutMs, async () => {
        // Like kube-controller-manager's: /healthz open to anyone, a self-signed certificate.
        const r = await get(`https://127.0.0.1:${schedulerPort}/healthz`, { insecure: true });
        return r.status === 200;
      });
    }

    return {
      kubeconfigPath,
      server,
      token,
      caCert: pki.caCert,
      caCertPath: pki.caCertPath,
      caKeyPath: pki.caKeyPath,
      dir,
      binDir,
      pids: () => cp.pids(),
      request: async (method, path, body) => {
        const r = await send(new URL(path, server), { method, body, ca: pki.caCert, token });
        let json: unknown;
        try {
          json = JSON.parse(r.body);
        } catch {
          json = undefined;
        }
        return { ...r, json };
      },
      restartApiServer: async (restart = {}) => {
        await cp.terminate('kube-apiserver', 30_000, restart.kill ? 'SIGKILL' : 'SIGTERM');
        cp.start('kube-apiserver', join(binDir, 'kube-apiserver'), apiArgs);
        await cp.waitReady('kube-apiserver', readyTimeoutMs, apiReady);
      },
      stop: () => cp.stopAll(),
    };
  } catch (err) {
    const logs = cp.logTails();
    await cp.stopAll();
    if (err instanceof Error) err.message += logs;
    throw err;
  }
}

// --- processes --------------------------------------------------------------------------------

/** Every Processes not yet stopped, for the exit hook. */
const live = new Set<Processes>();
let hookInstalled = false;

class Processes {
  private readonly dir: string;
  private readonly children = new Map<string, ChildProcess>();
  private watchdog: ChildProcess | undefined;
  private stopped = false;

  constructor(dir: string) {
    this.dir = dir;
    live.add(this);
    if (!hookInstalled) {
      hookInstalled = true;
      process.on('exit', () => {
        for (const p of live) p.killNow();
      });
    }
  }

  start(name: string, binary: string, args: string[]): void {
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    try {
      const child = spawn(binary, args, { stdio: ['ignore', log, log], cwd: this.dir });
      child.unref(); // the test runner must not wait on it; stop() or the hooks end it
      child.on('error', () => undefined); // a failed spawn shows up as an early exit in waitReady
      this.children.set(name, child);
    } finally {
      closeSync(log);
    }
    this.writePids();
  }

  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, child] of this.children) if (child.pid !== undefined) out[name] = child.pid;
    return out;
  }

  /** Polls `ready` every 100 ms until it resolves true; fails early if the process has exited. */
  async waitReady(name: string, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
    const child = this.children.get(name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${name} exited during start-up (${child?.exitCode ?? child?.signalCode ?? 'not started'})`,
        );
      }
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** `signal` (SIGTERM), then SIGKILL after `graceMs`; resolves once the process has exited. */
  async terminate(name: string, graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.children.get(name);
    this.children.delete(name);
    this.writePids();
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.ref(); // keep the event loop alive until it has exited
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async stopAll(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const name of ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'])
      await this.terminate(name, 5_000);
    for (const name of [...this.children.keys()]) await this.terminate(name, 5_000);
    this.watchdog?.kill('SIGKILL');
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous, for the exit hook. */
  killNow(): void {
    for (const child of this.children.values()) child.kill('SIGKILL');
    this.watchdog?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  logTails(lines = 30): string {
    let out = '';
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      const file = join(this.dir, `${name}.log`);
      if (!existsSync(file)) continue;
      const tail = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      out += `\n--- last ${lines} lines of ${name}.log ---\n${tail}`;
    }
    return out;
  }

  /**
   * Keeps `pids` current for the watchdog: a shell that outlives a test process killed outright
   * (SIGKILL, OOM) and then kills what it started and removes the temp dir.
   */
  private writePids(): void {
    writeFileSync(join(this.dir, 'pids'), Object.values(this.pids()).join(' ') + '\n');
    if (this.watchdog) return;
    const script =
      'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
      'p=$(cat "$2/pids" 2>/dev/null); [ -n "$p" ] && kill $p 2>/dev/null; sleep 3; ' +
      '[ -n "$p" ] && kill -9 $p 2>/dev/null; rm -rf "$2"';
    this.watchdog = spawn('sh', ['-c', script, 'tributary-kube-watchdog', String(process.pid), this.dir], {
      stdio: 'ignore',
      detached: true, // its own process group: a Ctrl-C aimed at the test runner does not reach it
    });
    this.watchdog.unref();
  }
}

// --- certificates and keys --------------------------------------------------------------------

interface Pki {
  caCert: string;
  caCertPath: string;
  caKeyPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  saPublicKeyPath: string;
  saPrivateKeyPath: string;
}

/** A certificate and its key, as PEM and as the files they were written to. */
export interface IssuedCertificate {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

/** Who a client certificate names: the API server takes CN as the user name and each O as a group. */
export interface CertificateSubject {
  commonName: string;
  organisations?: string[];
}

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1,DNS:localhost
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/**
 * A client certificate for `subject`, valid for a day and signed by the control plane's CA (which
 * the API server trusts for client certificates): `<name>.crt` and `<name>.key` in `dir`.
 */
export function signClientCertificate(
  cp: Pick<ControlPlane, 'caCertPath' | 'caKeyPath'>,
  dir: string,
  subject: CertificateSubject,
  name = 'client',
): IssuedCertificate {
  const o = (subject.organisations ?? []).map((org) => `/O=${org}`).join('');
  return issue(dir, {
    name,
    subject: `${o}/CN=${subject.commonName}`,
    extensions: 'client',
    signer: { certPath: cp.caCertPath, keyPath: cp.caKeyPath },
  });
}

/** A self-signed CA for `commonName`, valid for a day, that no control plane's certificates chain to. */
export function selfSignedCa(dir: string, commonName: string, name = 'ca'): IssuedCertificate {
  return issue(dir, { name, subject: `/CN=${commonName}`, extensions: 'ca' });
}

/**
 * A one-day certificate with a fresh EC key (openssl): self-signed, or signed by `signer`. Writes
 * `openssl.cnf`, `<name>.crt` and `<name>.key` in `dir`.
 */
function issue(
  dir: string,
  what: {
    name: string;
    subject: string;
    extensions: 'ca' | 'server' | 'client';
    signer?: { certPath: string; keyPath: string };
  },
): IssuedCertificate {
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, OPENSSL_CONFIG);
  const certPath = join(dir, `${what.name}.crt`);
  const keyPath = join(dir, `${what.name}.key`);
  const signer = what.signer ? ['-CA', what.signer.certPath, '-CAkey', what.signer.keyPath] : [];
  // `req -x509` with -CA (OpenSSL 3) issues in one step, with a random serial number.
  const args = ['req', '-x509', '-config', config, '-extensions', what.extensions, '-days', '1'];
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    execFileSync(
      'openssl',
      [...args, ...key, ...signer, '-subj', what.subject, '-keyout', keyPath, '-out', certPath],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl req failed (is openssl installed?): ${(err as Error).message}\n${stderr}`);
  }
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

/** A CA and an API server certificate for 127.0.0.1, and a service-account key pair. */
function makePki(dir: string): Pki {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { mode: 0o700 });
  const at = (f: string): string => join(pki, f);
  const ca = selfSignedCa(pki, 'tributary-test-ca');
  const server = issue(pki, {
    name: 'apiserver',
    subject: '/CN=kube-apiserver',
    extensions: 'server',
    signer: ca,
  });
  const sa = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  writeFileSync(at('sa.pub'), sa.publicKey);
  writeFileSync(at('sa.key'), sa.privateKey, { mode: 0o600 });
  return {
    caCert: ca.cert,
    caCertPath: ca.certPath,
    caKeyPath: ca.keyPath,
    serverCertPath: server.certPath,
    serverKeyPath: server.keyPath,
    saPublicKeyPath: at('sa.pub'),
    saPrivateKeyPath: at('sa.key'),
  };
}

function kubeconfig(server: string, caCert: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: tributary-test
    cluster:
      server: ${server}
      certificate-authority-data: ${Buffer.from(caCert).toString('base64')}
users:
  - name: tributary-admin
    user:
      token: ${token}
contexts:
  - name: tributary-test
    context:
      cluster: tributary-test
      user: tributary-admin
      namespace: default
current-context: tributary-test
`;
}

// --- small helpers ----------------------------------------------------------------------------

/** Distinct free TCP ports on 127.0.0.1 (held together while choosing, so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = createServer();
      s.listen(0, '127.0.0.1');
      await once(s, 'listening');
      return s;
    }),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

interface SendOptions {
  method?: string;
  body?: unknown;
  ca?: string;
  token?: string;
  insecure?: boolean;
}

function get(url: string, options: SendOptions = {}): Promise<{ status: number; body: string }> {
  return send(new URL(url), options);
}

function send(url: URL, options: SendOptions): Promise<{ status: number; body: string }> {
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (payload !== undefined) {
    headers['content-type'] =
      options.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolvePromise, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        ca: options.ca,
        rejectUnauthorized: !options.insecure,
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        res.setEncoding('utf8');
        let body = '';
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${options.method ?? 'GET'} ${url.href}`)));
    req.on('error', reject);
    req.end(payload);
  });
}
