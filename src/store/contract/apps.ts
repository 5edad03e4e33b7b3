/** Store contract: apps (see ../contract.ts for the conventions). */
import type { ProviderHealth, Result } from '../../domain/index.ts';
import type { Page, PageRequest } from './paging.ts';

/** APNs credentials as the app gave them; stored encrypted (AES-256-GCM, AAD = app id + topic). */
export type ApnsCredentials =
  | {
      readonly auth: 'token';
      readonly teamId: string;
      readonly keyId: string;
      /** The `.p8` PEM text. */
      readonly privateKey: string;
    }
  | {
      readonly auth: 'certificate';
      readonly certPem: string;
      readonly keyPem: string;
      readonly passphrase?: string;
    }
  | {
      readonly auth: 'certificate';
      readonly p12Base64: string;
      readonly passphrase?: string;
    };

/** Per-app APNs hosts, e.g. a mock server or a proxy; absent = Apple's hosts. */
export interface AppEndpoints {
  readonly production: string | null;
  readonly sandbox: string | null;
  readonly caPem: string | null;
}

export interface AppFeedbackSettings {
  readonly host: string;
  readonly port: number;
  /** null = the server-wide PUSHKEEPER_FEEDBACK_INTERVAL_HOURS. */
  readonly intervalHours: number | null;
  readonly caPem: string | null;
}

export interface AppWebhook {
  readonly url: string;
  /** Plain text here; stored encrypted like the credentials. */
  readonly secret: string;
}

/** The app's APNs health (domain/provider-health.ts); other providers get their own columns. */
export type { ProviderHealth } from '../../domain/index.ts';

/** An app as listed: everything except secrets. */
export interface App {
  readonly id: string;
  readonly name: string;
  readonly topic: string;
  readonly authKind: ApnsCredentials['auth'];
  readonly endpoints: AppEndpoints | null;
  readonly feedback: AppFeedbackSettings | null;
  /** The webhook url only; its secret is in `AppSecrets`. */
  readonly webhookUrl: string | null;
  readonly apnsHealth: ProviderHealth;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Decrypted secrets, for the service only; never put in an API answer. */
export interface AppSecrets {
  readonly credentials: ApnsCredentials;
  readonly webhook: AppWebhook | null;
}

export interface CreateAppInput {
  /** Generated (`app_…`) when absent. */
  readonly id?: string;
  readonly name: string;
  readonly topic: string;
  readonly credentials: ApnsCredentials;
  readonly endpoints?: AppEndpoints | null;
  readonly feedback?: AppFeedbackSettings | null;
  readonly webhook?: AppWebhook | null;
}

/** Fields present are changed; `null` clears an optional setting. Changing topic re-encrypts. */
export interface UpdateAppInput {
  readonly name?: string;
  readonly topic?: string;
  readonly credentials?: ApnsCredentials;
  readonly endpoints?: AppEndpoints | null;
  readonly feedback?: AppFeedbackSettings | null;
  readonly webhook?: AppWebhook | null;
}


export interface AppStore {
  create(input: CreateAppInput, at?: Date): Promise<Result<App>>;
  get(appId: string): Promise<App | null>;
  list(page?: PageRequest): Promise<Result<Page<App>>>;
  update(appId: string, input: UpdateAppInput, at?: Date): Promise<Result<App>>;
  /** Deletes the app and everything in it (devices, keys, notifications, invalidations). */
  delete(appId: string): Promise<boolean>;
  /** Throws PK_ERR_DECRYPT_FAILED if the secret key is not the one that encrypted them. */
  getSecrets(appId: string): Promise<AppSecrets | null>;
  /**
   * Sets the app's APNs health. `since` stays the first moment of an unchanged status (an endpoint
   * unreachable for a minute says so however often it is seen). Answers the health now stored, or
   * null when there is no such app. Does not change `updatedAt`: health is not a setting.
   */
  setApnsHealth(appId: string, health: ProviderHealth): Promise<ProviderHealth | null>;
  /** Apps with a feedback service configured, for the schedule (not app-scoped by design). */
  listWithFeedback(): Promise<readonly App[]>;
}
