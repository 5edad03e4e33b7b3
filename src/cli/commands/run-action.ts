/**
 * Turns a command's failure into what docs/cli.md promises: a message for people on stderr, with
 * `--json` also one document `{"error": {"code", "message", "details"}}` on stdout (the API's error
 * shape), and an exit code scripts can rely on (EXIT in exit-codes.ts).
 */
import type { Command } from 'commander';
import { isPushkeeperError } from '../../errors.ts';
import { ApiError, ApiUnavailableError, NotPushkeeperError } from '../api-client.ts';
import { EXIT } from '../exit-codes.ts';
import { CliError } from './cli-error.ts';
import type { ClientIo, OutputStream } from './client-io.ts';

export { CliError, UsageError } from './cli-error.ts';

export interface ErrorReport {
  readonly code: string;
  readonly message: string;
  readonly details: unknown;
  readonly exitCode: number;
  /** Print `details` for people too (the server's details say which field or line was wrong). */
  readonly showDetails?: boolean;
}

/** Configuration and start-up problems a person fixes before trying again: exit 2 like usage. */
const SET_UP_CODES: ReadonlySet<string> = new Set(['PK_ERR_CONFIG_INVALID', 'PK_ERR_DATA_DIR_UNWRITABLE']);
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['PK_ERR_STORE_UNAVAILABLE', 'PK_ERR_QUEUE_UNAVAILABLE']);

export function errorReport(error: unknown): ErrorReport {
  if (error instanceof CliError) {
    return { code: error.code, message: error.message, details: error.details, exitCode: error.exitCode };
  }
  if (error instanceof ApiUnavailableError) {
    return { code: 'PK_ERR_SERVER_UNREACHABLE', message: error.message, details: { url: error.url }, exitCode: EXIT.unavailable };
  }
  if (error instanceof NotPushkeeperError) {
    return { code: 'PK_ERR_NOT_PUSHKEEPER', message: error.message, details: error.details, exitCode: EXIT.unavailable };
  }
  if (error instanceof ApiError) {
    return {
      code: error.code,
      message: error.bodyMessage,
      details: error.details ?? null,
      exitCode: error.status === 503 ? EXIT.unavailable : EXIT.failure,
      showDetails: true,
    };
  }
  if (isPushkeeperError(error)) {
    const exitCode = SET_UP_CODES.has(error.code)
      ? EXIT.usage
      : UNAVAILABLE_CODES.has(error.code)
        ? EXIT.unavailable
        : EXIT.failure;
    return { code: error.code, message: error.message, details: error.details ?? null, exitCode };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'PK_ERR_INTERNAL', message, details: null, exitCode: EXIT.failure };
}

/** Prints the report: always for people on stderr; with `json`, the document on stdout too. */
export function printErrorReport(
  streams: { readonly stdout: OutputStream; readonly stderr: OutputStream },
  report: ErrorReport,
  json: boolean,
): void {
  streams.stderr.write(`pushkeeper: ${report.message} (${report.code})\n`);
  if (!json && report.showDetails === true && report.details !== null && report.details !== undefined) {
    streams.stderr.write(`  details: ${JSON.stringify(report.details)}\n`);
  }
  if (json) {
    const document = { error: { code: report.code, message: report.message, details: report.details ?? null } };
    streams.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  }
}

/**
 * Wraps an action: on failure, reports it and sets the exit code; it never throws, so commander's
 * own handling of bad options (main.ts) stays separate. The last argument commander passes is the
 * command, whose options say whether --json was given.
 */
export function runAction<A extends unknown[]>(
  io: ClientIo,
  action: (...args: A) => Promise<number | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      io.setExitCode((await action(...args)) ?? EXIT.ok);
    } catch (error) {
      const command = args[args.length - 1] as Command | undefined;
      const json = typeof command?.opts === 'function' && command.opts()['json'] === true;
      const report = errorReport(error);
      io.setExitCode(report.exitCode);
      printErrorReport(io, report, json);
    }
  };
}
