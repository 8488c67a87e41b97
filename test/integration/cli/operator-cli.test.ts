/**
 * `tributary operator` as a user runs it, before any API server is involved: --help, and each kind
 * of bad input — an unknown flag, a bad value, an inconsistent set of durations, a kubeconfig that
 * cannot be read or asks for what we do not support — gets exit code 2 and a message that names
 * what is wrong and what to do, without starting anything.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '../../..');

function tributary(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO, 'src/cli/main.ts'), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    // No kubeconfig may be found by accident: not in the environment, not in a home directory.
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'tributary-home-')) },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function kubeconfig(user: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
  const path = join(dir, 'config');
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
current-context: x
clusters:
  - name: c
    cluster: {server: "https://127.0.0.1:1"}
users:
  - name: u
    user: ${user}
contexts:
  - name: x
    context: {cluster: c, user: u}
`,
  );
  return path;
}

describe('tributary operator (command line)', () => {
  it('prints its flags with --help and exits 0', () => {
    const r = tributary('operator', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--kubeconfig FILE');
    expect(r.stdout).toContain('--leader-election-namespace');
  });

  it.each([
    [['--bogus'], /--bogus/],
    [['--lease-duration', 'soon'], /--lease-duration takes a duration such as 500ms, 15s or 1m, got "soon"/],
    [['--metrics-listen', 'nowhere'], /--metrics-listen takes HOST:PORT, got "nowhere"/],
    [['--log-level', 'loud'], /--log-level takes one of .*got "loud"/],
    [['--controller-listen', ':x'], /--controller-listen takes HOST:PORT, got ":x"/],
    [['--controller-address', 'a:1,b'], /--controller-address takes HOST:PORT, or several .*got "a:1,b"/],
    [['--broker-advertise', 'ip'], /--broker-advertise takes dns or pod-ip, got "ip"/],
    [['--broker-session-timeout', '2'], /--broker-session-timeout takes a duration/],
    [
      ['--lease-duration', '5s', '--renew-deadline', '10s'],
      /--retry-period < --renew-deadline < --lease-duration/,
    ],
  ])('refuses %j with exit code 2, naming the flag', (args, message) => {
    const r = tributary('operator', ...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('refuses a kubeconfig it cannot read, naming the file', () => {
    const r = tributary('operator', '--kubeconfig', '/nonexistent/kubeconfig');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('tributary operator: cannot read kubeconfig /nonexistent/kubeconfig');
  });

  it('refuses a legacy auth-provider, saying what to use instead', () => {
    const r = tributary('operator', '--kubeconfig', kubeconfig('{auth-provider: {name: oidc}}'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/user "u": auth-provider "oidc" is not supported.*exec credential plugin/);
  });

  it('says where it looked when there is no kubeconfig and no service account', () => {
    const r = tributary('operator');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /no kubeconfig found: pass --kubeconfig FILE, set KUBECONFIG, or create .*\.kube\/config/,
    );
  });

  it('names an unknown command and the ones there are', () => {
    const r = tributary('operater');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "operater". Commands: dev, broker, controller, operator.');
  });
});
