import { Command } from 'commander';

/** Exit codes scripts can rely on (docs/cli.md). */
export const EXIT = { ok: 0, failure: 1, usage: 2, unavailable: 3, partial: 4 } as const;

export function buildProgram(): Command {
  const program = new Command('pushkeeper')
    .description('Self-hosted push notification service for app backends (APNs).')
    .version('0.1.0')
    .showHelpAfterError();
  return program;
}
