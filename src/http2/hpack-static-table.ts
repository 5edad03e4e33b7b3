/**
 * The HPACK static table, RFC 7541 Appendix A. Index 1 is the first row; indexes above
 * `STATIC_TABLE_LENGTH` address the dynamic table (§2.3.3).
 */

export const STATIC_TABLE_LENGTH = 61;

/** Rows of Appendix A in order: `STATIC_TABLE[i - 1]` is index `i`. */
export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** What the encoder needs to know about a name of the static table. */
export interface StaticNameEntry {
  /** The lowest index carrying this name: what a literal with an indexed name refers to. */
  readonly nameIndex: number;
  /** Value → index, for the rows of this name (an exact match is sent as one indexed octet). */
  readonly valueIndexes: ReadonlyMap<string, number>;
}

/**
 * Name → its rows, derived from `STATIC_TABLE`. Constant data like the table itself; one lookup
 * answers both "is the field in the table" and "is its name".
 */
export const STATIC_TABLE_BY_NAME: ReadonlyMap<string, StaticNameEntry> = (() => {
  const byName = new Map<string, { nameIndex: number; valueIndexes: Map<string, number> }>();
  STATIC_TABLE.forEach(([name, value], i) => {
    let entry = byName.get(name);
    if (entry === undefined) {
      entry = { nameIndex: i + 1, valueIndexes: new Map() };
      byName.set(name, entry);
    }
    entry.valueIndexes.set(value, i + 1);
  });
  return byName;
})();
