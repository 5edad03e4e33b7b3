/**
 * The mass-invalidation guard's rule: does a batch's answers say "these devices are dead" or "this
 * app is configured wrong"? Invalidation by disposition deletes devices, so a configuration error
 * read as dead devices would empty the registry (a typo in the topic turns every answer into
 * DeviceTokenNotForTopic). The rule is pure; the service applies its verdict.
 *
 * - Apple, "Handling notification responses from APNs": `DeviceTokenNotForTopic` — "the device
 *   token doesn't match the specified topic". A device that was uninstalled answers 410
 *   Unregistered instead, so most of a batch answering this means the topic is wrong, not the
 *   devices.
 * - `TopicDisallowed` ("pushing to this topic is not allowed") and `BadTopic` are about the app's
 *   topic and credentials, whatever the device: one is enough.
 * - `BadDeviceToken` on both environments (Pushkeeper retries a BadDeviceToken once on the other
 *   environment): for most of a batch it means the endpoints or the credentials' team do not match
 *   where the tokens came from.
 *
 * Other providers add their own rules (`MisconfigurationRule`): FCM's SENDER_ID_MISMATCH for every
 * token of a batch means the service account belongs to another project, not that the tokens died.
 */
import type { ErrorCode } from '../errors.ts';

/** What one batch of one app got back, counted; only rejections by the provider count. */
export interface BatchAnswers {
  /** Devices the batch sent to. */
  readonly sent: number;
  /** Rejection reasons of the first answers, with how many devices got each. */
  readonly reasons: ReadonlyMap<string, number>;
  /** Devices rejected as bad tokens in both environments (APNs BadDeviceToken twice). */
  readonly rejectedInBothEnvironments: number;
  /** The app's topic (APNs) or project (FCM), named in the verdict. */
  readonly topic: string;
}

export interface GuardThresholds {
  /** A batch is a configuration error when more than this fraction of it got the same answer. */
  readonly fraction: number;
  /**
   * ... and, for answers a dead or garbage token can also give (BadDeviceToken in both
   * environments), at least this many devices did: one bad token in a push to one device is that
   * token's fault. DeviceTokenNotForTopic has no minimum: a dead device never answers it.
   */
  readonly minDevices: number;
}

export const DEFAULT_GUARD_THRESHOLDS: GuardThresholds = { fraction: 0.5, minDevices: 10 };

export interface MisconfigurationVerdict {
  /** A stable catalogue code naming the likely cause. */
  readonly code: ErrorCode;
  /** The provider's reason that triggered it. */
  readonly reason: string;
  /** For people: what is wrong and what to check. */
  readonly cause: string;
}

export type MisconfigurationRule = (
  answers: BatchAnswers,
  thresholds: GuardThresholds,
) => MisconfigurationVerdict | null;

/** "Most of a batch": more than `fraction` of it, and at least `minDevices`. */
export function isMostOf(count: number, sent: number, thresholds: GuardThresholds): boolean {
  return count >= thresholds.minDevices && count > thresholds.fraction * sent;
}

const topicMismatch: MisconfigurationRule = (answers, thresholds) => {
  const count = answers.reasons.get('DeviceTokenNotForTopic') ?? 0;
  if (!isMostOf(count, answers.sent, { fraction: thresholds.fraction, minDevices: 1 })) return null;
  return {
    code: 'PK_ERR_APNS_TOPIC_MISMATCH',
    reason: 'DeviceTokenNotForTopic',
    cause: `the topic ${answers.topic} does not match these devices (${count} of ${answers.sent} answered DeviceTokenNotForTopic): check the app's topic (its bundle id)`,
  };
};

const topicRefused: MisconfigurationRule = (answers) => {
  for (const reason of ['TopicDisallowed', 'BadTopic']) {
    if ((answers.reasons.get(reason) ?? 0) === 0) continue;
    return {
      code: 'PK_ERR_APNS_TOPIC_REFUSED',
      reason,
      cause: `APNs refused the topic ${answers.topic} (${reason}): check the app's topic and that its credentials may push to it`,
    };
  }
  return null;
};

const tokensUnknownEverywhere: MisconfigurationRule = (answers, thresholds) => {
  const count = answers.rejectedInBothEnvironments;
  if (!isMostOf(count, answers.sent, thresholds)) return null;
  return {
    code: 'PK_ERR_APNS_TOKENS_REJECTED',
    reason: 'BadDeviceToken',
    cause: `${count} of ${answers.sent} devices were refused as BadDeviceToken in both production and sandbox: check the app's endpoints and that its credentials belong to the team of the app these tokens came from`,
  };
};

export const APNS_MISCONFIGURATION_RULES: readonly MisconfigurationRule[] = [
  topicRefused,
  topicMismatch,
  tokensUnknownEverywhere,
];

/** The first rule's verdict, or null when the answers look like devices, not settings. */
export function detectMisconfiguration(
  rules: readonly MisconfigurationRule[],
  answers: BatchAnswers,
  thresholds: GuardThresholds,
): MisconfigurationVerdict | null {
  if (answers.sent === 0) return null;
  for (const rule of rules) {
    const verdict = rule(answers, thresholds);
    if (verdict !== null) return verdict;
  }
  return null;
}
