/**
 * `pushkeeper invalidations --app A [--since <time>]`: tokens removed from the registry (APNs said
 * they are no longer valid), oldest first — what an app backend syncs to forget dead tokens.
 */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.ts';
import { UsageError } from './cli-error.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { addListOptions, type ListOptions, printList } from './listing.ts';
import { createPrinter } from './output.ts';
import { runAction } from './run-action.ts';

export function registerInvalidationsCommand(program: Command, io: ClientIo): void {
  addClientOptions(
    addListOptions(
      program
        .command('invalidations')
        .description('tokens removed from the registry, oldest first; pass the last removedAt as --since next time')
        .requiredOption('--app <app>', 'app id')
        .option('--since <time>', 'only removals at or after this ISO 8601 time, e.g. 2026-01-01T00:00:00Z'),
      'invalidations',
    ),
  ).action(
    runAction(io, async (options: ClientOptions & ListOptions & { app: string; since?: string }) => {
      if (options.since !== undefined && Number.isNaN(Date.parse(options.since))) {
        throw new UsageError(`--since must be an ISO 8601 time like 2026-01-01T00:00:00Z, got ${JSON.stringify(options.since)}.`, {
          option: '--since',
        });
      }
      const since = options.since === undefined ? undefined : new Date(options.since).toISOString();
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      await printList(
        io,
        printer,
        client,
        `/v1/apps/${encodeURIComponent(options.app)}/invalidations`,
        { since },
        options,
        ['token', 'reason', 'source', 'apnsTimestamp', 'removedAt'],
        'invalidations',
      );
      return EXIT.ok;
    }),
  );
}
