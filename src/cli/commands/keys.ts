/** `pushkeeper keys create|list|revoke` for one app (admin or the app's server key). */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { createPrinter } from './output.ts';
import { runAction, UsageError } from './run-action.ts';

interface KeyAnswer {
  readonly id: string;
  readonly scope: string;
  readonly prefix: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

type AppOption = ClientOptions & { app: string };

export function registerKeysCommand(program: Command, io: ClientIo): void {
  const keys = program.command('keys').description("manage an app's API keys");

  addClientOptions(
    keys
      .command('create')
      .description('issue a key (shown once)')
      .requiredOption('--app <app>', 'app id')
      .option('--scope <scope>', 'server or publishable', 'server'),
  ).action(
    runAction(io, async (options: AppOption & { scope: string }) => {
      if (options.scope !== 'server' && options.scope !== 'publishable') {
        throw new UsageError('--scope must be server or publishable.');
      }
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const { body } = await client.request<KeyAnswer & { key: string }>(
        'POST',
        `/v1/apps/${encodeURIComponent(options.app)}/keys`,
        {
          body: { scope: options.scope },
        },
      );
      printer.data(body);
      printer.fields({ id: body.id, scope: body.scope, key: body.key });
      printer.line(printer.yellow('The key is shown once: store it now.'));
      return EXIT.ok;
    }),
  );

  addClientOptions(
    keys.command('list').description("list an app's keys").requiredOption('--app <app>', 'app id'),
  ).action(
    runAction(io, async (options: AppOption) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const { items } = await client.get<{ items: KeyAnswer[] }>(
        `/v1/apps/${encodeURIComponent(options.app)}/keys`,
      );
      printer.data(items);
      printer.table(
        items.map((k) => ({ ...k, state: k.revokedAt === null ? 'active' : 'revoked' })),
        ['id', 'scope', 'prefix', 'state', 'createdAt', 'lastUsedAt'],
      );
      return EXIT.ok;
    }),
  );

  addClientOptions(
    keys
      .command('revoke')
      .description('revoke a key')
      .requiredOption('--app <app>', 'app id')
      .argument('<keyId>', 'key id'),
  ).action(
    runAction(io, async (keyId: string, options: AppOption) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      await client.request(
        'DELETE',
        `/v1/apps/${encodeURIComponent(options.app)}/keys/${encodeURIComponent(keyId)}`,
      );
      printer.data({ id: keyId, revoked: true });
      printer.line(`revoked ${keyId}`);
      return EXIT.ok;
    }),
  );
}
