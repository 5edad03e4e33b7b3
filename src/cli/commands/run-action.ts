/**
 * Turns a command's failure into a message on stderr and an exit code scripts can rely on
 * (EXIT in exit-codes.ts; docs/cli.md): unreachable server or 503 → 3, usage mistakes → 2,
 * anything else the server refused → 1. Partial outcomes set 4 themselves.
 */
import { ApiError, ApiUnavailableError } from '../api-client.ts';
import { EXIT } from '../exit-codes.ts';
import type { ClientIo } from './client-io.ts';

/** A usage mistake found after parsing (e.g. two audiences): exit 2. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

/** A failure with a chosen exit code and a message already fit for people. */
export class CommandFailure extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.failure) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof ApiUnavailableError) return EXIT.unavailable;
  if (error instanceof ApiError) return error.status === 503 ? EXIT.unavailable : EXIT.failure;
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof CommandFailure) return error.exitCode;
  return EXIT.failure;
}

/**
 * Wraps an action: on failure, prints `pushkeeper: <message>` and the error's details on stderr and
 * sets the exit code; it never throws, so commander's own handling of bad options stays separate.
 */
export function runAction<A extends unknown[]>(
  io: ClientIo,
  action: (...args: A) => Promise<number | undefined>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      io.setExitCode((await action(...args)) ?? EXIT.ok);
    } catch (error) {
      io.setExitCode(exitCodeFor(error));
      const message = error instanceof Error ? error.message : String(error);
      io.stderr.write(`pushkeeper: ${message}\n`);
      if (error instanceof ApiError && error.details !== null && error.details !== undefined) {
        io.stderr.write(`  details: ${JSON.stringify(error.details)}\n`);
      }
    }
  };
}
