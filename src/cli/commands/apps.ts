/** `pushkeeper apps create|list|show|rotate|delete` (admin key). */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { readOptionFile, readOptionText } from './option-file.ts';
import { createPrinter } from './output.ts';
import { runAction, UsageError } from './run-action.ts';

interface CredentialOptions {
  readonly p8?: string;
  readonly keyId?: string;
  readonly teamId?: string;
  readonly cert?: string;
  readonly certKey?: string;
  readonly p12?: string;
  readonly passphrase?: string;
}

interface EndpointOptions {
  readonly productionUrl?: string;
  readonly sandboxUrl?: string;
  readonly ca?: string;
  readonly feedbackHost?: string;
  readonly feedbackPort?: string;
  readonly feedbackIntervalHours?: string;
  readonly feedbackCa?: string;
  readonly webhookUrl?: string;
  readonly webhookSecret?: string;
}

function addCredentialOptions(command: Command): Command {
  return command
    .option('--p8 <file>', 'token auth: the .p8 key file')
    .option('--key-id <id>', 'token auth: the key id (10 characters)')
    .option('--team-id <id>', 'token auth: the team id (10 characters)')
    .option('--cert <file>', 'certificate auth: client certificate (PEM)')
    .option('--cert-key <file>', 'certificate auth: its private key (PEM)')
    .option('--p12 <file>', 'certificate auth: a PKCS#12 file instead of PEM files')
    .option('--passphrase <passphrase>', 'certificate auth: passphrase of the key or PKCS#12 file');
}

function addEndpointOptions(command: Command): Command {
  return command
    .option('--production-url <url>', 'APNs production endpoint for this app (a mock or a proxy)')
    .option('--sandbox-url <url>', 'APNs sandbox endpoint for this app')
    .option('--ca <file>', 'CA certificate (PEM) trusted for those endpoints')
    .option('--feedback-host <host>', 'legacy feedback service host')
    .option('--feedback-port <port>', 'legacy feedback service port')
    .option('--feedback-interval-hours <hours>', 'feedback polling interval for this app')
    .option('--feedback-ca <file>', 'CA certificate (PEM) trusted for the feedback service')
    .option('--webhook-url <url>', 'invalidations are POSTed here')
    .option('--webhook-secret <secret>', 'HMAC secret of the webhook');
}

/** The `apns` body from flags, or undefined when no credential flag was given. */
export function credentialsFromOptions(options: CredentialOptions): Record<string, unknown> | undefined {
  const kinds = [options.p8, options.cert, options.p12].filter((value) => value !== undefined).length;
  if (kinds === 0) return undefined;
  if (kinds > 1) throw new UsageError('Give one of --p8, --cert or --p12.');
  if (options.p8 !== undefined) {
    if (options.keyId === undefined || options.teamId === undefined) {
      throw new UsageError('--p8 needs --key-id and --team-id.');
    }
    return {
      auth: 'token',
      teamId: options.teamId,
      keyId: options.keyId,
      privateKey: readOptionText('--p8', options.p8, 'p8'),
    };
  }
  const passphrase = options.passphrase === undefined ? {} : { passphrase: options.passphrase };
  if (options.p12 !== undefined) {
    const p12Base64 = readOptionFile('--p12', options.p12, 'p12').toString('base64');
    return { auth: 'certificate', p12Base64, ...passphrase };
  }
  if (options.certKey === undefined) throw new UsageError('--cert needs --cert-key.');
  return {
    auth: 'certificate',
    certPem: readOptionText('--cert', options.cert!, 'pem'),
    keyPem: readOptionText('--cert-key', options.certKey, 'pem'),
    ...passphrase,
  };
}

/** Only the settings given: the server keeps every endpoint field a request does not name. */
function settingsFromOptions(options: EndpointOptions): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const endpoints: Record<string, unknown> = {};
  if (options.productionUrl !== undefined) endpoints['production'] = options.productionUrl;
  if (options.sandboxUrl !== undefined) endpoints['sandbox'] = options.sandboxUrl;
  if (options.ca !== undefined) endpoints['caPem'] = readOptionText('--ca', options.ca, 'pem');
  if (Object.keys(endpoints).length > 0) body['endpoints'] = endpoints;
  if (options.feedbackHost !== undefined) {
    body['feedback'] = {
      host: options.feedbackHost,
      port: Number(options.feedbackPort ?? 2196),
      intervalHours:
        options.feedbackIntervalHours === undefined ? null : Number(options.feedbackIntervalHours),
      caPem: options.feedbackCa === undefined ? null : readOptionText('--feedback-ca', options.feedbackCa, 'pem'),
    };
  }
  if (options.webhookUrl !== undefined) {
    if (options.webhookSecret === undefined) throw new UsageError('--webhook-url needs --webhook-secret.');
    body['webhook'] = { url: options.webhookUrl, secret: options.webhookSecret };
  }
  return body;
}

interface AppAnswer {
  readonly id: string;
  readonly name: string;
  readonly topic: string;
  readonly authKind: string;
  readonly health: Readonly<Record<string, { readonly status: string; readonly reason: string | null; readonly since: string | null }>>;
  readonly endpoints: {
    readonly production: string | null;
    readonly sandbox: string | null;
    readonly ca?: { readonly subject: string; readonly sha256: string; readonly validTo: string } | null;
  } | null;
  readonly createdAt: string;
}

function healthText(health: AppAnswer['health'][string] | undefined): string {
  if (health === undefined) return 'unknown';
  if (health.status === 'healthy') return 'healthy';
  return `${health.status} since ${health.since ?? '?'}: ${health.reason ?? ''}`;
}

