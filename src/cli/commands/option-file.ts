/**
 * Files named by flags (`--p8`, `--cert`, `--ca` …), read with errors that name the flag, the
 * file and the fix — instead of a raw ENOENT, or a server-side schema error about an empty key.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './cli-error.ts';

/** What the file should hold, to say so when it does not. */
export type OptionFileKind = 'p8' | 'pem' | 'p12' | 'ndjson';

const EXPECTED: Readonly<Record<OptionFileKind, string>> = {
  p8: "the .p8 signing key from Apple's developer account (Certificates, Identifiers & Profiles → Keys)",
  pem: 'a PEM file (-----BEGIN …-----)',
  p12: 'a PKCS#12 (.p12) certificate bundle',
  ndjson: 'an NDJSON file (one JSON device per line), or - for stdin',
};

function refuse(flag: string, path: string, reason: string, problem: string, kind: OptionFileKind): never {
  throw new UsageError(
    `${flag} ${path}: ${problem}. Give ${EXPECTED[kind]}.`,
    { option: flag, path: resolve(path), reason },
    'PK_ERR_FILE_UNREADABLE',
  );
}

function refuseError(flag: string, path: string, kind: OptionFileKind, error: unknown): never {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') refuse(flag, path, 'missing', `no such file (looked at ${resolve(path)})`, kind);
  if (code === 'EISDIR') refuse(flag, path, 'directory', 'is a directory, not a file', kind);
  if (code === 'EACCES' || code === 'EPERM') refuse(flag, path, 'permission', 'cannot be read (permission denied)', kind);
  refuse(flag, path, 'unreadable', `cannot be read (${code ?? (error as Error).message})`, kind);
}

/** A file that will be streamed: checked to exist and be readable, not read. Answers its size. */
export function checkOptionFile(flag: string, path: string, kind: OptionFileKind): number {
  try {
    const stats = statSync(path);
    if (stats.isDirectory()) refuse(flag, path, 'directory', 'is a directory, not a file', kind);
    accessSync(path, constants.R_OK);
    return stats.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return refuseError(flag, path, kind, error);
  }
}

export function readOptionFile(flag: string, path: string, kind: OptionFileKind): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    refuseError(flag, path, kind, error);
  }
  if (bytes.toString('utf8').trim().length === 0) refuse(flag, path, 'empty', 'is empty', kind);
  if (kind === 'p8' && !bytes.toString('utf8').includes('-----BEGIN PRIVATE KEY-----')) {
    refuse(flag, path, 'not-p8', 'does not hold a PKCS#8 private key (-----BEGIN PRIVATE KEY-----)', kind);
  }
  if (kind === 'pem' && !bytes.toString('utf8').includes('-----BEGIN ')) {
    refuse(flag, path, 'not-pem', 'is not PEM', kind);
  }
  return bytes;
}

export function readOptionText(flag: string, path: string, kind: OptionFileKind): string {
  return readOptionFile(flag, path, kind).toString('utf8');
}
