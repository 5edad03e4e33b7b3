/** `pushkeeper feedback poll --app A`: poll the app's legacy feedback service now. */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { createPrinter } from './output.ts';
import { runAction } from './run-action.ts';

export function registerFeedbackCommand(program: Command, io: ClientIo): void {
  const feedback = program.command('feedback').description('the legacy APNs feedback service');
  addClientOptions(
    feedback
      .command('poll')
      .description('poll the feedback service now and apply what it reports')
      .requiredOption('--app <app>', 'app id'),
  ).action(
    runAction(io, async (options: ClientOptions & { app: string }) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const { body } = await client.request<Record<string, unknown>>(
        'POST',
        `/v1/apps/${encodeURIComponent(options.app)}/feedback:poll`,
      );
      printer.data(body);
      printer.fields(body);
      return EXIT.ok;
    }),
  );
}
