/**
 * Store contract: keyset pages — every list that can grow answers one of these (see ../contract.ts
 * for the conventions).
 */

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `cursor` for the next page; null when this was the last one. */
  readonly nextCursor: string | null;
}

export interface PageRequest {
  readonly cursor?: string | null | undefined;
  /** 1..1000, default 100. */
  readonly limit?: number | undefined;
}
