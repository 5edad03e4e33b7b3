/**
 * Apps and their keys, as the edges may use them: create (with its first keys), read, change, delete,
 * prove the credentials live, read the provider health. Every setting is validated before it is
 * saved (app-settings-check.ts); a change names only the fields it changes — an endpoint given alone
 * keeps the other endpoint and the CA — and is one store operation, after which the next send of
 * every process builds its APNs client from the new settings (the agent keys clients by them).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  type Environment,
  fail,
  ok,
  problem,
  type ProviderHealth,
  type Result,
  type SendResult,
} from '../domain/index.ts';
import type {
  ApiKey,
  ApiKeyScope,
  ApnsCredentials,
  App,
  AppEndpoints,
  AppFeedbackSettings,
  AppWebhook,
  Page,
  PageRequest,
  Store,
  UpdateAppInput,
} from '../store/contract.ts';
import { checkAppSettings } from './app-settings-check.ts';
import type { ApnsGateway } from './gateway.ts';
import type { ServiceLogger } from './logger.ts';

/** Endpoint fields present are changed (`null` = Apple's host, or no CA); absent ones are kept. */
export interface EndpointsPatch {
  readonly production?: string | null;
  readonly sandbox?: string | null;
  readonly caPem?: string | null;
}

export interface FeedbackPatch {
  readonly host?: string;
  readonly port?: number;
  readonly intervalHours?: number | null;
  readonly caPem?: string | null;
}

export interface CreateAppRequest {
  readonly name: string;
  readonly topic: string;
  readonly credentials: ApnsCredentials;
  readonly endpoints?: EndpointsPatch | null;
  readonly feedback?: AppFeedbackSettings | null;
  readonly webhook?: AppWebhook | null;
}

/** Fields present are changed; `null` clears an optional setting; nothing else is touched. */
export interface AppPatch {
  readonly name?: string;
  readonly topic?: string;
  readonly credentials?: ApnsCredentials;
  readonly endpoints?: EndpointsPatch | null;
  readonly feedback?: FeedbackPatch | null;
  readonly webhook?: AppWebhook | null;
}

/** A key as the edge generated it: only its hash and display prefix are stored. */
export interface NewApiKey {
  readonly scope: Exclude<ApiKeyScope, 'admin'>;
  readonly prefix: string;
  readonly sha256: string;
}

export type VerifyStatus = 'ok' | 'unauthorized' | 'unreachable' | 'error';

export interface ProviderVerification {
  readonly status: VerifyStatus;
  readonly reason: string;
  readonly environments: Readonly<Record<Environment, { readonly status: VerifyStatus; readonly reason: string }>>;
}

export interface VerifyReport {
  readonly apns: ProviderVerification;
}

export interface AppService {
  create(request: CreateAppRequest, keys: readonly NewApiKey[]): Promise<Result<{ app: App; keys: ApiKey[] }>>;
  get(appId: string): Promise<App | null>;
  list(page: PageRequest): Promise<Result<Page<App>>>;
  update(appId: string, patch: AppPatch): Promise<Result<App>>;
  delete(appId: string): Promise<boolean>;
  /** Opens a connection with the app's credentials and reports, per provider, whether they work. */
  verify(appId: string): Promise<Result<VerifyReport>>;
  health(appId: string): Promise<{ readonly apns: ProviderHealth } | null>;
}

export interface KeyService {
  issue(appId: string, key: NewApiKey): Promise<Result<ApiKey>>;
  list(appId: string): Promise<readonly ApiKey[]>;
  revoke(appId: string, keyId: string): Promise<boolean>;
}

export interface AppServiceDeps {
  readonly store: Store;
  /** For `verify`: the same seam the pipeline sends through. */
  readonly gateway: ApnsGateway;
  readonly logger: ServiceLogger;
  readonly now?: () => Date;
}

function mergeEndpoints(current: AppEndpoints | null, patch: EndpointsPatch | null | undefined): AppEndpoints | null | undefined {
  if (patch === undefined) return undefined;
  if (patch === null) return null;
  const base = current ?? { production: null, sandbox: null, caPem: null };
  const merged: AppEndpoints = {
    production: patch.production === undefined ? base.production : patch.production,
    sandbox: patch.sandbox === undefined ? base.sandbox : patch.sandbox,
    caPem: patch.caPem === undefined ? base.caPem : patch.caPem,
  };
  return merged.production === null && merged.sandbox === null && merged.caPem === null ? null : merged;
}

function mergeFeedback(
  current: AppFeedbackSettings | null,
  patch: FeedbackPatch | null | undefined,
): Result<AppFeedbackSettings | null | undefined> {
  if (patch === undefined) return ok(undefined);
  if (patch === null) return ok(null);
  const host = patch.host ?? current?.host;
  const port = patch.port ?? current?.port;
  if (host === undefined || port === undefined) {
    return fail(problem('PK_ERR_VALIDATION', 'A feedback service needs a host and a port.', 'feedback'));
  }
  return ok({
    host,
    port,
    intervalHours: patch.intervalHours === undefined ? (current?.intervalHours ?? null) : patch.intervalHours,
    caPem: patch.caPem === undefined ? (current?.caPem ?? null) : patch.caPem,
  });
}

