/**
 * FCM registration tokens. Google publishes no format and asks senders not to pattern-match
 * tokens; what is observed is `<prefix>:APA91b<rest>` over `[A-Za-z0-9_-]`, about 152–163
 * characters, and old GCM guidance bounded registration ids by 4 KB. So the check here is only
 * what no token can be: empty, blank inside, outside the URL-safe alphabet plus `:`, absurdly short,
 * or longer than 4096 bytes. It catches pasted APNs hex tokens and placeholders without rejecting a
 * future format. Tokens are compared byte for byte; only surrounding whitespace is trimmed.
 */
import { fail, ok, problem, type Result } from './result.ts';

declare const fcmTokenBrand: unique symbol;
export type FcmToken = string & { readonly [fcmTokenBrand]: true };

/** Shorter than any token ever observed (the shortest, old-style, are 152 characters). */
export const FCM_TOKEN_MIN_LENGTH = 32;
export const FCM_TOKEN_MAX_LENGTH = 4096;

export type FcmTokenProblemReason =
  | 'not-a-string'
  | 'empty'
  | 'whitespace'
  | 'bad-character'
  | 'too-short'
  | 'too-long'
  | 'looks-like-apns';

function tokenProblem(reason: FcmTokenProblemReason, message: string, length?: number) {
  return problem('PK_ERR_FCM_TOKEN_INVALID', message, reason, length === undefined ? undefined : { length });
}

function isTokenChar(c: number): boolean {
  return (
    (c >= 48 && c <= 58) /* 0-9 and ':' */ ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 45 /* - */ ||
    c === 95 /* _ */
  );
}

export function parseFcmToken(input: unknown): Result<FcmToken> {
  if (typeof input !== 'string') return fail(tokenProblem('not-a-string', 'An FCM token must be a string.'));
  const token = input.trim();
  if (token.length === 0) return fail(tokenProblem('empty', 'The FCM token is empty.'));
  if (token.length > FCM_TOKEN_MAX_LENGTH) {
    return fail(
      tokenProblem('too-long', `An FCM token is at most ${FCM_TOKEN_MAX_LENGTH} characters.`, token.length),
    );
  }
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (isTokenChar(c)) continue;
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      return fail(tokenProblem('whitespace', 'An FCM token contains no whitespace.', token.length));
    }
    return fail(
      tokenProblem(
        'bad-character',
        'An FCM token uses only letters, digits, "-", "_" and ":".',
        token.length,
      ),
    );
  }
  if (token.length < FCM_TOKEN_MIN_LENGTH) {
    return fail(
      tokenProblem(
        'too-short',
        `An FCM token has at least ${FCM_TOKEN_MIN_LENGTH} characters.`,
        token.length,
      ),
    );
  }
  // 64 hex digits and nothing else is an APNs device token sent to the wrong platform.
  if (token.length === 64 && /^[0-9a-fA-F]+$/.test(token)) {
    return fail(
      tokenProblem('looks-like-apns', 'This is an APNs device token (64 hex digits), not an FCM token.', 64),
    );
  }
  return ok(token as FcmToken);
}

/** For logs: the first 8 and last 4 characters. */
export function maskFcmToken(token: string): string {
  return token.length <= 16 ? '…' : `${token.slice(0, 8)}…${token.slice(-4)}`;
}
