/**
 * The server commands: `serve` (the API, the workers and the schedules in one process), `worker`
 * (workers and schedules only, for scaling out on PostgreSQL) and `migrate`. Their code is loaded
 * when one of them runs (serve-run.ts), so the client commands start without the server's modules.
 */
import type { Command } from 'commander';
import type { ServeFlags } from './serve-run.ts';

const run = () => import('./serve-run.ts');

function serverOptions(command: Command): Command {
  return command
    .option('--config <file>', 'JSON or YAML settings file (see docs/configuration.md)')
    .option('--database-url <url>', 'sqlite:<path> or postgres://… (PUSHKEEPER_DATABASE_URL)')
    .option('--data-dir <dir>', 'data directory (PUSHKEEPER_DATA_DIR)');
}

export function registerServerCommands(program: Command): void {
  serverOptions(program.command('serve').description('Run the HTTP API, the workers and the schedules in one process.'))
    .option('--port <port>', 'listen port (PUSHKEEPER_PORT)')
    .option('--host <host>', 'listen address (PUSHKEEPER_HOST)')
    .option('--api-only', 'serve the HTTP API without working jobs (cluster mode, beside `worker` processes)')
    .action(async (flags: ServeFlags) => (await run()).serve(flags));
  serverOptions(program.command('worker').description('Run workers and schedules only (cluster mode on PostgreSQL).')).action(async (flags: ServeFlags) => (await run()).worker(flags));
  serverOptions(program.command('migrate').description('Apply database migrations and exit.'))
    .option('--json', 'print the result as JSON')
    .action(async (flags: ServeFlags & { json?: boolean }) => (await run()).migrate(flags));
}