function appFields(app: AppAnswer) {
  return {
    id: app.id,
    name: app.name,
    topic: app.topic,
    auth: app.authKind,
    apns: healthText(app.health['apns']),
    production: app.endpoints?.production ?? 'Apple (api.push.apple.com)',
    sandbox: app.endpoints?.sandbox ?? 'Apple (api.sandbox.push.apple.com)',
    ca: app.endpoints?.ca ? `${app.endpoints.ca.subject} (SHA-256 ${app.endpoints.ca.sha256}, until ${app.endpoints.ca.validTo})` : 'system CAs',
    created: app.createdAt,
  };
}

export function registerAppsCommand(program: Command, io: ClientIo): void {
  const apps = program.command('apps').description('manage apps (admin key)');

  addEndpointOptions(
    addCredentialOptions(
      addClientOptions(
        apps
          .command('create')
          .description('create an app; prints its id and first keys (shown once)')
          .requiredOption('--name <name>', 'display name')
          .requiredOption('--topic <bundleId>', 'APNs topic (the bundle id)'),
      ),
    ),
  ).action(
    runAction(
      io,
      async (
        options: ClientOptions & CredentialOptions & EndpointOptions & { name: string; topic: string },
      ) => {
        const apns = credentialsFromOptions(options);
        if (apns === undefined)
          throw new UsageError('Give credentials: --p8 (with --key-id, --team-id), --cert or --p12.');
        const client = clientFor(io, options, 'admin');
        const printer = createPrinter(io, options.json === true);
        const { body } = await client.request<AppAnswer & { apiKey: string; publishableKey: string }>(
          'POST',
          '/v1/apps',
          {
            body: { name: options.name, topic: options.topic, apns, ...settingsFromOptions(options) },
          },
        );
        printer.data(body);
        printer.fields({
          ...appFields(body),
          'server key': body.apiKey,
          'publishable key': body.publishableKey,
        });
        printer.line(printer.yellow('The keys are shown once: store them now.'));
        return EXIT.ok;
      },
    ),
  );

  addClientOptions(apps.command('list').description('list apps')).action(
    runAction(io, async (options: ClientOptions) => {
      const client = clientFor(io, options, 'admin');
      const printer = createPrinter(io, options.json === true);
      const items: AppAnswer[] = [];
      for await (const page of client.pages<AppAnswer>('/v1/apps')) items.push(...page);
      printer.data(items);
      printer.table(items.map(appFields), ['id', 'name', 'topic', 'auth', 'apns']);
      return EXIT.ok;
    }),
  );

  addClientOptions(apps.command('show').description('show one app').argument('<app>', 'app id')).action(
    runAction(io, async (appId: string, options: ClientOptions) => {
      const client = clientFor(io, options, 'admin');
      const printer = createPrinter(io, options.json === true);
      const app = await client.get<AppAnswer>(`/v1/apps/${encodeURIComponent(appId)}`);
      printer.data(app);
      printer.fields(appFields(app));
      return EXIT.ok;
    }),
  );

  addEndpointOptions(
    addCredentialOptions(
      addClientOptions(
        apps
          .command('rotate')
          .description("change an app's credentials or settings; what is not given is kept")
          .argument('<app>', 'app id')
          .option('--name <name>', 'new display name')
          .option('--topic <bundleId>', 'new topic'),
      ),
    ),
  ).action(
    runAction(
      io,
      async (
        appId: string,
        options: ClientOptions & CredentialOptions & EndpointOptions & { name?: string; topic?: string },
      ) => {
        const apns = credentialsFromOptions(options);
        const body: Record<string, unknown> = { ...settingsFromOptions(options) };
        if (apns !== undefined) body['apns'] = apns;
        if (options.name !== undefined) body['name'] = options.name;
        if (options.topic !== undefined) body['topic'] = options.topic;
        if (Object.keys(body).length === 0)
          throw new UsageError('Nothing to change: give new credentials or settings.');
        const client = clientFor(io, options, 'admin');
        const printer = createPrinter(io, options.json === true);
        const { body: app } = await client.request<AppAnswer>(
          'PATCH',
          `/v1/apps/${encodeURIComponent(appId)}`,
          { body },
        );
        printer.data(app);
        printer.fields(appFields(app));
        return EXIT.ok;
      },
    ),
  );

  registerAppsDeleteCommand(apps, io);
}

/**
 * `apps delete <app> --yes`: the app and everything it holds (devices, keys, notifications,
 * invalidations) are gone for good, so the command asks for --yes rather than a prompt a script
 * could not answer.
 */
function registerAppsDeleteCommand(apps: Command, io: ClientIo): void {
  addClientOptions(
    apps
      .command('delete')
      .description('delete an app with its devices, keys, notifications and invalidations (needs --yes)')
      .argument('<app>', 'app id')
      .option('--yes', 'yes, delete it and everything it holds'),
  ).action(
    runAction(io, async (appId: string, options: ClientOptions & { yes?: boolean }) => {
      if (options.yes !== true) {
        throw new UsageError(
          `Deleting ${appId} removes its devices, keys, notifications and invalidations for good: add --yes to do it.`,
          { option: '--yes' },
        );
      }
      const client = clientFor(io, options, 'admin');
      const printer = createPrinter(io, options.json === true);
      await client.request('DELETE', `/v1/apps/${encodeURIComponent(appId)}`);
      printer.data({ id: appId, deleted: true });
      printer.line(`deleted ${appId}`);
      return EXIT.ok;
    }),
  );
}
