/**
 * `tributary dev --brokers N` as a user runs it: --help, bad --brokers values and flags (exit code
 * 2, naming the flag, nothing started), the refusal of a single broker's data directory, the
 * addresses brokers advertise with --advertised-port, and the supervisor's promises about its
 * children: a SIGTERM stops every one of them before it exits, and after a SIGKILL of the supervisor
 * none survives.
 *
 * What a cluster does with real clients is tested through test/helpers/dev-cluster.ts elsewhere.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restartDelay } from '../../../src/cli/dev.ts';
import { ApiKey } from '../../../src/protocol/messages/index.ts';
import type { MetadataResponse } from '../../../src/protocol/messages/metadata-response.ts';
import { eventually, freePortRange } from '../../helpers/dev-cluster.ts';
import { RawClient } from '../../helpers/raw-client.ts';

const MAIN = join(import.meta.dirname, '../../../src/cli/main.ts');

function env(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: tmpdir() };
}

function tributary(
  cwd: string,
  ...args: string[]
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd,
    encoding: 'utf8',
    timeout: 30_000,
    env: env(),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dirs: string[] = [];
const spawned: ChildProcess[] = [];
let orphans: number[] = [];
afterEach(() => {
  for (const c of spawned.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const p of orphans.splice(0)) if (alive(p)) process.kill(p, 'SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tributary-dev-cli-'));
  dirs.push(d);
  return d;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const ps = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  return ps.stdout.trim() !== '' && !ps.stdout.trim().startsWith('Z');
}

function childrenOf(pid: number): number[] {
  const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

/** Starts `tributary dev --brokers 3` in a temp root on free ports; resolves once it says it runs. */
async function startDev(
  extra: string[] = [],
  port?: number,
): Promise<{ child: ChildProcess; root: string; output: () => string }> {
  const root = tempDir();
  port ??= await freePortRange(3);
  const admin = (await freePortRange(4)) + 1;
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'dev',
      '--brokers',
      '3',
      '--data-dir',
      root,
      '--port',
      String(port),
      '--admin-port',
      String(admin),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: env() },
  );
  spawned.push(child);
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Tributary is running: 3 brokers')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tributary dev exited (${code}):\n${out}`)));
  });
  return { child, root, output: () => out };
}

describe('tributary dev (command line)', () => {
  it('documents --brokers, the ports, the data layout and the shutdown with --help', () => {
    const r = tributary(tempDir(), 'dev', '--help');
    expect(r.status).toBe(0);
    for (const text of [
      '--brokers N',
      '127.0.0.1:(9092+i)',
      'broker-i',
      'controller',
      'controlled shutdown',
      '--advertised-port PORT',
      '--broker-controller-port PORT',
    ]) {
      expect(r.stdout).toContain(text);
    }
  });

  it.each([['0'], ['10'], ['x'], ['2.5'], ['-1']])(
    'refuses --brokers %s with exit code 2, naming the flag',
    (n) => {
      const cwd = tempDir();
      const r = tributary(cwd, 'dev', '--brokers', n);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`--brokers takes a whole number from 1 to 9, got "${n}"`);
    },
  );

  it('refuses --brokers without a number', () => {
    const r = tributary(tempDir(), 'dev', '--brokers');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--brokers takes a number');
  });

  it('refuses a flag the supervisor does not take, naming it', () => {
    const r = tributary(tempDir(), 'dev', '--brokers', '3', '--node-id', '4');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--node-id.*with --brokers 3/);
  });

  it.each([
    [['--port', 'high'], /--port takes a port from 1 to/],
    [['--advertised-port', '0'], /--advertised-port takes a port from 1 to 65534, got "0"/],
    [['--advertised-port', '65535'], /--advertised-port takes a port from 1 to 65534, got "65535"/],
    [['--broker-controller-port', 'x'], /--broker-controller-port takes a port from 1 to 65534, got "x"/],
    [['--set', 'novalue'], /--set takes NAME=VALUE, got "novalue"/],
    [['--log-format', 'xml'], /--log-format takes json or pretty/],
  ])('refuses %j with exit code 2', (args, message) => {
    const r = tributary(tempDir(), 'dev', '--brokers', '2', ...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("refuses to turn a single broker's data directory into a cluster's, saying what to do", () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'tributary-data'));
    writeFileSync(join(cwd, 'tributary-data', 'metadata.json'), '{}');
    const r = tributary(cwd, 'dev', '--brokers', '3');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('holds the data of a single broker');
    expect(r.stderr).toContain('tributary dev --brokers 1');
    expect(r.stderr).toContain('--data-dir');
    expect(r.stderr).toContain(`mv ${join(cwd, 'tributary-data')}`);
  });

  it("refuses to run one broker over a cluster's data directory, saying what to do", () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'tributary-data', 'controller'), { recursive: true });
    const r = tributary(cwd, 'dev');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("holds a cluster's data");
    expect(r.stderr).toContain('tributary dev --brokers N');
  });
});

