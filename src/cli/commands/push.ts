/**
 * `pushkeeper push --app A --alias 42 --alert "Hello" [--wait]`: accept a push; with --wait, follow
 * it until it is final and print the outcome per device (the failures list plus the counts).
 * Exit: 0 all accepted, 4 some devices not reached, 1 failed or cancelled or nothing reached.
 */
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.ts';
import type { ApiClient } from '../api-client.ts';
import { addClientOptions, type ClientIo, type ClientOptions, clientFor } from './client-io.ts';
import { createPrinter, type Printer } from './output.ts';
import { createProgress } from './progress.ts';
import { CommandFailure, runAction, UsageError } from './run-action.ts';

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

export function payloadFromOptions(options: PushOptions): Record<string, unknown> {
  let payload: Record<string, unknown> = {};
  if (options.payload !== undefined) {
    try {
      payload = JSON.parse(options.payload) as Record<string, unknown>;
    } catch {
      throw new UsageError('--payload must be JSON.');
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
      throw new UsageError('--payload must be a JSON object.');
    }
  }
  const aps: Record<string, unknown> = { ...(payload['aps'] as Record<string, unknown> | undefined) };
  if (options.alert !== undefined || options.title !== undefined) {
    aps['alert'] =
      options.title === undefined ? options.alert : { title: options.title, body: options.alert ?? '' };
  }
  if (options.badge !== undefined) aps['badge'] = Number(options.badge);
  if (options.sound !== undefined) aps['sound'] = options.sound;
  if (Object.keys(aps).length > 0) payload = { ...payload, aps };
  if (Object.keys(payload).length === 0) throw new UsageError('Give --alert, --title or --payload.');
  return payload;
}

function optionsFromFlags(options: PushOptions): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (options.pushType !== undefined) out['pushType'] = options.pushType;
  if (options.priority !== undefined) out['priority'] = Number(options.priority);
  if (options.expiration !== undefined) out['expiration'] = Number(options.expiration);
  if (options.collapseId !== undefined) out['collapseId'] = options.collapseId;
  return Object.keys(out).length === 0 ? undefined : out;
}

export async function allFailures(client: ApiClient, appId: string, id: string): Promise<FailureAnswer[]> {
  const failures: FailureAnswer[] = [];
  const path = `/v1/apps/${encodeURIComponent(appId)}/notifications/${encodeURIComponent(id)}/failures`;
  for await (const page of client.pages<FailureAnswer>(path)) failures.push(...page);
  return failures;
}

/** The exit code a final notification deserves. */
export function outcomeExitCode(notification: NotificationAnswer): number {
  if (notification.status !== 'done') return EXIT.failure;
  const { accepted, rejected, invalidated, failed, targeted } = notification.counts;
  if (rejected + invalidated + failed === 0) return EXIT.ok;
  return accepted > 0 || targeted === 0 ? EXIT.partial : EXIT.failure;
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
        printer.data(accepted);
        printer.line(`accepted ${accepted.id} (${accepted.status})`);
        return EXIT.ok;
      }
      const deadline = Date.now() + Number(options.timeout) * 1000;
      const progress = createProgress(io, 'push', 'devices', null, options.json === true);
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
            throw new CommandFailure(
              `${accepted.id} is still ${notification.status} after ${options.timeout}s.`,
              EXIT.failure,
            );
          }
          await io.sleep(250);
        }
      } finally {
        progress.stop();
      }
      const failures = await allFailures(client, options.app, accepted.id);
      printer.data({ ...notification, failures });
      printOutcome(printer, notification, failures);
      return outcomeExitCode(notification);
    }),
  );
}
