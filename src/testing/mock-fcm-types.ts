/** Public types of the mock FCM server (`pushkeeper/testing`). */

export type MockFcmDeviceState =
  /** Delivered. */
  | 'live'
  /** 404 UNREGISTERED: the app was uninstalled or the token expired. */
  | 'unregistered'
  /** 403 SENDER_ID_MISMATCH: the token belongs to another project's sender. */
  | 'mismatched'
  /** 401 THIRD_PARTY_AUTH_ERROR: an Apple/web token whose APNs or Web Push credentials FCM lacks. */
  | 'third-party-auth-error';

export interface MockFcmFaults {
  /** Every send answers STATUS + FcmError until `untilMs` (epoch ms): e.g. a quota window. */
  readonly statusWindow?: {
    readonly status: 429 | 500 | 503;
    readonly errorCode: string;
    readonly retryAfterSeconds?: number;
    readonly untilMs: number;
  };
  /** The next `count` sends answer STATUS + FcmError (deterministic). */
  readonly failNext?: {
    readonly status: 429 | 500 | 503;
    readonly errorCode: string;
    readonly count: number;
    readonly retryAfterSeconds?: number;
  };
  /** Each send answers STATUS + FcmError with probability `rate`. */
  readonly errorRate?: {
    readonly status: 429 | 500 | 503;
    readonly errorCode: string;
    readonly rate: number;
  };
  /** Delay every answer by MIN..MAX ms. */
  readonly delayMs?: { readonly min: number; readonly max: number };
  /** HTTP/2: GOAWAY(NO_ERROR, "session_timed_out") after every N streams on a connection. */
  readonly goAwayAfterStreams?: number;
  /** Cut the connection instead of answering, probability per request. */
  readonly destroyRate?: number;
  readonly faultSeed?: number;
}

export interface RecordedFcmMessage {
  readonly name: string;
  readonly token: string | undefined;
  readonly topic: string | undefined;
  readonly message: Readonly<Record<string, unknown>>;
  readonly validateOnly: boolean;
  readonly httpVersion: string;
  readonly at: number;
}

export interface RecordedFcmRejection {
  readonly status: number;
  readonly errorCode: string;
  readonly token: string | undefined;
  readonly at: number;
}

export interface MockFcmStats {
  readonly requests: number;
  readonly accepted: number;
  readonly rejected: number;
  /** Requests to the token endpoint, and tokens issued (a client minting per send shows here). */
  readonly tokenRequests: number;
  readonly tokensIssued: number;
  readonly connectionsOpened: number;
  readonly maxConcurrentStreams: number;
  readonly goAwaysSent: number;
  readonly byErrorCode: Readonly<Record<string, number>>;
  readonly byHttpVersion: Readonly<Record<string, number>>;
}

export interface MockFcmServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** Default `mock-project`. */
  readonly projectId?: string;
  /** Also accepted in the path instead of the id ("kept for legacy support"). */
  readonly projectNumber?: string;
  /**
   * `validating` (default): tokens must be registered (unknown ones are INVALID_ARGUMENT, as FCM
   * answers for strings that are no token); `accept-all`: unknown tokens are live (benchmarks).
   */
  readonly mode?: 'validating' | 'accept-all';
  /** Access token lifetime in seconds. Default 3600. */
  readonly tokenLifetimeSeconds?: number;
  /** Advertised SETTINGS_MAX_CONCURRENT_STREAMS. Default 100, as FCM is reported to allow. */
  readonly maxConcurrentStreams?: number;
  /** Keep accepted messages for inspection. Default true in validating mode. */
  readonly recordAccepted?: boolean;
  readonly faults?: MockFcmFaults;
  readonly now?: () => number;
  /** TLS material; a fresh test PKI covering the loopback names and Google's hosts otherwise. */
  readonly tls?: { readonly certPem: string; readonly keyPem: string; readonly caPem: string };
}

/** A service account key file as the Firebase console hands it out, plus its public key. */
export interface MockServiceAccountFile {
  readonly json: {
    readonly type: 'service_account';
    readonly project_id: string;
    readonly private_key_id: string;
    readonly private_key: string;
    readonly client_email: string;
    readonly client_id: string;
    readonly token_uri: string;
  };
  readonly publicKeyPem: string;
}

export interface MockFcmServer {
  /** `https://127.0.0.1:PORT`: both the FCM origin and the token endpoint's origin. */
  readonly url: string;
  /** `${url}/token` */
  readonly tokenUri: string;
  readonly port: number;
  readonly projectId: string;
  /** The CA to trust. */
  readonly caPem: string;
  readonly accepted: readonly RecordedFcmMessage[];
  readonly rejections: readonly RecordedFcmRejection[];
  readonly stats: MockFcmStats;
  /** A new RSA service account of `projectId` (default: the mock's), registered with the token endpoint. */
  createServiceAccount(options?: { projectId?: string }): MockServiceAccountFile;
  addServiceAccount(account: {
    clientEmail: string;
    publicKeyPem: string;
    privateKeyId?: string;
    projectId?: string;
  }): void;
  registerDevice(token: string, state?: MockFcmDeviceState): void;
  unregisterDevice(token: string): void;
  deviceState(token: string): MockFcmDeviceState | undefined;
  setFaults(faults: MockFcmFaults): void;
  setTokenLifetime(seconds: number): void;
  /** Every access token issued so far stops working (401 UNAUTHENTICATED). */
  revokeAccessTokens(): void;
  waitForAccepted(count: number, timeoutMs?: number): Promise<void>;
  resetRecords(): void;
  close(): Promise<void>;
}
