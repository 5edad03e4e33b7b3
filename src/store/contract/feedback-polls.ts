/** Store contract: feedback polls (see ../contract.ts for the conventions). */

export interface FeedbackPoll {
  readonly appId: string;
  readonly lastPollAt: Date;
  readonly summary: Readonly<Record<string, unknown>>;
}

export interface FeedbackPollStore {
  get(appId: string): Promise<FeedbackPoll | null>;
  record(appId: string, at: Date, summary: Readonly<Record<string, unknown>>): Promise<void>;
  /**
   * True for exactly one caller per (app, slot), across every process sharing the database: the
   * feedback service clears its list once read, so two processes polling one slot would each see
   * half of it. Claims older than 30 days (far beyond the longest interval, 168 h) are
   * pruned as new ones are taken. An unknown app is never claimed (false).
   */
  claim(appId: string, slotStart: Date, now?: Date): Promise<boolean>;
}
