/**
 * `pushkeeper devices show|delete|logout` — one device record, and unbinding an alias (logout):
 * from one device (`logout <token>`), or from every device of the alias (`logout --alias 42`).
 */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.ts';
import { UsageError } from './cli-error.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { createPrinter } from './output.ts';
import { runAction } from './run-action.ts';

type AppOption = ClientOptions & { app: string };
const appPath = (app: string) => `/v1/apps/${encodeURIComponent(app)}`;

export function registerDeviceRecordCommands(devices: Command, io: ClientIo): void {
  addClientOptions(
    devices
      .command('show')
      .description('show one device')
      .requiredOption('--app <app>', 'app id')
      .argument('<token>', 'device token'),
  ).action(
    runAction(io, async (token: string, options: AppOption) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const device = await client.get<Record<string, unknown>>(
        `${appPath(options.app)}/devices/${encodeURIComponent(token)}`,
      );
      printer.data(device);
      printer.fields(device);
      return EXIT.ok;
    }),
  );

  addClientOptions(
    devices
      .command('delete')
      .description('unregister a device (it receives nothing more until it registers again)')
      .requiredOption('--app <app>', 'app id')
      .argument('<token>', 'device token'),
  ).action(
    runAction(io, async (token: string, options: AppOption) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      await client.request('DELETE', `${appPath(options.app)}/devices/${encodeURIComponent(token)}`);
      printer.data({ token, deleted: true });
      printer.line(`deleted ${token}`);
      return EXIT.ok;
    }),
  );

  addClientOptions(
    devices
      .command('logout')
      .alias('unbind')
      .description('unbind the alias (user) from one device, or with --alias from every device of that alias')
      .requiredOption('--app <app>', 'app id')
      .argument('[token]', 'the device to log out')
      .option('--alias <alias>', 'log this alias out everywhere'),
  ).action(
    runAction(io, async (token: string | undefined, options: AppOption & { alias?: string }) => {
      if ((token === undefined) === (options.alias === undefined)) {
        throw new UsageError('Give either a device token (one device) or --alias <alias> (every device of it).');
      }
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      if (token !== undefined) {
        await client.request('DELETE', `${appPath(options.app)}/devices/${encodeURIComponent(token)}/alias`);
        printer.data({ token, unbound: 1 });
        printer.line(`logged out ${token}`);
        return EXIT.ok;
      }
      const { body } = await client.request<{ alias: string; unbound: number }>(
        'DELETE',
        `${appPath(options.app)}/aliases/${encodeURIComponent(options.alias!)}`,
      );
      printer.data(body);
      printer.line(`logged ${body.alias} out of ${body.unbound} device${body.unbound === 1 ? '' : 's'}`);
      return EXIT.ok;
    }),
  );
}
