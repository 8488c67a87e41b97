/**
 * `tributary operator`: flags → an Operator (src/operator/operator.ts) and its HTTP server
 * (/metrics, /healthz, /readyz), stopped cleanly on SIGTERM or Ctrl-C: reconciles in flight finish,
 * the lease is released (the other replica takes over at once), the caches stop, the server closes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LOG_LEVELS, createLogger, type LogLevel, type Logger } from '../common/logger.ts';
import { hostPortListProp } from '../broker/host-port.ts';
import { buildControllerApp } from '../controller/http-server.ts';
import { buildOperatorApp } from '../operator/http.ts';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_LEASE_NAME, Operator } from '../operator/operator.ts';
import { loadKubeConfig } from '../operator/runtime/client.ts';
import { DEFAULT_LEADER_ELECTION } from '../operator/runtime/leader-election.ts';
import { stopOnSignals } from '../operator/runtime/manager.ts';

/** Until releases publish an image, the broker image a Deployment should set with --image. */
export const DEFAULT_BROKER_IMAGE = 'ghcr.io/tributary-dev/tributary:latest';
const DEFAULT_METRICS_LISTEN = '0.0.0.0:8080';
const DEFAULT_CONTROLLER_LISTEN = '0.0.0.0:9643';
/** The headless Service of config/manager: every operator replica's address. */
const CONTROLLER_SERVICE = 'tributary-operator-controller';
const DEFAULT_BROKER_SESSION_TIMEOUT_MS = 1500;
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n', multiple: true },
  'metrics-listen': { type: 'string' },
  'controller-listen': { type: 'string' },
  'controller-address': { type: 'string' },
  'broker-session-timeout': { type: 'string' },
  'broker-advertise': { type: 'string' },
  'leader-elect': { type: 'boolean', default: true },
  'leader-election-namespace': { type: 'string' },
  'leader-election-name': { type: 'string' },
  'lease-duration': { type: 'string' },
  'renew-deadline': { type: 'string' },
  'retry-period': { type: 'string' },
  image: { type: 'string' },
  'cluster-domain': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const;

const seconds = (ms: number): string => `${ms / 1000}s`;

export const OPERATOR_USAGE = `tributary operator [--kubeconfig FILE] [--namespace NS]... [flags]

Runs the Kubernetes operator: turns Cluster resources into brokers (StatefulSet, Services, ConfigMap,
admin Secret, PodDisruptionBudget) and keeps them as the spec says, and is the clusters' metadata
controller: it places partitions, elects leaders and moves leadership when a broker, its pod or its
node fails. Two replicas elect one leader on a Lease; the other keeps warm caches and takes over when
the leader goes. Stops cleanly on SIGTERM.

Flags:
  --kubeconfig FILE                 kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, then the
                                    pod's service account)
  --context NAME                    kubeconfig context (default: its current context)
  -n, --namespace NS                watch only this namespace (repeatable, or comma-separated;
                                    default: every namespace)
  --metrics-listen HOST:PORT        /metrics, /healthz, /readyz (default ${DEFAULT_METRICS_LISTEN})
  --controller-listen HOST:PORT     the metadata controller's API for brokers (default ${DEFAULT_CONTROLLER_LISTEN})
  --controller-address ADDRESSES    where brokers reach it: HOST:PORT, comma-separated, or a name that
                                    resolves to every replica (default ${CONTROLLER_SERVICE}.<namespace>.svc.<domain>:<port>)
  --broker-session-timeout DURATION fence a broker whose heartbeats stop this long (default ${seconds(DEFAULT_BROKER_SESSION_TIMEOUT_MS)})
  --broker-advertise dns|pod-ip     what brokers advertise to clients: their pod's DNS name (default) or
                                    its IP, for clusters without DNS for pods
  --no-leader-elect                 do not elect a leader: reconcile at once (one replica only)
  --leader-election-namespace NS    namespace of the Lease (default: the pod's namespace, else default)
  --leader-election-name NAME       name of the Lease (default ${DEFAULT_LEASE_NAME})
  --lease-duration DURATION         how long others wait before taking over (default ${seconds(DEFAULT_LEADER_ELECTION.leaseDurationMs)})
  --renew-deadline DURATION         how long a leader leads without renewing (default ${seconds(DEFAULT_LEADER_ELECTION.renewDeadlineMs)})
  --retry-period DURATION           how often to try to acquire or renew (default ${seconds(DEFAULT_LEADER_ELECTION.retryPeriodMs)})
  --image IMAGE                     broker image for Clusters that name none; set it to the
                                    operator's own image (default ${DEFAULT_BROKER_IMAGE})
  --cluster-domain DOMAIN           the Kubernetes cluster's DNS domain (default ${DEFAULT_CLUSTER_DOMAIN})
  --log-level LEVEL                 ${LOG_LEVELS.join(', ')} (default info)
  --log-format json|pretty          (pretty needs the development install; default json)

Durations: 500ms, 15s, 1m.`;

