/** Exit codes scripts can rely on (docs/cli.md has the table). */
export const EXIT = { ok: 0, failure: 1, usage: 2, unavailable: 3, partial: 4, timeout: 5 } as const;
