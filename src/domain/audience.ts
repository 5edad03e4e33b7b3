/** Who a notification goes to (docs/api.md, "Audience"). */
import { parseDeviceToken, type DeviceToken } from './device-token.ts';
import { parseAlias, parseTag } from './device-fields.ts';
import { fail, ok, problem, type Result } from './result.ts';

export type Audience =
  | { readonly alias: string }
  | { readonly aliases: readonly string[] }
  | { readonly tokens: readonly DeviceToken[] }
  | { readonly tags: readonly string[] }
  | { readonly all: true };

export const MAX_AUDIENCE_LIST = 10_000;

function invalid(message: string, reason: string, details?: Record<string, unknown>) {
  return fail(problem('PK_ERR_AUDIENCE_INVALID', message, reason, details));
}

function parseList<T>(
  value: unknown,
  name: string,
  parseItem: (item: unknown) => Result<T>,
  maxItems: number,
): Result<readonly T[]> {
  if (!Array.isArray(value) || value.length === 0) return invalid(`audience.${name} must be a non-empty array.`, 'empty-list');
  if (value.length > maxItems) {
    return fail(
      problem('PK_ERR_TOO_MANY_RECIPIENTS', `audience.${name} holds at most ${maxItems} entries.`, 'too-many', {
        limit: maxItems,
      }),
    );
  }
  const out = new Set<T>();
  for (const [index, item] of value.entries()) {
    const parsed = parseItem(item);
    if (!parsed.ok) return fail({ ...parsed.error, details: { ...parsed.error.details, index, field: name } });
    out.add(parsed.value);
  }
  return ok([...out]);
}

export function parseAudience(value: unknown, maxItems = MAX_AUDIENCE_LIST): Result<Audience> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid('The audience must be an object.', 'not-object');
  }
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    return invalid('The audience names exactly one of alias, aliases, tokens, tags, all.', 'one-form', { keys });
  }
  const record = value as Record<string, unknown>;
  switch (keys[0]) {
    case 'alias': {
      const alias = parseAlias(record['alias']);
      return alias.ok ? ok({ alias: alias.value }) : alias;
    }
    case 'aliases': {
      const list = parseList(record['aliases'], 'aliases', parseAlias, maxItems);
      return list.ok ? ok({ aliases: list.value }) : list;
    }
    case 'tokens': {
      const list = parseList(record['tokens'], 'tokens', parseDeviceToken, maxItems);
      return list.ok ? ok({ tokens: list.value }) : list;
    }
    case 'tags': {
      const list = parseList(record['tags'], 'tags', parseTag, maxItems);
      return list.ok ? ok({ tags: list.value }) : list;
    }
    case 'all':
      return record['all'] === true ? ok({ all: true }) : invalid('audience.all must be true.', 'all-not-true');
    default:
      return invalid('The audience names exactly one of alias, aliases, tokens, tags, all.', 'unknown-form', {
        key: keys[0],
      });
  }
}
