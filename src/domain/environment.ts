import { fail, ok, problem, type Result } from './result.ts';

/** APNs' two worlds: tokens of one are BadDeviceToken in the other (Apple, "Handling notification responses
 * from APNs"). */
export type Environment = 'production' | 'sandbox';
export const ENVIRONMENTS: readonly Environment[] = ['production', 'sandbox'];

export const APNS_HOSTS: Readonly<Record<Environment, string>> = {
  production: 'https://api.push.apple.com:443',
  sandbox: 'https://api.sandbox.push.apple.com:443',
};

/** Apple's retired feedback service hosts, as its archived "The Feedback Service" documents them. */
export const FEEDBACK_HOSTS: Readonly<Record<Environment, { host: string; port: number }>> = {
  production: { host: 'feedback.push.apple.com', port: 2196 },
  sandbox: { host: 'feedback.sandbox.push.apple.com', port: 2196 },
};

export function otherEnvironment(environment: Environment): Environment {
  return environment === 'production' ? 'sandbox' : 'production';
}

export function parseEnvironment(value: unknown): Result<Environment> {
  if (value === 'production' || value === 'sandbox') return ok(value);
  return fail(problem('PK_ERR_ENVIRONMENT_INVALID', 'Environment must be "production" or "sandbox".', 'unknown'));
}
