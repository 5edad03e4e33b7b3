/** Store contract: devices (see ../contract.ts for the conventions). */
import type { Audience, DeviceToken, Environment, Problem, Result } from '../../domain/index.ts';
import type { Page, PageRequest } from './paging.ts';

export interface Device {
  readonly token: DeviceToken;
  readonly environment: Environment;
  readonly alias: string | null;
  /** Sorted, unique. */
  readonly tags: readonly string[];
  readonly locale: string | null;
  readonly createdAt: Date;
  readonly lastRegisteredAt: Date;
  readonly lastSuccessAt: Date | null;
  readonly invalidSince: Date | null;
  readonly invalidReason: string | null;
}

/**
 * A register/refresh call (PUT semantics on the fields given): an absent field keeps the stored
 * value (defaults for a new device: production, no alias, no tags, no locale); `alias: null` and
 * `locale: null` clear; `tags` replaces the set. Values are validated with the domain parsers.
 */
export interface DeviceInput {
  readonly token: unknown;
  readonly environment?: unknown;
  readonly alias?: unknown;
  readonly tags?: unknown;
  readonly locale?: unknown;
}

export interface RegisterResult {
  readonly device: Device;
  /** true when the (app, token) pair did not exist before this call. */
  readonly created: boolean;
}

/** What the audience stream hands the pipeline: just enough to send. */
export interface AudienceDevice {
  readonly token: DeviceToken;
  readonly environment: Environment;
  readonly locale: string | null;
}

export interface AudiencePage {
  readonly devices: readonly AudienceDevice[];
  /** Resumes the stream right after this page (a fan-out checkpoint). */
  readonly cursor: string;
}

export interface StreamAudienceOptions {
  /** 1..10,000, default 1,000: at most this many rows are held at once. */
  readonly pageSize?: number;
  /** A page's `cursor` to resume after it. */
  readonly after?: string | null;
}

export type DeviceFilter =
  | { readonly alias: string }
  | { readonly tag: string }
  | { readonly environment: Environment }
  | { readonly all: true };

export interface ImportCounts {
  readonly created: number;
  readonly updated: number;
  /** Lines that failed validation; they are reported through `onRejected` and skipped. */
  readonly rejected: number;
}

export interface ImportOptions {
  /** Rows per transaction, 1 to 100,000, default 1,000. */
  readonly batchSize?: number;
  readonly at?: Date;
  /** Called for each invalid input with its 0-based position; the import goes on. */
  readonly onRejected?: (index: number, error: Problem) => void;
  /** Called after each committed batch with the running counts (progress bars). */
  readonly onProgress?: (counts: ImportCounts) => void;
}

export type AliasBindResult = { readonly previousAlias: string | null };

export interface DeviceStore {
  register(appId: string, input: DeviceInput, at?: Date): Promise<Result<RegisterResult>>;
  get(appId: string, token: string): Promise<Result<Device | null>>;
  /** Unregisters (deletes) the device; false when it did not exist. */
  delete(appId: string, token: string): Promise<Result<boolean>>;
  /** Binds (moves) the device to `alias`; PK_ERR_DEVICE_NOT_FOUND if the device is unknown. */
  bindAlias(appId: string, token: string, alias: string): Promise<Result<AliasBindResult>>;
  /** Logout on one device; false when the device is unknown. */
  unbindAlias(appId: string, token: string): Promise<Result<boolean>>;
  /** Logout everywhere: unbinds every device of the alias; answers how many. */
  unbindAllOfAlias(appId: string, alias: string): Promise<Result<number>>;
  addTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>>;
  removeTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>>;
  replaceTags(appId: string, token: string, tags: readonly string[]): Promise<Result<Device>>;
  /** Keyset pages in a stable order; rows that exist for the whole walk appear exactly once. */
  list(appId: string, filter: DeviceFilter, page?: PageRequest): Promise<Result<Page<Device>>>;
  count(appId: string, filter?: DeviceFilter): Promise<number>;
  /**
   * The audience in keyset pages; at most `pageSize` rows are buffered. Duplicate entries in the
   * audience (tags shared by a device, repeated tokens) yield the device once.
   */
  streamAudience(
    appId: string,
    audience: Audience,
    options?: StreamAudienceOptions,
  ): AsyncIterable<AudiencePage>;
  /** Bulk register: batched transactions; each input behaves as one `register`. */
  import(
    appId: string,
    devices: AsyncIterable<DeviceInput> | Iterable<DeviceInput>,
    options?: ImportOptions,
  ): Promise<Result<ImportCounts>>;
  /** Every device of the app in keyset order, read in pages of `pageSize` (default 1,000). */
  export(appId: string, options?: { readonly pageSize?: number }): AsyncIterable<Device>;
  /** The pipeline's environment correction after a BadDeviceToken retry succeeded elsewhere. */
  setEnvironment(appId: string, token: DeviceToken, environment: Environment): Promise<boolean>;
  /** Sets last_success_at for accepted sends, batched in one statement per call. */
  markSuccess(appId: string, tokens: readonly DeviceToken[], at: Date): Promise<void>;
  /**
   * Marks a device invalid without removing it (invalid_since, invalid_reason): audience streams
   * skip it until it registers again, which clears the mark. Removal goes through `invalidate`.
   */
  markInvalid(
    appId: string,
    token: DeviceToken,
    mark: { readonly reason: string; readonly at: Date },
  ): Promise<boolean>;
}
