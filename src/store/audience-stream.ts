/**
 * An audience read in keyset pages with bounded memory (ARCHITECTURE.md, principle 6): each
 * page is one query of at most `pageSize` rows ordered by the device's surrogate id, and nothing
 * is read ahead. List audiences (aliases, tokens, tags) are walked in chunks of their list so no
 * statement carries thousands of parameters; the cursor is (chunk, last id), so a fan-out can
 * checkpoint after any page and resume there.
 */
import type { Kysely, RawBuilder } from 'kysely';
import type { Audience, DeviceToken, Environment } from '../domain/index.ts';
import { PushkeeperError } from '../errors.ts';
import type { AudienceDevice, AudiencePage, StreamAudienceOptions } from './contract.ts';
import { CompiledStatement } from './compiled-statement.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { appKeyOf } from './app-keys.ts';
import { chunks, tokensBytes } from './rows.ts';
import type { Database } from './schema.ts';

export const DEFAULT_AUDIENCE_PAGE = 1000;
export const MAX_AUDIENCE_PAGE = 10_000;
/** List entries per statement: aliases and tokens are matched with IN (…) on an index. */
const LIST_CHUNK = 500;
/** Tags per statement: each tag is its own limited index range, merged with UNION. */
const TAG_CHUNK = 50;

interface Row {
  id: number;
  /** Lower-case hex, made by the database (see AudienceStatements). */
  token: string;
  environment: string;
  locale: string | null;
}

type PageQuery = (afterId: number, limit: number) => Promise<readonly Row[]>;

/** SQL giving a bytes column as lower-case hex (StoreCapabilities.bytesAsHex). */
type BytesAsHex = (column: string) => RawBuilder<string>;

function pageQuery(
  db: Kysely<Database>,
  bytesAsHex: BytesAsHex,
  appId: string,
  afterId: number,
  limit: number,
) {
  return (
    db
      .selectFrom('devices as d')
      .select(['d.id', bytesAsHex('d.token').as('token'), 'd.environment', 'd.locale'])
      .where('d.app_key', '=', appKeyOf(db, appId))
      .where('d.id', '>', afterId)
      // A device marked invalid is skipped until it registers again (DeviceStore.markInvalid).
      .where('d.invalid_since', 'is', null)
      .orderBy('d.id')
      .limit(limit)
  );
}

/**
 * The pages of the `all` and `alias` audiences, compiled once per store (compiled-statement.ts): a
 * broadcast to 1,000,000 devices runs the same page query a thousand times or more, and need not
 * build and compile it with Kysely each time.
 *
 * Tokens are stored as bytes; the database hands them over as hex text. Reading the bytes instead
 * costs a buffer per row (node:sqlite makes a Uint8Array with its own backing store, pg parses
 * bytea's text form into a Buffer), which we would then turn into a string anyway.
 */
export class AudienceStatements {
  readonly bytesAsHex: BytesAsHex;
  /** [appId, afterId, limit] */
  readonly all: CompiledStatement<readonly [string, number, number]>;
  /** [appId, afterId, limit, alias] */
  readonly alias: CompiledStatement<readonly [string, number, number, string]>;

  constructor(bytesAsHex: BytesAsHex) {
    this.bytesAsHex = bytesAsHex;
    this.all = new CompiledStatement((db, slot) => pageQuery(db, bytesAsHex, slot(0), slot(1), slot(2)), {
      prepare: true,
    });
    this.alias = new CompiledStatement(
      (db, slot) => pageQuery(db, bytesAsHex, slot(0), slot(1), slot(2)).where('d.alias', '=', slot(3)),
      { prepare: true },
    );
  }
}

