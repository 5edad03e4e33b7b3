/** Failures the CLI finds itself, each with its catalogue code and exit code (docs/cli.md). */
import type { ErrorCode } from '../../errors.ts';
import { EXIT } from '../exit-codes.ts';

/** A failure found by the CLI itself, with its catalogue code and exit code. */
export class CliError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, exitCode: number, details: unknown = null) {
    super(message);
    this.name = 'CliError';
    this.code = code;
    this.exitCode = exitCode;
    this.details = details;
  }
}

/** A usage mistake found after parsing (e.g. two audiences, a --payload that is not an object): exit 2. */
export class UsageError extends CliError {
  constructor(message: string, details: unknown = null, code: ErrorCode = 'PK_ERR_USAGE') {
    super(code, message, EXIT.usage, details);
    this.name = 'UsageError';
  }
}
