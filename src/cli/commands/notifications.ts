/**
 * `pushkeeper notifications list|show|cancel --app A`: the pushes an app sent (newest first), one
 * push's status, counts and per-device failures, and cancelling one that is not final yet.
 */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { addListOptions, DEFAULT_LIST_LIMIT, type ListOptions, printList } from './listing.ts';
import { createPrinter } from './output.ts';
import { allFailures, type NotificationAnswer, printOutcome } from './push.ts';
import { runAction } from './run-action.ts';

type AppOption = ClientOptions & { app: string };
const notificationsPath = (app: string) => `/v1/apps/${encodeURIComponent(app)}/notifications`;

export function registerNotificationsCommand(program: Command, io: ClientIo): void {
  const notifications = program.command('notifications').description('follow accepted pushes');

  addClientOptions(
    addListOptions(
      notifications
        .command('list')
        .description(`an app's notifications, newest first (the first ${DEFAULT_LIST_LIMIT} unless --limit or --all)`)
        .requiredOption('--app <app>', 'app id'),
      'notifications',
    ),
  ).action(
    runAction(io, async (options: AppOption & ListOptions) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const columns = ['id', 'status', 'targeted', 'accepted', 'rejected', 'invalidated', 'failed', 'pending', 'createdAt'];
      await printList<NotificationAnswer>(
        io,
        printer,
        client,
        notificationsPath(options.app),
        {},
        options,
        columns,
        'notifications',
        (notification) => ({ ...notification, ...notification.counts }),
      );
      return EXIT.ok;
    }),
  );

  addClientOptions(
    notifications
      .command('show')
      .description('status, counts and per-device failures of a notification')
      .requiredOption('--app <app>', 'app id')
      .argument('<id>', 'notification id (ntf_…)'),
  ).action(
    runAction(io, async (id: string, options: AppOption) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const notification = await client.get<NotificationAnswer>(
        `${notificationsPath(options.app)}/${encodeURIComponent(id)}`,
      );
      const failures = await allFailures(client, options.app, id);
      printer.data({ ...notification, failures });
      printOutcome(printer, notification, failures);
      return EXIT.ok;
    }),
  );

  addClientOptions(
    notifications
      .command('cancel')
      .description('stop a notification that is not final: devices not yet sent to get nothing')
      .requiredOption('--app <app>', 'app id')
      .argument('<id>', 'notification id (ntf_…)'),
  ).action(
    runAction(io, async (id: string, options: AppOption) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const { body } = await client.request<{ id: string; result: string; status: string }>(
        'DELETE',
        `${notificationsPath(options.app)}/${encodeURIComponent(id)}`,
      );
      printer.data(body);
      printer.line(`${body.id}: ${body.result} (${body.status})`);
      return EXIT.ok;
    }),
  );
}
