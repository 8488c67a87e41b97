/**
 * Failover on Kubernetes, end to end (issue #13): fault → the first acknowledged write on the
 * affected partition, with the operator as metadata controller. Two operator replicas (processes,
 * config/rbac, a 3 s Lease) on a real kube-apiserver; three `tributary broker` processes of one
 * Cluster whose controller address lists both; the Pod and Node objects a kubelet would keep
 * (test/kube/operator-brokers.ts). The probe is bench/replication's Java producer (acks=all, a
 * record every 5 ms) on an RF=3 partition with min.insync.replicas=2.
 *
 *   node bench/operator-failover.ts [--quick] [--times=N]
 *
 * Faults, each from a healthy cluster (full ISR) and undone before the next:
 *   process killed       SIGKILL of the leader (its image stream closes)
 *   pod deleted          the leader's pod deleted and its process sent SIGTERM, as the kubelet does
 *                        (the pod watch fences it; the broker's controlled shutdown moves the rest)
 *   node NotReady        the leader's node turns NotReady, its process frozen (the node watch)
 *   node frozen          the leader's process frozen, Kubernetes silent (heartbeats: 1.5 s session);
 *                        once more with the probe's request timeout at 1 s
 * A frozen leader answers nothing: the probe waits out its 2 s request timeout before it asks
 * another broker, whatever the controller does, so the frozen rows are bounded by the client. The
 * "new leader" columns time the controller's part alone: fault → a survivor's Metadata names a new
 * leader (polled every 10 ms).
 *   operator hand-over   the leading operator and the leader killed together; the standby takes
 *                        over when the Lease expires (3 s) and fails over
 * Floors (issue #13): kill/delete p50 < 1 s, p99 < 2 s; node failure by heartbeats p99 < 2 s;
 * hand-over within the Lease duration + 1 s.
 */
import type { ConfigMap } from 'kubernetes-types/core/v1.js';
import { decodeState, metadataConfigMapName } from '../src/operator/metadata/kube-store.ts';
import type { ControlPlane } from '../test/kube/harness.ts';
import { startControlPlane } from '../test/kube/harness.ts';
import {
  forgetPod,
  putBrokerPod,
  putNode,
  signal,
  startOperatedCluster,
} from '../test/kube/operator-brokers.ts';
import {
  OPERATOR_NAMESPACE,
  eventually,
  installCrds,
  installOperatorConfig,
  isLeading,
  namespace,
  operatorKubeconfig,
  read,
  spawnOperator,
  type OperatorProcess,
} from '../test/kube/operator-helpers.ts';
import type { BrokerProcess } from '../test/helpers/broker-process.ts';
import { metadataFrom } from '../test/integration/replication/support.ts';
import { printTable } from './harness.ts';
import { measureFailover, type FailoverRun } from './replication/failover.ts';
import type { ClusterTarget } from './replication/targets.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const TIMES = Number(args.find((a) => a.startsWith('--times='))?.slice(8) ?? (quick ? 3 : 10));
const LEASE_MS = 3000;
const LEASE = ['--lease-duration', '3s', '--renew-deadline', '2s', '--retry-period', '250ms'];
const CLUSTER = 'bench';

interface Setup {
  cp: ControlPlane;
  ns: string;
  kubeconfig: string;
  operators: OperatorProcess[];
  brokers: BrokerProcess[];
  /** The leading replica, found before each hand-over fault. */
  leader?: OperatorProcess;
}

const OPERATOR_ARGS = ['--leader-election-namespace', OPERATOR_NAMESPACE, ...LEASE, '--log-level', 'warn'];

/** A replacement replica on the controller port the brokers already know, as a Deployment's would be. */
async function replaceReplica(s: Setup, killed: OperatorProcess): Promise<OperatorProcess> {
  const name = `${killed.name}-${Date.now() % 10000}`;
  const op = await spawnOperator(s.cp, name, s.kubeconfig, OPERATOR_ARGS, {
    controllerPort: Number(killed.controllerAddress.split(':')[1]),
  });
  await eventually(`${name} ready`, async () => (await op.get('/readyz'))?.status === 200, 60_000);
  return op;
}