/** Apple answers a well-signed request for a token it never issued with 400 BadDeviceToken. */
function judge(result: SendResult | undefined): { status: VerifyStatus; reason: string } {
  if (result === undefined) return { status: 'error', reason: 'no answer' };
  if (result.kind === 'accepted') return { status: 'ok', reason: 'APNs accepted the request' };
  if (result.kind === 'rejected') {
    if (result.reason === 'BadDeviceToken' || result.reason === 'DeviceTokenNotForTopic') {
      return { status: 'ok', reason: `APNs answered ${result.reason} to a made-up token: the credentials were accepted` };
    }
    if (result.status === 403 || result.disposition === 'reauth') return { status: 'unauthorized', reason: result.reason };
    return { status: 'error', reason: `APNs answered ${result.status} ${result.reason}` };
  }
  if (result.code === 'PK_ERR_APNS_CREDENTIALS_UNHEALTHY' || result.code === 'PK_ERR_CREDENTIALS_INVALID') {
    return { status: 'unauthorized', reason: `${result.code}: ${result.message}` };
  }
  return { status: 'unreachable', reason: `${result.code}: ${result.message}` };
}

const SEVERITY: readonly VerifyStatus[] = ['ok', 'error', 'unreachable', 'unauthorized'];

export function createAppService(deps: AppServiceDeps): AppService {
  const { store, gateway, logger } = deps;
  const now = () => deps.now?.() ?? new Date();

  async function verify(appId: string): Promise<Result<VerifyReport>> {
    const app = await store.apps.get(appId);
    const secrets = app === null ? null : await store.apps.getSecrets(appId);
    if (app === null || secrets === null) return fail(problem('PK_ERR_APP_NOT_FOUND', 'App not found.', 'unknown-app'));
    const token = randomBytes(32).toString('hex');
    const probe = {
      token,
      apnsId: randomUUID(),
      pushType: 'background' as const,
      priority: 5 as const,
      payload: Buffer.from('{"aps":{"content-available":1}}'),
    };
    const environments = ['production', 'sandbox'] as const;
    const answers = await Promise.all(
      environments.map((environment) =>
        gateway.sendAll(
          { appId, bundleId: app.topic, credentials: secrets.credentials, endpoints: app.endpoints, environment },
          [probe],
        ),
      ),
    );
    const production = judge(answers[0]?.[0]);
    const sandbox = judge(answers[1]?.[0]);
    const worst = SEVERITY.indexOf(production.status) >= SEVERITY.indexOf(sandbox.status) ? production : sandbox;
    const since = now();
    const health: ProviderHealth =
      worst.status === 'ok'
        ? { status: 'healthy' }
        : worst.status === 'unauthorized'
          ? { status: 'unauthorized', reason: worst.reason, since }
          : worst.status === 'unreachable'
            ? { status: 'unreachable', reason: worst.reason, since }
            : app.apnsHealth;
    await store.apps.setApnsHealth(appId, health);
    const fields = { appId, production: production.status, sandbox: sandbox.status };
    if (worst.status === 'ok') logger.info(fields, `app ${appId}: APNs credentials verified`);
    else logger.warn(fields, `app ${appId}: APNs credentials ${worst.status}: ${worst.reason}`);
    return ok({ apns: { status: worst.status, reason: worst.reason, environments: { production, sandbox } } });
  }

  return {
    async create(request, keys) {
      const checked = checkAppSettings({ ...request, endpoints: mergeEndpoints(null, request.endpoints) });
      if (!checked.ok) return checked;
      const created = await store.apps.create(
        {
          name: request.name,
          topic: request.topic,
          credentials: request.credentials,
          endpoints: mergeEndpoints(null, request.endpoints) ?? null,
          feedback: request.feedback ?? null,
          webhook: request.webhook ?? null,
        },
        now(),
      );
      if (!created.ok) return created;
      const stored: ApiKey[] = [];
      for (const key of keys) {
        const saved = await store.keys.create({ appId: created.value.id, ...key }, now());
        if (!saved.ok) return saved;
        stored.push(saved.value);
      }
      return ok({ app: created.value, keys: stored });
    },
    get: (appId) => store.apps.get(appId),
    list: (page) => store.apps.list(page),
    async update(appId, patch) {
      const current = await store.apps.get(appId);
      if (current === null) return fail(problem('PK_ERR_APP_NOT_FOUND', 'App not found.', 'unknown-app'));
      const endpoints = mergeEndpoints(current.endpoints, patch.endpoints);
      const feedback = mergeFeedback(current.feedback, patch.feedback);
      if (!feedback.ok) return feedback;
      const input: { -readonly [K in keyof UpdateAppInput]: UpdateAppInput[K] } = {};
      if (patch.name !== undefined) input.name = patch.name;
      if (patch.topic !== undefined) input.topic = patch.topic;
      if (patch.credentials !== undefined) input.credentials = patch.credentials;
      if (endpoints !== undefined) input.endpoints = endpoints;
      if (feedback.value !== undefined) input.feedback = feedback.value;
      if (patch.webhook !== undefined) input.webhook = patch.webhook;
      const checked = checkAppSettings(input);
      if (!checked.ok) return checked;
      return store.apps.update(appId, input, now());
    },
    delete: (appId) => store.apps.delete(appId),
    verify,
    async health(appId) {
      const app = await store.apps.get(appId);
      return app === null ? null : { apns: app.apnsHealth };
    },
  };
}

export function createKeyService(deps: Pick<AppServiceDeps, 'store' | 'now'>): KeyService {
  const now = () => deps.now?.() ?? new Date();
  return {
    issue: (appId, key) => deps.store.keys.create({ appId, ...key }, now()),
    list: (appId) => deps.store.keys.list(appId),
    revoke: (appId, keyId) => deps.store.keys.revoke(appId, keyId, now()),
  };
}