class UsageError extends Error {}

export async function runOperator(args: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(args);
  } catch (err) {
    console.error(`tributary operator: ${(err as Error).message}`);
    console.error('Run `tributary operator --help` for the flags.');
    return 2;
  }
  if (values.help) {
    console.log(OPERATOR_USAGE);
    return 0;
  }

  let settings: Settings;
  try {
    settings = settingsFrom(values);
  } catch (err) {
    console.error(`tributary operator: ${(err as Error).message}`);
    return 2;
  }
  let log: Logger;
  try {
    log = createLogger({ name: 'operator', level: settings.logLevel, pretty: settings.pretty });
  } catch (err) {
    console.error(`tributary operator: ${(err as Error).message}`);
    return 2;
  }

  let operator: Operator;
  try {
    const kubeConfig = loadKubeConfig({ kubeconfigPath: values.kubeconfig, context: values.context });
    operator = new Operator({
      kubeConfig,
      namespaces: settings.namespaces,
      image: values.image ?? DEFAULT_BROKER_IMAGE,
      clusterDomain: values['cluster-domain'],
      leaderElection: settings.leaderElection,
      controllerAddress: settings.controllerAddress,
      brokerAdvertise: settings.brokerAdvertise,
      brokerSessionTimeoutMs: settings.brokerSessionTimeoutMs,
      log,
    });
  } catch (err) {
    log.error({ err }, 'Could not load the kubeconfig');
    console.error(`tributary operator: ${(err as Error).message}`);
    return 2;
  }

  const app = buildOperatorApp({
    registry: operator.registry,
    synced: () => operator.synced,
    leading: () => operator.leading,
  });
  try {
    await app.listen(settings.metricsListen);
  } catch (err) {
    log.error({ err }, 'Could not open the metrics listener');
    console.error(
      `tributary operator: cannot listen on ${values['metrics-listen'] ?? DEFAULT_METRICS_LISTEN}: ${(err as Error).message}`,
    );
    return 1;
  }
  const controllerApp = buildControllerApp({
    route: (token, nodeId) => operator.metadata.route(token, nodeId),
    logger: log.child({ component: 'controller-api' }),
    registry: operator.registry,
  });
  try {
    await controllerApp.listen(settings.controllerListen);
  } catch (err) {
    log.error({ err }, 'Could not open the controller listener');
    console.error(
      `tributary operator: cannot listen on ${values['controller-listen'] ?? DEFAULT_CONTROLLER_LISTEN}: ${(err as Error).message}`,
    );
    await app.close();
    return 1;
  }
  log.info(
    {
      metrics: app.listeningOrigin,
      controllerApi: controllerApp.listeningOrigin,
      controllerAddress: settings.controllerAddress,
      namespaces: settings.namespaces.length ? settings.namespaces : 'all',
      leaderElection: settings.leaderElection
        ? `${settings.leaderElection.namespace}/${settings.leaderElection.name}`
        : 'off',
      identity: operator.identity,
    },
    'Started the operator',
  );

  const signals = stopOnSignals(operator);
  let stopping = false;
  void signals.stopped.finally(() => (stopping = true));
  const forceExit = (): void => {
    log.warn('Received a second signal: exiting without finishing the shutdown');
    process.exit(130);
  };
  process.once('SIGTERM', () => process.once('SIGTERM', forceExit));
  process.once('SIGINT', () => process.once('SIGINT', forceExit));

  operator.start().then(
    () => log.info({ leaderElection: settings.leaderElection !== undefined }, 'Caches synced; ready'),
    (err: unknown) => {
      if (stopping) return;
      log.error({ err }, 'The operator failed to start');
      process.exitCode = 1;
      void operator.stop();
    },
  );

  const signal = await signals.stopped.catch((err: unknown) => {
    log.error({ err }, 'Shutdown failed');
    process.exitCode = 1;
    return undefined;
  });
  await controllerApp.close();
  await app.close();
  log.info({ signal }, 'Stopped the operator');
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