async function setUp(): Promise<Setup> {
  const cp = await startControlPlane();
  installCrds(cp);
  installOperatorConfig(cp);
  const kubeconfig = await operatorKubeconfig(cp);
  const ns = await namespace(cp, 'bench');
  const started = await startOperatedCluster(cp, {
    ns,
    cluster: CLUSTER,
    kubeconfig,
    operatorArgs: OPERATOR_ARGS,
  });
  return { cp, ns, kubeconfig, operators: started.operators, brokers: started.brokers };
}

/** Every broker unfenced again (the next fault starts from a healthy cluster). */
async function allRegistered(s: Setup): Promise<void> {
  const path = `/api/v1/namespaces/${s.ns}/configmaps/${metadataConfigMapName(CLUSTER)}`;
  await eventually('every broker unfenced', async () => {
    const cm = await read<ConfigMap>(s.cp, path);
    return cm !== undefined && decodeState(cm, path).brokers.filter((b) => !b.fenced).length === 3;
  });
}

async function leadingReplica(s: Setup): Promise<OperatorProcess> {
  return eventually('an operator to lead', async () => {
    for (const op of s.operators) if (op.child.exitCode === null && (await isLeading(op))) return op;
    return undefined;
  });
}

/** The topic being measured, and each fault's time until a survivor's Metadata shows a new leader. */
const watch = { topic: '', moves: [] as number[] };

/**
 * From the fault on, polls a surviving broker's Metadata (every 10 ms) until partition 0 has a
 * leader other than `old`: the controller's part of the failover, without the client's timeouts.
 */
