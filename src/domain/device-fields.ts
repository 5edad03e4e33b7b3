/** The app-chosen labels on a device: alias (a user id), tags, locale. */
import { fail, ok, problem, type Result } from './result.ts';

export const MAX_ALIAS_LENGTH = 256;
export const MAX_TAG_LENGTH = 128;
export const MAX_TAGS_PER_DEVICE = 100;

/**
 * The fields a client sets on a device: the body of `PUT …/devices/:token`, and an NDJSON import
 * line besides its `token`. Anything else is refused in both, never ignored: a misspelt `tag` must
 * not look like success.
 */
export const DEVICE_FIELD_NAMES = ['environment', 'alias', 'tags', 'locale'] as const;

/** The first key of `record` that is neither a device field nor one of `also`, if any. */
export function unknownDeviceField(record: object, also: readonly string[] = []): string | undefined {
  for (const key of Object.keys(record)) {
    if (!(DEVICE_FIELD_NAMES as readonly string[]).includes(key) && !also.includes(key)) return key;
  }
  return undefined;
}

/**
 * Characters an alias or a tag may not hold, after NFC normalisation:
 * - controls (general category Cc, C0, DEL, C1) and the line/paragraph separators U+2028/U+2029:
 *   they make logs and CSV exports lie;
 * - format characters (Cf): the bidi embeddings, overrides and isolates (U+202A–U+202E,
 *   U+2066–U+2069) and marks (U+200E/U+200F, U+061C) reorder what an operator reads (Unicode
 *   Technical Report #36 §2.1, "Trojan Source" CVE-2021-42574), and the BOM (U+FEFF), soft hyphen and
 *   invisible operators make two different ids look the same;
 * - lone surrogates (Cs), which are not Unicode text and cannot be stored as UTF-8.
 * ZERO WIDTH NON-JOINER and JOINER (U+200C, U+200D) are format characters too, but Persian and Indic
 * spellings and emoji sequences need them (UAX #31 §2.3 allows them in identifiers), so they stay.
 */
const REFUSED = /(?![\u200c\u200d])[\p{Cc}\p{Cf}\p{Cs}\u2028\u2029]/u;

/** The one rule for labels an app chooses (aliases, tags); `kind` only picks the code and wording. */
function parseLabel(
  value: unknown,
  kind: { readonly code: 'PK_ERR_ALIAS_INVALID' | 'PK_ERR_TAG_INVALID'; readonly name: string; readonly max: number },
): Result<string> {
  if (typeof value !== 'string' || value.length === 0) {
    return fail(problem(kind.code, `${kind.name} must be a non-empty string.`, 'empty'));
  }
  // NFC (UAX #15): "é" typed as one code point or as "e" + U+0301 is one alias, one user. The
  // length limit applies to the stored, normalised form.
  const normalised = value.normalize('NFC');
  if (normalised.length > kind.max) {
    return fail(problem(kind.code, `${kind.name} has at most ${kind.max} characters.`, 'too-long'));
  }
  const refused = REFUSED.exec(normalised);
  if (refused !== null) {
    const codePoint = `U+${refused[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return fail(
      problem(
        kind.code,
        `${kind.name} must not contain control, format or bidi characters (found ${codePoint}).`,
        'control-character',
        { codePoint, index: refused.index },
      ),
    );
  }
  return ok(normalised);
}

export function parseAlias(value: unknown): Result<string> {
  return parseLabel(value, { code: 'PK_ERR_ALIAS_INVALID', name: 'An alias', max: MAX_ALIAS_LENGTH });
}

export function parseTag(value: unknown): Result<string> {
  return parseLabel(value, { code: 'PK_ERR_TAG_INVALID', name: 'A tag', max: MAX_TAG_LENGTH });
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
