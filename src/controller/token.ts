/**
 * The shared secret between brokers and the controller (docs/adr/0015): where a process finds it
 * (the value set directly, else a file, else TRIBUTARY_CONTROLLER_TOKEN), and how dev mode makes
 * one — 32 random bytes, base64url, in a file only its owner can read.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const TOKEN_ENV = 'TRIBUTARY_CONTROLLER_TOKEN';

export interface TokenSources {
  /** controller.token */
  controllerToken: string | null;
  /** controller.token.file */
  controllerTokenFile: string | null;
}

/**
 * The token from the first source that has one, trimmed (a file written by `echo` ends in a
 * newline); null when none has. Throws when the file cannot be read or holds nothing, naming it.
 */
export function readControllerToken(
  sources: TokenSources,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | null {
  if (sources.controllerToken !== null && sources.controllerToken.trim() !== '') {
    return sources.controllerToken.trim();
  }
  if (sources.controllerTokenFile !== null) return readTokenFile(sources.controllerTokenFile);
  const fromEnv = env[TOKEN_ENV]?.trim();
  return fromEnv ? fromEnv : null;
}

export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the controller token file ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const token = text.trim();
  if (token === '') throw new Error(`the controller token file ${path} is empty`);
  return token;
}

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The token in `path`, made first if the file does not exist (mode 0600; `wx`, so two processes
 * racing to make it cannot both win and hold different tokens).
 */
export function ensureTokenFile(path: string): string {
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(path, generateToken() + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readTokenFile(path);
}