/** One query per chunk of the audience; chunks are disjoint, so no device is yielded twice. */
function chunkQueries(
  db: Kysely<Database>,
  statements: AudienceStatements,
  appId: string,
  audience: Audience,
): PageQuery[] {
  const base = (afterId: number, limit: number) =>
    pageQuery(db, statements.bytesAsHex, appId, afterId, limit);
  if ('all' in audience) {
    return [(afterId, limit) => statements.all.execute<Row>(db, [appId, afterId, limit])];
  }
  if ('alias' in audience) {
    return [(afterId, limit) => statements.alias.execute<Row>(db, [appId, afterId, limit, audience.alias])];
  }
  if ('aliases' in audience) {
    return [...chunks([...new Set(audience.aliases)].sort(), LIST_CHUNK)].map(
      (part) => (afterId, limit) => base(afterId, limit).where('d.alias', 'in', part).execute(),
    );
  }
  if ('tokens' in audience) {
    // Sorted hex sorts as the bytes do: each chunk is a contiguous stretch of the (app, token) index.
    const tokens = tokensBytes([...new Set(audience.tokens)].sort());
    return [...chunks(tokens, LIST_CHUNK)].map(
      (part) => (afterId, limit) => base(afterId, limit).where('d.token', 'in', part).execute(),
    );
  }
  // Tags ("any of"): the first `limit` ids above the cursor among the union of the tags' sets are
  // among each tag's own first `limit` ids, so each tag contributes one bounded index range scan.
  // A device carrying tags of several chunks belongs to the earliest chunk only.
  const tagChunks = [...chunks([...new Set(audience.tags)].sort(), TAG_CHUNK)];
  return tagChunks.map((part, index) => {
    const earlier = tagChunks.slice(0, index).flat();
    return (afterId, limit) => {
      const perTag = part.map((tag) =>
        db
          .selectFrom((eb) =>
            eb
              .selectFrom('device_tags')
              .select('device_id')
              .where('app_key', '=', appKeyOf(db, appId))
              .where('tag', '=', tag)
              .where('device_id', '>', afterId)
              .orderBy('device_id')
              .limit(limit)
              .as('t'),
          )
          .select('t.device_id'),
      );
      let union = perTag[0]!;
      for (const next of perTag.slice(1)) union = union.union(next);
      let query = base(afterId, limit).where('d.id', 'in', union);
      if (earlier.length > 0) {
        query = query.where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('device_tags as x')
                .select('x.device_id')
                .where('x.app_key', '=', appKeyOf(db, appId))
                .whereRef('x.device_id', '=', 'd.id')
                .where('x.tag', 'in', earlier),
            ),
          ),
        );
      }
      return query.execute();
    };
  });
}

export async function* streamAudience(
  db: Kysely<Database>,
  statements: AudienceStatements,
  appId: string,
  audience: Audience,
  options: StreamAudienceOptions = {},
): AsyncIterable<AudiencePage> {
  const pageSize = options.pageSize ?? DEFAULT_AUDIENCE_PAGE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_AUDIENCE_PAGE) {
    throw new PushkeeperError('PK_ERR_VALIDATION', `pageSize must be from 1 to ${MAX_AUDIENCE_PAGE}.`);
  }
  const start = decodeCursor('audience', options.after, { c: 'int', i: 'int' });
  if (!start.ok) throw new PushkeeperError('PK_ERR_CURSOR_INVALID', start.error.message);
  const queries = chunkQueries(db, statements, appId, audience);
  let chunk = start.value === null ? 0 : Number(start.value.c);
  let afterId = start.value === null ? 0 : Number(start.value.i);
  while (chunk < queries.length) {
    const rows = await queries[chunk]!(afterId, pageSize);
    const exhausted = rows.length < pageSize;
    if (rows.length > 0) {
      afterId = Number(rows.at(-1)!.id);
    }
    if (exhausted) {
      chunk += 1;
      afterId = 0;
    }
    if (rows.length > 0) {
      const devices: AudienceDevice[] = rows.map((row) => ({
        token: row.token as DeviceToken,
        environment: row.environment as Environment,
        locale: row.locale,
      }));
      yield { devices, cursor: encodeCursor('audience', { c: chunk, i: afterId }) };
    }
  }
}
