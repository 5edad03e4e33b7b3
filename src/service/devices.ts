/**
 * The device registry's rules of who may do what (docs/security.md, docs/identity.md):
 *
 * - A server key is the app's backend: it registers, reads and binds any alias it likes.
 * - A publishable key ships inside the app, so anyone may hold it. It may register or refresh a
 *   device, but binds an alias only with an `aliasToken` the backend signed with the app's
 *   identity secret (domain/alias-token.ts), and it learns nothing back: the answer has one shape
 *   whether the device existed or not, and never holds the device's alias, tags or history.
 *
 * Field parsing stays in the domain (device-fields.ts, device-token.ts); transport concerns (rate
 * limits, status codes) stay at the edge. `register` is the one operation every registration
 * route calls, whatever its path or body shape.
 */
import { randomBytes } from 'node:crypto';
import {
  type DeviceToken,
  fail,
  ok,
  parseAlias,
  parseDeviceToken,
  problem,
  type Result,
  verifyAliasToken,
} from '../domain/index.ts';
import type { Device, DeviceFilter, DeviceInput, Page, PageRequest, Store } from '../store/contract.ts';

/** Who is registering: the app's backend, or the app itself through its public key. */
export type Registrant = 'server' | 'publishable';

export interface DeviceRegistration {
  /** As sent: hex, any case, or the old `<…>` NSData description (device-token.ts). */
  readonly token: unknown;
  readonly environment?: unknown;
  /** A string binds, null unbinds, absent keeps. */
  readonly alias?: unknown;
  /** The backend's proof for `alias` (or, with `alias` absent, the alias it names in `sub`). */
  readonly aliasToken?: unknown;
  readonly tags?: unknown;
  readonly locale?: unknown;
}

export type RegistrationOutcome =
  /** For server keys: the device as stored, and whether this call created it. */
  | { readonly kind: 'device'; readonly device: Device; readonly created: boolean }
  /** For publishable keys: the same answer for a new and an existing device. */
  | { readonly kind: 'acknowledged'; readonly token: DeviceToken };

export interface DeviceService {
  register(
    appId: string,
    registrant: Registrant,
    input: DeviceRegistration,
  ): Promise<Result<RegistrationOutcome>>;
  get(appId: string, token: string): Promise<Result<Device | null>>;
  unregister(appId: string, token: string): Promise<Result<boolean>>;
  list(appId: string, filter: DeviceFilter, page?: PageRequest): Promise<Result<Page<Device>>>;
  unbindAlias(appId: string, token: string): Promise<Result<boolean>>;
  unbindAllOfAlias(appId: string, alias: string): Promise<Result<number>>;
  /**
   * Generates a new identity secret for the app, stores it (encrypted) in place of the old one,
   * and answers it: the only time it is ever shown. Tokens signed with the old one stop verifying.
   */
  rotateIdentitySecret(appId: string): Promise<Result<{ readonly identitySecret: string }>>;
}

/** Recognisable in a leak, and cut from logs with the API keys (http/log-scrub.ts). */
export const IDENTITY_SECRET_PREFIX = 'pk_idsec_';

export function generateIdentitySecret(): string {
  // 256 bits: HMAC-SHA256's full strength (RFC 2104 §3: keys shorter than the output weaken it).
  return IDENTITY_SECRET_PREFIX + randomBytes(32).toString('base64url');
}

export interface DeviceServiceDeps {
  readonly store: Store;
  readonly now?: () => Date;
}

export function createDeviceService(deps: DeviceServiceDeps): DeviceService {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());

  /**
   * The alias this registration may bind, after the identity checks: `undefined` keeps the stored
   * one, `null` unbinds, a string binds. A publishable key needs an aliasToken to bind anything;
   * a server key needs none, but an aliasToken it sends is checked all the same.
   */
  async function authorisedAlias(
    appId: string,
    registrant: Registrant,
    input: DeviceRegistration,
  ): Promise<Result<string | null | undefined>> {
    const { aliasToken } = input;
    let alias = input.alias;
    if (typeof alias === 'string') {
      // A bad alias is the first thing to fix, whoever sends it.
      const parsed = parseAlias(alias);
      if (!parsed.ok) return parsed;
      alias = parsed.value;
    }
    if (aliasToken === undefined || aliasToken === null) {
      if (typeof alias !== 'string' || registrant === 'server') return ok(alias as string | null | undefined);
      // Checked first so the answer says what the operator must do, not what the app lacks.
      if ((await store.identitySecrets.get(appId)) === null) {
        return fail(
          problem('PK_ERR_IDENTITY_SECRET_MISSING', 'This app has no identity secret yet.', 'no-secret'),
        );
      }
      return fail(
        problem(
          'PK_ERR_ALIAS_TOKEN_REQUIRED',
          'Binding an alias with a publishable key needs the aliasToken your backend minted for it.',
          'missing',
        ),
      );
    }
    if (alias === null) {
      return fail(
        problem(
          'PK_ERR_VALIDATION',
          'An aliasToken binds an alias; send it without "alias": null.',
          'alias-token-with-null-alias',
        ),
      );
    }
    const requested = typeof alias === 'string' ? alias : null;
    const secret = await store.identitySecrets.get(appId);
    if (secret === null) {
      return fail(
        problem('PK_ERR_IDENTITY_SECRET_MISSING', 'This app has no identity secret yet.', 'no-secret'),
      );
    }
    const verified = verifyAliasToken(aliasToken, secret, null, Math.floor(now().getTime() / 1000));
    if (!verified.ok) return verified;
    // Compared after the domain's normalisation, so two spellings of one alias are one alias.
    const subject = parseAlias(verified.value.alias);
    if (!subject.ok) return subject;
    if (requested !== null && requested !== subject.value) {
      return fail(
        problem(
          'PK_ERR_ALIAS_TOKEN_INVALID',
          "The aliasToken's `sub` is not the alias being bound.",
          'subject-mismatch',
        ),
      );
    }
    return ok(subject.value);
  }

  return {
    async register(appId, registrant, input) {
      const token = parseDeviceToken(input.token);
      if (!token.ok) return token;
      const alias = await authorisedAlias(appId, registrant, input);
      if (!alias.ok) return alias;
      const record: { -readonly [K in keyof DeviceInput]: DeviceInput[K] } = { token: token.value };
      if (input.environment !== undefined) record.environment = input.environment;
      if (alias.value !== undefined) record.alias = alias.value;
      if (input.tags !== undefined) record.tags = input.tags;
      if (input.locale !== undefined) record.locale = input.locale;
      const registered = await store.devices.register(appId, record, now());
      if (!registered.ok) return registered;
      if (registrant === 'publishable') return ok({ kind: 'acknowledged', token: token.value });
      return ok({ kind: 'device', device: registered.value.device, created: registered.value.created });
    },

    get: (appId, token) => store.devices.get(appId, token),
    unregister: (appId, token) => store.devices.delete(appId, token),
    list: (appId, filter, page) => store.devices.list(appId, filter, page),
    unbindAlias: (appId, token) => store.devices.unbindAlias(appId, token),
    unbindAllOfAlias: (appId, alias) => store.devices.unbindAllOfAlias(appId, alias),

    async rotateIdentitySecret(appId) {
      const identitySecret = generateIdentitySecret();
      const stored = await store.identitySecrets.replace(appId, identitySecret, now());
      if (!stored.ok) return stored;
      return ok({ identitySecret });
    },
  };
}
