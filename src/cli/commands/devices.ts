/**
 * `pushkeeper devices register|list|import|export` for one app; show, delete and logout are in
 * devices-record.ts.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Transform } from 'node:stream';
import type { Command } from 'commander';
import { DEVICE_FIELD_NAMES } from '../../domain/index.ts';
import { EXIT } from '../exit-codes.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { createPrinter } from './output.ts';
import { registerDeviceRecordCommands } from './devices-record.ts';
import { checkOptionFile } from './option-file.ts';
import { addListOptions, DEFAULT_LIST_LIMIT, type ListOptions, printList } from './listing.ts';
import { createProgress } from './progress.ts';
import { runAction } from './run-action.ts';

interface DeviceAnswer {
  readonly token: string;
  readonly environment: string;
  readonly alias: string | null;
  readonly tags: string[];
  readonly locale: string | null;
  readonly lastRegisteredAt: string;
  readonly lastSuccessAt: string | null;
}

interface ImportAnswer {
  readonly created: number;
  readonly updated: number;
  readonly rejected: number;
  readonly rejectedLines: Array<{ line: number; code: string; message: string; reason: string | null }>;
}

type AppOption = ClientOptions & { app: string };
const DEVICE_COLUMNS = ['token', 'environment', 'alias', 'tags', 'locale', 'lastRegisteredAt'];
const appPath = (app: string) => `/v1/apps/${encodeURIComponent(app)}`;
const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerDevicesCommand(program: Command, io: ClientIo): void {
  const devices = program.command('devices').description("manage an app's device registry");

  addClientOptions(
    devices
      .command('register')
      .description('register or refresh a device')
      .requiredOption('--app <app>', 'app id')
      .argument('<token>', 'APNs device token (hex)')
      .option('--environment <env>', 'production or sandbox')
      .option('--alias <alias>', 'bind to this alias (user id)')
      .option('--tag <tag>', 'a tag (repeat for several; replaces the set)', collect)
      .option('--locale <locale>', 'e.g. en_GB'),
  ).action(
    runAction(
      io,
      async (
        token: string,
        options: AppOption & { environment?: string; alias?: string; tag?: string[]; locale?: string },
      ) => {
        const client = clientFor(io, options, 'app');
        const printer = createPrinter(io, options.json === true);
        const body: Record<string, unknown> = {};
        if (options.environment !== undefined) body['environment'] = options.environment;
        if (options.alias !== undefined) body['alias'] = options.alias;
        if (options.tag !== undefined) body['tags'] = options.tag;
        if (options.locale !== undefined) body['locale'] = options.locale;
        const response = await client.request<DeviceAnswer>(
          'PUT',
          `${appPath(options.app)}/devices/${encodeURIComponent(token)}`,
          { body },
        );
        printer.data(response.body);
        printer.line(`${response.status === 201 ? 'registered' : 'refreshed'} ${response.body.token}`);
        printer.fields({
          environment: response.body.environment,
          alias: response.body.alias,
          tags: response.body.tags,
          locale: response.body.locale,
        });
        return EXIT.ok;
      },
    ),
  );

  addClientOptions(
    addListOptions(
      devices
        .command('list')
        .description(`list devices (the first ${DEFAULT_LIST_LIMIT} unless --limit or --all)`)
        .requiredOption('--app <app>', 'app id')
        .option('--alias <alias>', 'only this alias')
        .option('--tag <tag>', 'only this tag')
        .option('--environment <env>', 'only production or sandbox'),
      'devices',
    ),
  ).action(
    runAction(io, async (options: AppOption & ListOptions & { alias?: string; tag?: string; environment?: string }) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const query = { alias: options.alias, tag: options.tag, environment: options.environment };
      await printList<DeviceAnswer>(io, printer, client, `${appPath(options.app)}/devices`, query, options, DEVICE_COLUMNS, 'devices');
      return EXIT.ok;
    }),
  );

  registerDeviceRecordCommands(devices, io);

  addClientOptions(
    devices
      .command('import')
      .description(
        'bulk register from an NDJSON file (one {"token", "environment", "alias", "tags", "locale"} per line); - reads stdin',
      )
      .requiredOption('--app <app>', 'app id')
      .argument('<file>', 'NDJSON file, or - for stdin'),
  ).action(
    runAction(io, async (file: string, options: AppOption) => {
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      // Named up front: a missing file is a usage mistake, not a half-sent stream.
      const total = file === '-' ? null : checkOptionFile('<file>', file, 'ndjson');
      const progress = createProgress(io, 'import', 'bytes', total, options.json === true);
      let sent = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          sent += chunk.length;
          progress.update(sent);
          callback(null, chunk);
        },
      });
      const source = file === '-' ? process.stdin : createReadStream(file);
      source.on('error', (error: Error) => counter.destroy(error));
      let answer: ImportAnswer;
      try {
        const response = await client.request<ImportAnswer>(
          'POST',
          `${appPath(options.app)}/devices:import`,
          {
            stream: source.pipe(counter),
            contentType: 'application/x-ndjson',
          },
        );
        answer = response.body;
      } finally {
        progress.stop();
      }
      printer.data(answer);
      printer.line(`created ${answer.created}, updated ${answer.updated}, rejected ${answer.rejected}`);
      if (answer.rejectedLines.length > 0) {
        printer.table(answer.rejectedLines, ['line', 'code', 'reason', 'message']);
        if (answer.rejected > answer.rejectedLines.length) {
          printer.line(`(first ${answer.rejectedLines.length} of ${answer.rejected} rejected lines shown)`);
        }
      }
      if (answer.rejected === 0) return EXIT.ok;
      return answer.created + answer.updated > 0 ? EXIT.partial : EXIT.failure;
    }),
  );

  addClientOptions(
    devices
      .command('export')
      .description('write every device as NDJSON (the import format) to stdout or --out')
      .requiredOption('--app <app>', 'app id')
      .option('--out <file>', 'write to this file instead of stdout'),
  ).action(
    runAction(io, async (options: AppOption & { out?: string }) => {
      const client = clientFor(io, options, 'app');
      const file = options.out === undefined ? null : createWriteStream(options.out);
      const write = async (text: string) => {
        if (file === null) io.stdout.write(text);
        else if (!file.write(text)) await once(file, 'drain');
      };
      const progress = createProgress(io, 'export', 'devices', null, options.json === true);
      let count = 0;
      try {
        for await (const page of client.pages<DeviceAnswer>(`${appPath(options.app)}/devices`)) {
          await write(page.map((device) => `${JSON.stringify(importFields(device))}\n`).join(''));
          count += page.length;
          progress.update(count);
        }
      } finally {
        progress.stop();
        if (file !== null) {
          file.end();
          await once(file, 'close');
        }
      }
      if (file !== null)
        createPrinter(io, options.json === true).line(`exported ${count} devices to ${options.out}`);
      return EXIT.ok;
    }),
  );
}

/**
 * The fields an import line takes (the token and what PUT sets): the import refuses any other,
 * so the timestamps of the device view stay out of the export.
 */
function importFields(device: DeviceAnswer): Record<string, unknown> {
  const record = device as unknown as Record<string, unknown>;
  return Object.fromEntries(['token', ...DEVICE_FIELD_NAMES].map((name) => [name, record[name]]));
}
