/**
 * APNs device tokens. Apple: "Device tokens can change, and their length may vary; don't assume a
 * fixed size" (Registering your app with APNs). Today they are 32 bytes (64 hex characters); we
 * accept 32 to 100 bytes and store them as lower-case hex, the form used in APNs' `:path`.
 */
import { fail, ok, problem, type Problem, type Result } from './result.ts';

declare const deviceTokenBrand: unique symbol;
/** A normalised token: lower-case hex, even length, 64..200 characters. */
export type DeviceToken = string & { readonly [deviceTokenBrand]: true };

export const TOKEN_MIN_HEX_LENGTH = 64;
export const TOKEN_MAX_HEX_LENGTH = 200;

export type TokenProblemReason =
  | 'not-a-string'
  | 'empty'
  | 'whitespace'
  | 'not-hex'
  | 'odd-length'
  | 'too-short'
  | 'too-long';

const HEX = /^[0-9a-fA-F]*$/;
/**
 * `[NSData description]` before iOS 13 rendered a token as `<a1b2c3d4 e5f6...>`, and many apps sent
 * that string to their backends verbatim. We accept exactly that shape (groups of 8 hex digits
 * separated by single spaces, in angle brackets) and nothing looser.
 */
const NSDATA_DESCRIPTION = /^<([0-9a-fA-F]{1,8}(?: [0-9a-fA-F]{1,8})*)>$/;

function tokenProblem(reason: TokenProblemReason, message: string, length?: number): Problem {
  return problem('PK_ERR_TOKEN_INVALID', message, reason, length === undefined ? undefined : { length });
}

/** True for lower-case hex of an allowed, even length: the form tokens are stored and sent in. */
function isNormalisedHex(input: string): boolean {
  const length = input.length;
  if (length < TOKEN_MIN_HEX_LENGTH || length > TOKEN_MAX_HEX_LENGTH || length % 2 !== 0) return false;
  for (let i = 0; i < length; i++) {
    const c = input.charCodeAt(i);
    // 0-9 or a-f
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

export function parseDeviceToken(input: unknown): Result<DeviceToken> {
  if (typeof input !== 'string') return fail(tokenProblem('not-a-string', 'A device token must be a string.'));
  // The common case (a token read back from the registry) without regular expressions or a copy.
  if (isNormalisedHex(input)) return ok(input as DeviceToken);
  let hex = input;
  const nsdata = NSDATA_DESCRIPTION.exec(input);
  if (nsdata) hex = nsdata[1]!.replaceAll(' ', '');
  if (hex.length === 0) return fail(tokenProblem('empty', 'The device token is empty.'));
  if (/\s/.test(hex)) {
    return fail(
      tokenProblem('whitespace', 'The device token contains white space; send the hex string alone.'),
    );
  }
  if (!HEX.test(hex)) {
    return fail(tokenProblem('not-hex', 'The device token contains characters other than 0-9 and a-f.'));
  }
  if (hex.length % 2 !== 0) {
    return fail(
      tokenProblem('odd-length', 'The device token has an odd number of hex digits; a byte is cut.', hex.length),
    );
  }
  if (hex.length < TOKEN_MIN_HEX_LENGTH) {
    return fail(
      tokenProblem('too-short', `The device token is shorter than ${TOKEN_MIN_HEX_LENGTH} hex digits.`, hex.length),
    );
  }
  if (hex.length > TOKEN_MAX_HEX_LENGTH) {
    return fail(
      tokenProblem('too-long', `The device token is longer than ${TOKEN_MAX_HEX_LENGTH} hex digits.`, hex.length),
    );
  }
  return ok(hex.toLowerCase() as DeviceToken);
}

export function isDeviceToken(input: unknown): input is DeviceToken {
  const parsed = parseDeviceToken(input);
  return parsed.ok && parsed.value === input;
}

/** The token's bytes, e.g. for the legacy binary feedback format. */
export function deviceTokenToBytes(token: DeviceToken): Buffer {
  return Buffer.from(token, 'hex');
}

/** Any byte string rendered as lower-case hex; validation is then parseDeviceToken's job. */
export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * Tokens never appear in full in logs: the first and last four digits identify a token for a
 * person reading a log next to the registry without making the log a list of live addresses.
 */
export function maskDeviceToken(token: string): string {
  if (token.length <= 8) return '…';
  return `${token.slice(0, 4)}…${token.slice(-4)}`;
}