function watchLeaderMove(s: Setup, old: number): void {
  const started = Date.now();
  const survivor = s.brokers[[0, 1, 2].find((n) => n !== old)!]!;
  void (async () => {
    while (Date.now() - started < 60_000) {
      try {
        const p = await metadataFrom(survivor.port, watch.topic, 0);
        if (p.leader >= 0 && p.leader !== old) {
          watch.moves.push(Date.now() - started);
          return;
        }
      } catch {
        // The survivor may be between connections; ask again.
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
}

/** `fault` with the leader-move watch started first. */
const watched =
  (s: Setup, fault: (n: number) => Promise<void>) =>
  async (n: number): Promise<void> => {
    watchLeaderMove(s, n);
    await fault(n);
  };

/** The faults as one ClusterTarget each: measureFailover calls pause/resume (or kill/revive). */
interface Fault {
  name: string;
  fault: 'kill' | 'stop';
  target: ClusterTarget;
  /** The probe's request.timeout.ms, when not the 2 s of every other row. */
  requestTimeoutMs?: number;
}

function targets(s: Setup): Fault[] {
  const base = {
    description: '',
    bootstrap: s.brokers.map((b) => b.bootstrap).join(','),
    brokers: s.brokers.map((b) => b.bootstrap),
    stop: async () => {},
  };
  const b = (n: number): BrokerProcess => s.brokers[n]!;
  const pod = (n: number): string => `${CLUSTER}-broker-${n}`;
  const unused = (): Promise<void> => Promise.reject(new Error('not used by this fault'));
  let killedOperator: OperatorProcess | undefined;
  /** The leader's process frozen, Kubernetes silent: only heartbeats tell. */
  const frozen = (name: string): ClusterTarget => ({
    ...base,
    name,
    kill: unused,
    revive: unused,
    pause: async (n) => signal(b(n), 'SIGSTOP'),
    resume: async (n) => {
      signal(b(n), 'SIGCONT');
      await allRegistered(s);
    },
  });
  return [
    {
      name: 'process killed',
      fault: 'kill',
      target: {
        ...base,
        name: 'kill',
        kill: (n) => b(n).kill(),
        revive: (n) => b(n).restart(),
        pause: unused,
        resume: unused,
      },
    },
    {
      name: 'pod deleted',
      fault: 'stop',
      target: {
        ...base,
        name: 'pod',
        kill: unused,
        revive: unused,
        pause: async (n) => {
          await s.cp.request('DELETE', `/api/v1/namespaces/${s.ns}/pods/${pod(n)}`);
          signal(b(n), 'SIGTERM');
        },
        resume: async (n) => {
          await forgetPod(s.cp, s.ns, pod(n));
          await putBrokerPod(s.cp, s.ns, CLUSTER, n, `node-${n}`);
          await b(n).restart();
          await allRegistered(s);
        },
      },
    },
    {
      name: 'node NotReady',
      fault: 'stop',
      target: {
        ...base,
        name: 'node',
        kill: unused,
        revive: unused,
        pause: async (n) => {
          signal(b(n), 'SIGSTOP');
          await putNode(s.cp, `node-${n}`, false);
        },
        resume: async (n) => {
          signal(b(n), 'SIGCONT');
          await putNode(s.cp, `node-${n}`, true);
          await allRegistered(s);
        },
      },
    },
    { name: 'node frozen (heartbeats)', fault: 'stop', target: frozen('frozen') },
    {
      name: 'node frozen, client timeout 1 s',
      fault: 'stop',
      target: frozen('frozen1s'),
      requestTimeoutMs: 1000,
    },
    {
      name: 'operator hand-over',
      fault: 'kill',
      target: {
        ...base,
        name: 'handover',
        pause: unused,
        resume: unused,
        // The leading replica is found before the fault (measureFailover starts the clock just
        // before calling kill): both die at once.
        kill: async (n) => {
          killedOperator = s.leader!;
          await Promise.all([killedOperator.kill('SIGKILL'), b(n).kill()]);
        },
        revive: async (n) => {
          await b(n).restart();
          // A replacement replica on the killed one's controller port, as a Deployment would.
          const killed = killedOperator!;
          s.operators[s.operators.indexOf(killed)] = await replaceReplica(s, killed);
          s.leader = await leadingReplica(s);
        },
      },
    },
  ];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  console.log(
    `Setting up a control plane, two operator replicas and three brokers (${TIMES} faults of each kind)…`,
  );
  const s = await setUp();
  const results: Array<{ name: string; run: FailoverRun; moves: number[] }> = [];
  try {
    for (const t of targets(s)) {
      console.log(`\n${t.name}:`);
      const target = { ...t.target, kill: watched(s, t.target.kill), pause: watched(s, t.target.pause) };
      watch.topic = `${t.target.name}-${Date.now() % 100000}`;
      s.leader = await leadingReplica(s);
      watch.moves = [];
      const run = await measureFailover(target, {
        topic: watch.topic,
        fault: t.fault,
        requestTimeoutMs: t.requestTimeoutMs,
        times: TIMES,
        log: (line) => console.log(`  ${line}`),
      });
      results.push({ name: t.name, run, moves: watch.moves });
    }
  } finally {
    for (const b of s.brokers) await b.remove();
    for (const op of s.operators) await op.kill('SIGKILL');
    await s.cp.stop();
  }
  printTable(
    'Failover on Kubernetes: fault → first acknowledged write (ms), operator as metadata controller',
    ['fault', 'n', 'p50', 'p99', 'max', 'failed', 'new leader p50', 'max'],
    results.map(({ name, run, moves }) => {
      const stats = (xs: number[]) => {
        const sorted = [...xs].sort((a, b) => a - b);
        return (p: number) => (sorted.length ? percentile(sorted, p).toFixed(0) : '-');
      };
      const f = stats(run.times);
      const m = stats(moves);
      return [
        name,
        String(run.times.length),
        f(50),
        f(99),
        f(100),
        String(run.failures.length),
        m(50),
        m(100),
      ];
    }),
  );
  console.log(
    `\nLease ${LEASE_MS} ms (renew deadline 2 s, retry 250 ms); broker session timeout 1.5 s; heartbeats every 250 ms.`,
  );
  const failed = results.reduce((n, r) => n + r.run.failures.length, 0);
  if (failed > 0) process.exitCode = 1;
}

await main();
