/** `pushkeeper notifications show --app A <id>`: status, counts and per-device failures. */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { createPrinter } from './output.ts';
import { allFailures, type NotificationAnswer, printOutcome } from './push.ts';
import { runAction } from './run-action.ts';

export function registerNotificationsCommand(program: Command, io: ClientIo): void {
  const notifications = program.command('notifications').description('follow accepted pushes');
  addClientOptions(
    notifications
      .command('show')
      .description('status, counts and per-device failures of a notification')
      .requiredOption('--app <app>', 'app id')
      .argument('<id>', 'notification id (ntf_…)'),
  ).action(
    runAction(io, async (id: string, options: ClientOptions & { app: string }) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const notification = await client.get<NotificationAnswer>(
        `/v1/apps/${encodeURIComponent(options.app)}/notifications/${encodeURIComponent(id)}`,
      );
      const failures = await allFailures(client, options.app, id);
      printer.data({ ...notification, failures });
      printOutcome(printer, notification, failures);
      return EXIT.ok;
    }),
  );
}