describe('tributary dev > restart back-off', () => {
  it('restarts after 0.5 s, doubling to 10 s, and starts over after 30 s up', () => {
    const delays: number[] = [];
    let d: number | null = null;
    for (let i = 0; i < 7; i++) delays.push((d = restartDelay(d, 1000)));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(restartDelay(10_000, 30_000)).toBe(500);
  });
});

describe('tributary dev --brokers 3 (the supervisor)', () => {
  it('starts a controller and 3 brokers, each answering /readyz, with a token only its owner can read', async () => {
    const dev = await startDev();
    const kids = childrenOf(dev.child.pid!);
    expect(kids).toHaveLength(4);
    expect(statSync(join(dev.root, 'controller', 'token')).mode & 0o777).toBe(0o600);
    expect(dev.output()).toMatch(/Bootstrap servers: 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/);
    dev.child.kill('SIGTERM');
    const [code] = (await once(dev.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    for (const k of kids) expect(alive(k)).toBe(false);
  }, 90_000);

  it('stops everything with exit code 2 when a broker refuses its configuration, rather than restarting it', async () => {
    const port = await freePortRange(2);
    const admin = (await freePortRange(3)) + 1;
    const args = ['--port', String(port), '--admin-port', String(admin), '--set', 'no.such.property=1'];
    const r = tributary(tempDir(), 'dev', '--brokers', '2', ...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no.such.property');
    expect(r.stdout).toMatch(/broker-\d refused its configuration \(exit code 2\); stopping everything/);
  }, 60_000);

  it('has broker i advertise 127.0.0.1:(--advertised-port + i) in Metadata, and prints those as the bootstrap servers', async () => {
    const port = await freePortRange(6);
    const advertised = port + 3;
    const dev = await startDev(['--advertised-port', String(advertised)], port);
    // Nothing listens on the advertised ports (a proxy would): ask broker 1 on its own port.
    const client = await RawClient.connect(port + 1);
    try {
      const res = await client.call<MetadataResponse>(ApiKey.Metadata, 12, {
        topics: [],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      const listed = res.brokers.map((b) => `${b.nodeId}=${b.host}:${b.port}`).sort();
      expect(listed).toEqual([0, 1, 2].map((i) => `${i}=127.0.0.1:${advertised + i}`));
    } finally {
      client.close();
    }
    expect(dev.output()).toContain(
      `Bootstrap servers: ${[0, 1, 2].map((i) => `127.0.0.1:${advertised + i}`).join(',')}`,
    );
    dev.child.kill('SIGTERM');
    await once(dev.child, 'exit');
  }, 90_000);

  it('leaves no child running when it is SIGKILLed', async () => {
    const dev = await startDev();
    const kids = childrenOf(dev.child.pid!);
    orphans = [...kids];
    expect(kids).toHaveLength(4);
    dev.child.kill('SIGKILL');
    await eventually(
      () => {
        const survivors = kids.filter(alive);
        if (survivors.length > 0) throw new Error(`still running: ${survivors.join(', ')}`);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  }, 90_000);
});
