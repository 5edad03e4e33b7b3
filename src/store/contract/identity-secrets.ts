/** Store contract: identity secrets, what an app's backend signs aliasTokens with (docs/identity.md). */
import type { Result } from '../../domain/index.ts';

export interface IdentitySecretStore {
  /**
   * Stores `secret` as the app's identity secret, replacing the previous one (which stops
   * verifying at once). PK_ERR_APP_NOT_FOUND for an unknown app. Encrypted at rest.
   */
  replace(appId: string, secret: string, at?: Date): Promise<Result<void>>;
  /** The decrypted secret, or null when the app has none (or does not exist). */
  get(appId: string): Promise<string | null>;
}
