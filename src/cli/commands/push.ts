/**
 * `pushkeeper push --app A --alias 42 --alert "Hello" [--wait]`: accept a push; with --wait, follow
 * it until it is final and print the outcome per device (the failures list plus the counts).
 * Exit: 0 all accepted, 4 some devices not reached, 1 failed or cancelled or nothing reached,
 * 5 not final within --timeout. The payload is checked with the API's own rules before it is sent.
 */
import type { Command } from 'commander';
import { isPushType, serialisePayload } from '../../domain/index.ts';
import { EXIT } from '../exit-codes.ts';
import type { ApiClient } from '../api-client.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { createPrinter, type Printer } from './output.ts';
import { createProgress } from './progress.ts';
import { CliError, runAction, UsageError } from './run-action.ts';
import { pollDelays } from './wait.ts';

export interface NotificationAnswer {
  readonly id: string;
  readonly status: 'queued' | 'sending' | 'done' | 'failed' | 'cancelled';
  readonly counts: {
    readonly targeted: number;
    readonly accepted: number;
    readonly rejected: number;
    readonly invalidated: number;
    readonly failed: number;
    readonly pending: number;
  };
  readonly failureReason: string | null;
  readonly createdAt: string;
  readonly completedAt: string | null;
}

export interface FailureAnswer {
  readonly token: string;
  readonly outcome: string;
  readonly reason: string | null;
  readonly at: string;
}

const FINAL = new Set(['done', 'failed', 'cancelled']);
const list = (value: string, previous: string[] = []) => [
  ...previous,
  ...value.split(',').filter((v) => v.length > 0),
];

interface PushOptions extends ClientOptions {
  readonly app: string;
  readonly alias?: string;
  readonly aliases?: string[];
  readonly tokens?: string[];
  readonly tag?: string[];
  readonly all?: boolean;
  readonly alert?: string;
  readonly title?: string;
  readonly badge?: string;
  readonly sound?: string;
  readonly payload?: string;
  readonly pushType?: string;
  readonly priority?: string;
  readonly expiration?: string;
  readonly collapseId?: string;
  readonly idempotencyKey?: string;
  readonly wait?: boolean;
  readonly timeout: string;
}

