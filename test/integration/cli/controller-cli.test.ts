/**
 * `tributary controller` as a user (or `tributary dev --brokers N`) runs it: --help; each kind of
 * bad input gets exit code 2 and a message naming the flag; a started controller serves its API to
 * token holders only, stops on SIGTERM with exit code 0, and exits when its supervisor's pipe on
 * stdin closes (TRIBUTARY_EXIT_WITH_PARENT=1).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortRange } from '../../helpers/dev-cluster.ts';

const MAIN = join(import.meta.dirname, '../../../src/cli/main.ts');

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: tmpdir(), ...extra };
}

function tributary(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000, env: env() });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tributary-controller-cli-'));
  dirs.push(d);
  return d;
}

/** Starts a controller and resolves once it logged that it listens. */
async function startController(o: { stdin?: 'pipe' | 'ignore'; env?: Record<string, string> } = {}) {
  const dir = tempDir();
  writeFileSync(join(dir, 'token'), 'the-token\n');
  const port = await freePortRange(1);
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'controller',
      '--data-dir',
      join(dir, 'state'),
      '--listen',
      `127.0.0.1:${port}`,
      '--token-file',
      join(dir, 'token'),
    ],
    { stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'], env: env(o.env) },
  );
  children.push(child);
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('Controller listening')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the controller exited (${code}):\n${out}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => out };
}

describe('tributary controller (command line)', () => {
  it('prints its flags with --help and exits 0', () => {
    const r = tributary('controller', '--help');
    expect(r.status).toBe(0);
    for (const flag of [
      '--data-dir DIR',
      '--listen HOST:PORT',
      '--token-file FILE',
      '--session-timeout-ms',
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('is listed by tributary --help', () => {
    expect(tributary('--help').stdout).toMatch(/^ {2}controller /m);
  });

  it.each([
    [['--bogus'], /--bogus/],
    [['--listen', 'nowhere', '--token-file', '/dev/null'], /--listen takes HOST:PORT, got "nowhere"/],
    [
      ['--session-timeout-ms', 'soon'],
      /--session-timeout-ms takes a whole number from 100 to 3600000, got "soon"/,
    ],
    [['--num-partitions', '0'], /--num-partitions takes a whole number from 1/],
    [['--delete-topic-enable', 'maybe'], /--delete-topic-enable takes true or false, got "maybe"/],
    [
      ['--auto-leader-rebalance-enable', 'yes'],
      /--auto-leader-rebalance-enable takes true or false, got "yes"/,
    ],
    [
      ['--leader-imbalance-check-interval-seconds', '0'],
      /--leader-imbalance-check-interval-seconds takes a whole number from 1 to 86400, got "0"/,
    ],
    [
      ['--leader-imbalance-per-broker-percentage', '101'],
      /--leader-imbalance-per-broker-percentage takes a whole number from 0 to 100, got "101"/,
    ],
    [['--log-level', 'loud'], /--log-level takes one of .*got "loud"/],
    [['--log-format', 'xml'], /--log-format takes json or pretty, got "xml"/],
    [[], /needs the token brokers will send: --token-file FILE, or the TRIBUTARY_CONTROLLER_TOKEN/],
    [['--token-file', '/nonexistent/token'], /cannot read the controller token file \/nonexistent\/token/],
  ])('refuses %j with exit code 2, naming what is wrong', (args, message) => {
    const r = tributary('controller', ...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('serves the broker API to token holders only, and stops on SIGTERM with exit code 0', async () => {
    const c = await startController();
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
    const body = JSON.stringify({
      nodeId: 0,
      host: '127.0.0.1',
      port: 9092,
      rack: null,
      incarnationId: 'i',
      clusterId: null,
    });
    const refused = await fetch(`${c.url}/v1/brokers/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(refused.status).toBe(401);
    const registered = await fetch(`${c.url}/v1/brokers/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer the-token' },
      body,
    });
    expect(await registered.json()).toMatchObject({ ok: true, brokerEpoch: expect.any(Number) });
    c.child.kill('SIGTERM');
    const [code] = (await once(c.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(c.output()).toContain('Refused a controller API request without the right token');
    expect(c.output()).not.toContain('the-token');
  });

  it('exits when its supervisor goes (stdin closes) under TRIBUTARY_EXIT_WITH_PARENT=1', async () => {
    const c = await startController({ stdin: 'pipe', env: { TRIBUTARY_EXIT_WITH_PARENT: '1' } });
    c.child.stdin!.destroy();
    const [code] = (await once(c.child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(c.output()).toContain('The supervising process exited; stopping');
  });
});