function parse(args: string[]) {
  return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false, allowNegative: true })
    .values;
}

interface Settings {
  namespaces: string[];
  metricsListen: { host: string; port: number };
  controllerListen: { host: string; port: number };
  controllerAddress: string;
  brokerAdvertise: 'dns' | 'pod-ip';
  brokerSessionTimeoutMs: number;
  leaderElection:
    | {
        namespace: string;
        name: string;
        leaseDurationMs: number;
        renewDeadlineMs: number;
        retryPeriodMs: number;
      }
    | undefined;
  logLevel: LogLevel;
  pretty: boolean;
}

function settingsFrom(values: ReturnType<typeof parse>): Settings {
  const namespaces = (values.namespace ?? [])
    .flatMap((n) => n.split(','))
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const metricsListen = listenAddress('--metrics-listen', values['metrics-listen'] ?? DEFAULT_METRICS_LISTEN);
  const controllerListen = listenAddress(
    '--controller-listen',
    values['controller-listen'] ?? DEFAULT_CONTROLLER_LISTEN,
  );
  const domain = values['cluster-domain'] ?? DEFAULT_CLUSTER_DOMAIN;
  const controllerAddress =
    values['controller-address'] ??
    `${CONTROLLER_SERVICE}.${ownNamespace()}.svc.${domain}:${controllerListen.port}`;
  // What the brokers will be given: checked by the broker's own parser of controller.address.
  try {
    hostPortListProp('controller.address', '').parse(controllerAddress);
  } catch {
    throw new UsageError(
      `--controller-address takes HOST:PORT, or several separated by commas, got "${controllerAddress}"`,
    );
  }
  const brokerAdvertise = values['broker-advertise'] ?? 'dns';
  if (brokerAdvertise !== 'dns' && brokerAdvertise !== 'pod-ip') {
    throw new UsageError(`--broker-advertise takes dns or pod-ip, got "${brokerAdvertise}"`);
  }
  const brokerSessionTimeoutMs = duration(
    '--broker-session-timeout',
    values['broker-session-timeout'],
    DEFAULT_BROKER_SESSION_TIMEOUT_MS,
  );

  const logLevel = (values['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new UsageError(`--log-level takes one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const format = values['log-format'] ?? 'json';
  if (format !== 'json' && format !== 'pretty') {
    throw new UsageError(`--log-format takes json or pretty, got "${format}"`);
  }

  const leaderElection = values['leader-elect']
    ? {
        namespace: values['leader-election-namespace'] ?? ownNamespace(),
        name: values['leader-election-name'] ?? DEFAULT_LEASE_NAME,
        leaseDurationMs: duration(
          '--lease-duration',
          values['lease-duration'],
          DEFAULT_LEADER_ELECTION.leaseDurationMs,
        ),
        renewDeadlineMs: duration(
          '--renew-deadline',
          values['renew-deadline'],
          DEFAULT_LEADER_ELECTION.renewDeadlineMs,
        ),
        retryPeriodMs: duration(
          '--retry-period',
          values['retry-period'],
          DEFAULT_LEADER_ELECTION.retryPeriodMs,
        ),
      }
    : undefined;
  if (
    leaderElection &&
    !(
      leaderElection.retryPeriodMs < leaderElection.renewDeadlineMs &&
      leaderElection.renewDeadlineMs < leaderElection.leaseDurationMs
    )
  ) {
    throw new UsageError('leader election needs --retry-period < --renew-deadline < --lease-duration');
  }
  return {
    namespaces,
    metricsListen,
    controllerListen,
    controllerAddress,
    brokerAdvertise,
    brokerSessionTimeoutMs,
    leaderElection,
    logLevel,
    pretty: format === 'pretty',
  };
}

function listenAddress(flag: string, text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]*):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`${flag} takes HOST:PORT, got "${text}"`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** `500ms`, `15s`, `1m` in milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  return ms > 0 && Number.isFinite(ms) ? Math.round(ms) : undefined;
}

function duration(flag: string, text: string | undefined, def: number): number {
  if (text === undefined) return def;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`${flag} takes a duration such as 500ms, 15s or 1m, got "${text}"`);
  return ms;
}

/** The namespace this process runs in: $POD_NAMESPACE, the service account's, else `default`. */
function ownNamespace(): string {
  if (process.env['POD_NAMESPACE']) return process.env['POD_NAMESPACE'];
  if (existsSync(SERVICE_ACCOUNT_NAMESPACE)) return readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim();
  return 'default';
}