export function audienceFromOptions(options: PushOptions): Record<string, unknown> {
  const forms: Array<Record<string, unknown>> = [];
  if (options.alias !== undefined) forms.push({ alias: options.alias });
  if (options.aliases !== undefined) forms.push({ aliases: options.aliases });
  if (options.tokens !== undefined) forms.push({ tokens: options.tokens });
  if (options.tag !== undefined) forms.push({ tags: options.tag });
  if (options.all === true) forms.push({ all: true });
  if (forms.length !== 1)
    throw new UsageError('Give exactly one audience: --alias, --aliases, --tokens, --tag or --all.');
  return forms[0]!;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A whole number from a flag, or a usage error naming the flag. */
function wholeNumber(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(text)}.`, { option: flag, value: text });
  }
  return value;
}

/**
 * The payload from --payload and the aps flags. A `--payload` whose `aps` is not an object is
 * refused, never merged: spreading a string would send its characters as keys.
 */
export function payloadFromOptions(options: PushOptions): Record<string, unknown> {
  let payload: Record<string, unknown> = {};
  if (options.payload !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.payload);
    } catch {
      throw new UsageError('--payload is not JSON: give an object like \'{"aps": {"alert": "Hello"}}\'.', { option: '--payload' }, 'PK_ERR_PAYLOAD_INVALID');
    }
    if (!isObject(parsed)) {
      throw new UsageError('--payload must be a JSON object like \'{"aps": {"alert": "Hello"}}\'.', { option: '--payload', reason: 'not-object' }, 'PK_ERR_PAYLOAD_INVALID');
    }
    payload = parsed;
  }
  if (payload['aps'] !== undefined && !isObject(payload['aps'])) {
    throw new UsageError(
      `--payload: "aps" must be a JSON object like {"aps": {"alert": "Hello"}}, got ${JSON.stringify(payload['aps'])}.`,
      { option: '--payload', reason: 'aps-not-object' },
      'PK_ERR_PAYLOAD_INVALID',
    );
  }
  const aps: Record<string, unknown> = { ...(payload['aps'] as Record<string, unknown> | undefined) };
  if (options.alert !== undefined || options.title !== undefined) {
    aps['alert'] =
      options.title === undefined ? options.alert : { title: options.title, body: options.alert ?? '' };
  }
  if (options.badge !== undefined) aps['badge'] = wholeNumber('--badge', options.badge, 0);
  if (options.sound !== undefined) aps['sound'] = options.sound;
  if (Object.keys(aps).length > 0) payload = { ...payload, aps };
  if (Object.keys(payload).length === 0) throw new UsageError('Give --alert, --title or --payload.');
  // The API's own rules for the push type (an unknown type is left for the server to name).
  const type = options.pushType === undefined ? 'alert' : options.pushType;
  if (isPushType(type)) {
    const checked = serialisePayload(payload, type);
    if (!checked.ok) {
      throw new UsageError(
        `--payload: ${checked.error.message}`,
        { option: '--payload', reason: checked.error.reason ?? null },
        checked.error.code,
      );
    }
  }
  return payload;
}

function optionsFromFlags(options: PushOptions): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (options.pushType !== undefined) out['pushType'] = options.pushType;
  if (options.priority !== undefined) out['priority'] = wholeNumber('--priority', options.priority, 1);
  if (options.expiration !== undefined) out['expiration'] = wholeNumber('--expiration', options.expiration, 0);
  if (options.collapseId !== undefined) out['collapseId'] = options.collapseId;
  return Object.keys(out).length === 0 ? undefined : out;
}

export async function allFailures(client: ApiClient, appId: string, id: string): Promise<FailureAnswer[]> {
  const failures: FailureAnswer[] = [];
  const path = `/v1/apps/${encodeURIComponent(appId)}/notifications/${encodeURIComponent(id)}/failures`;
  for await (const page of client.pages<FailureAnswer>(path)) failures.push(...page);
  return failures;
}

function unregisteredLine(unregistered: number, given: number): string {
  const plural = unregistered !== 1;
  return `${unregistered} of ${given} given token${given === 1 ? '' : 's'} ${plural ? 'are' : 'is'} not registered: nothing is sent to ${plural ? 'them' : 'it'}`;
}

/** Tokens checked one by one, at most this many: beyond it the counts of `--wait` tell. */
const TOKEN_CHECK_LIMIT = 100;

/** The given tokens the registry does not hold (GET …/devices/:token answers 404). */
async function unregisteredTokens(client: ApiClient, appId: string, tokens: readonly string[]): Promise<string[]> {
  const distinct = [...new Set(tokens.map((token) => token.toLowerCase()))];
  if (distinct.length > TOKEN_CHECK_LIMIT) return [];
  const missing: string[] = [];
  for (const token of distinct) {
    try {
      await client.get(`/v1/apps/${encodeURIComponent(appId)}/devices/${encodeURIComponent(token)}`);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'PK_ERR_DEVICE_NOT_FOUND') missing.push(token);
      else if (code !== 'PK_ERR_TOKEN_INVALID') throw error;
    }
  }
  return missing;
}

/**
 * The exit code a final notification deserves: 0 every targeted device accepted (and, for
 * --tokens, every given token registered), 4 some reached and some not, 1 none reached (no device
 * matched the audience, or the notification failed or was cancelled).
 */
export function outcomeExitCode(notification: NotificationAnswer, unregisteredTokens = 0): number {
  if (notification.status !== 'done') return EXIT.failure;
  const { accepted, rejected, invalidated, failed } = notification.counts;
  if (accepted === 0) return EXIT.failure;
  return rejected + invalidated + failed + unregisteredTokens === 0 ? EXIT.ok : EXIT.partial;
}

/** How many of the given tokens are not registered (--tokens): known once the push is final. */
function unregisteredCount(options: PushOptions, notification: NotificationAnswer): number {
  if (options.tokens === undefined) return 0;
  const given = new Set(options.tokens.map((token) => token.toLowerCase())).size;
  return Math.max(0, given - notification.counts.targeted);
}

export function printOutcome(
  printer: Printer,
  notification: NotificationAnswer,
  failures: readonly FailureAnswer[],
): void {
  const status =
    notification.status === 'done' ? printer.green(notification.status) : printer.red(notification.status);
  printer.line(
    `notification ${notification.id}: ${status}${notification.failureReason ? ` (${notification.failureReason})` : ''}`,
  );
  const c = notification.counts;
  printer.line(
    `targeted ${c.targeted}, accepted ${c.accepted}, rejected ${c.rejected}, invalidated ${c.invalidated}, failed ${c.failed}, pending ${c.pending}`,
  );
  if (failures.length > 0) {
    printer.table(
      failures.map((f) => ({
        ...f,
        outcome: f.outcome === 'invalidated' ? printer.yellow(f.outcome) : printer.red(f.outcome),
      })),
      ['token', 'outcome', 'reason', 'at'],
    );
  }
  const others = c.accepted;
  if (others > 0) printer.line(printer.green(`${others} device${others === 1 ? '' : 's'} accepted by APNs`));
}

export function registerPushCommand(program: Command, io: ClientIo): void {
  addClientOptions(
    program
      .command('push')
      .description('send a notification; with --wait, follow it and print the outcome per device')
      .requiredOption('--app <app>', 'app id')
      .option('--alias <alias>', 'audience: every device of this alias')
      .option('--aliases <a,b,…>', 'audience: several aliases', list)
      .option('--tokens <t1,t2,…>', 'audience: these device tokens', list)
      .option('--tag <tag>', 'audience: devices with any of these tags (repeat or comma-separate)', list)
      .option('--all', 'audience: every device of the app')
      .option('--alert <text>', 'alert text (the body when --title is given)')
      .option('--title <text>', 'alert title')
      .option('--badge <n>', 'badge number')
      .option('--sound <name>', 'sound name')
      .option('--payload <json>', 'the whole APNs payload as JSON (the flags above add to its aps)')
      .option('--push-type <type>', 'alert, background, voip, … (default alert)')
      .option('--priority <n>', '10, 5 or 1')
      .option('--expiration <epochSeconds>', '0 = deliver once, do not store')
      .option('--collapse-id <id>', 'apns-collapse-id')
      .option('--idempotency-key <key>', 'retrying with the same key answers the same notification')
      .option('--wait', 'follow the notification until it is final and print the outcome per device')
      .option('--timeout <seconds>', 'how long --wait waits', '120'),
  ).action(
    runAction(io, async (options: PushOptions) => {
      const body: Record<string, unknown> = {
        audience: audienceFromOptions(options),
        payload: payloadFromOptions(options),
      };
      const flags = optionsFromFlags(options);
      if (flags !== undefined) body['options'] = flags;
      const client = clientFor(io, options, 'app');
      const printer = createPrinter(io, options.json === true);
      const appPath = `/v1/apps/${encodeURIComponent(options.app)}`;
      const { body: accepted } = await client.request<{ id: string; status: string; created: boolean }>(
        'POST',
        `${appPath}/notifications`,
        {
          body,
          ...(options.idempotencyKey === undefined
            ? {}
            : { headers: { 'idempotency-key': options.idempotencyKey } }),
        },
      );
      if (options.wait !== true) {
        const unknown =
          options.tokens === undefined ? [] : await unregisteredTokens(client, options.app, options.tokens);
        printer.data({ ...accepted, ...(options.tokens === undefined ? {} : { unregisteredTokens: unknown.length }) });
        printer.line(`accepted ${accepted.id} (${accepted.status})`);
        if (unknown.length > 0) {
          printer.line(printer.yellow(unregisteredLine(unknown.length, options.tokens!.length)));
          const given = new Set(options.tokens!.map((token) => token.toLowerCase())).size;
          return unknown.length === given ? EXIT.failure : EXIT.partial;
        }
        return EXIT.ok;
      }
      const deadline = Date.now() + Number(options.timeout) * 1000;
      const progress = createProgress(io, 'push', 'devices', null, options.json === true);
      const delays = pollDelays();
      let notification: NotificationAnswer;
      try {
        for (;;) {
          notification = await client.get<NotificationAnswer>(
            `${appPath}/notifications/${encodeURIComponent(accepted.id)}`,
          );
          const c = notification.counts;
          progress.update(c.targeted - c.pending, c.targeted > 0 ? c.targeted : null);
          if (FINAL.has(notification.status)) break;
          if (Date.now() > deadline) {
            throw new CliError(
              'PK_ERR_WAIT_TIMEOUT',
              `${accepted.id} is still ${notification.status} after ${options.timeout}s; follow it with ` +
                `\`pushkeeper notifications show --app ${options.app} ${accepted.id}\`.`,
              EXIT.timeout,
              { id: accepted.id, status: notification.status, counts: notification.counts },
            );
          }
          await io.sleep(Math.min(delays.next().value, Math.max(0, deadline - Date.now()) + 1));
        }
      } finally {
        progress.stop();
      }
      const failures = await allFailures(client, options.app, accepted.id);
      const unregistered = unregisteredCount(options, notification);
      printer.data({
        ...notification,
        failures,
        ...(options.tokens === undefined ? {} : { unregisteredTokens: unregistered }),
      });
      printOutcome(printer, notification, failures);
      if (unregistered > 0) printer.line(printer.yellow(unregisteredLine(unregistered, options.tokens!.length)));
      if (notification.counts.targeted === 0 && notification.status === 'done') {
        printer.line(printer.red('no device matched the audience: nothing was sent'));
      }
      return outcomeExitCode(notification, unregistered);
    }),
  );
}
