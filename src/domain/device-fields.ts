/** The app-chosen labels on a device: alias (a user id), tags, locale. */
import { fail, ok, problem, type Result } from './result.ts';

export const MAX_ALIAS_LENGTH = 256;
export const MAX_TAG_LENGTH = 128;
export const MAX_TAGS_PER_DEVICE = 100;

// Control characters make logs and CSV exports lie; nothing else is forbidden in an app's ids.
const CONTROL = /[\u0000-\u001f\u007f]/;

export function parseAlias(value: unknown): Result<string> {
  if (typeof value !== 'string' || value.length === 0) {
    return fail(problem('PK_ERR_ALIAS_INVALID', 'An alias must be a non-empty string.', 'empty'));
  }
  if (value.length > MAX_ALIAS_LENGTH) {
    return fail(problem('PK_ERR_ALIAS_INVALID', `An alias has at most ${MAX_ALIAS_LENGTH} characters.`, 'too-long'));
  }
  if (CONTROL.test(value)) {
    return fail(problem('PK_ERR_ALIAS_INVALID', 'An alias must not contain control characters.', 'control-character'));
  }
  return ok(value);
}

export function parseTag(value: unknown): Result<string> {
  if (typeof value !== 'string' || value.length === 0) {
    return fail(problem('PK_ERR_TAG_INVALID', 'A tag must be a non-empty string.', 'empty'));
  }
  if (value.length > MAX_TAG_LENGTH) {
    return fail(problem('PK_ERR_TAG_INVALID', `A tag has at most ${MAX_TAG_LENGTH} characters.`, 'too-long'));
  }
  if (CONTROL.test(value)) {
    return fail(problem('PK_ERR_TAG_INVALID', 'A tag must not contain control characters.', 'control-character'));
  }
  return ok(value);
}

/** A set of tags: validated, de-duplicated, sorted so equal sets compare equal. */
export function parseTags(value: unknown): Result<readonly string[]> {
  if (!Array.isArray(value)) return fail(problem('PK_ERR_TAG_INVALID', 'Tags must be an array of strings.', 'not-array'));
  if (value.length > MAX_TAGS_PER_DEVICE) {
    return fail(problem('PK_ERR_TAG_INVALID', `A device has at most ${MAX_TAGS_PER_DEVICE} tags.`, 'too-many'));
  }
  const tags = new Set<string>();
  for (const item of value) {
    const tag = parseTag(item);
    if (!tag.ok) return tag;
    tags.add(tag.value);
  }
  return ok([...tags].sort());
}

/** BCP 47 (`en-GB`) or Apple's underscore form (`en_GB`), kept as given. */
const LOCALE = /^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$/;

export function parseLocale(value: unknown): Result<string> {
  if (typeof value === 'string' && value.length <= 35 && LOCALE.test(value)) return ok(value);
  return fail(problem('PK_ERR_LOCALE_INVALID', 'The locale must look like "en", "en-GB" or "en_GB".', 'shape'));
}
