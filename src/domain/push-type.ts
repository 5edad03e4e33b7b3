/**
 * The eleven values of `apns-push-type` and what each implies, from Apple's "Sending notification
 * requests to APNs" (header table and payload size limits).
 */
import { fail, ok, problem, type Result } from './result.ts';

export type Priority = 1 | 5 | 10;

export interface PushTypeRule {
  /** Appended to the app's bundle id to form `apns-topic`. */
  readonly topicSuffix: string;
  /** Priorities APNs accepts for this type; the first is our default. */
  readonly priorities: readonly Priority[];
  readonly defaultPriority: Priority;
  /** Payload limit in bytes of the serialised JSON body. */
  readonly maxPayloadBytes: number;
  /** Whether a TLS client-certificate connection may send it (else token auth only). */
  readonly certificateAuth: boolean;
}

export const PUSH_TYPE_RULES = {
  alert: { topicSuffix: '', priorities: [10, 5, 1], defaultPriority: 10, maxPayloadBytes: 4096, certificateAuth: true },
  // Apple: "Set the priority to 5 ... sending with priority 10 is an error" for background pushes.
  background: { topicSuffix: '', priorities: [5], defaultPriority: 5, maxPayloadBytes: 4096, certificateAuth: true },
  // Apple: VoIP payloads may be up to 5120 bytes.
  voip: { topicSuffix: '.voip', priorities: [10, 5, 1], defaultPriority: 10, maxPayloadBytes: 5120, certificateAuth: true },
  complication: {
    topicSuffix: '.complication',
    priorities: [10, 5, 1],
    defaultPriority: 10,
    maxPayloadBytes: 4096,
    certificateAuth: true,
  },
  fileprovider: {
    topicSuffix: '.pushkit.fileprovider',
    priorities: [10, 5, 1],
    defaultPriority: 10,
    maxPayloadBytes: 4096,
    certificateAuth: true,
  },
  // The topic of an MDM push is the UID of the MDM push certificate, supplied as the app's topic.
  mdm: { topicSuffix: '', priorities: [10, 5, 1], defaultPriority: 10, maxPayloadBytes: 4096, certificateAuth: true },
  // Apple: "The location push type supports only token-based authentication."
  location: {
    topicSuffix: '.location-query',
    priorities: [10, 5],
    defaultPriority: 10,
    maxPayloadBytes: 4096,
    certificateAuth: false,
  },
  // Apple (ActivityKit, and DTS on the forums, thread 712499): certificate auth is not supported.
  liveactivity: {
    topicSuffix: '.push-type.liveactivity',
    priorities: [10, 5],
    defaultPriority: 10,
    maxPayloadBytes: 4096,
    certificateAuth: false,
  },
  pushtotalk: {
    topicSuffix: '.voip-ptt',
    priorities: [10, 5, 1],
    defaultPriority: 10,
    maxPayloadBytes: 4096,
    certificateAuth: true,
  },
  // WidgetKit and control pushes are documented for token-based connections only.
  widgets: {
    topicSuffix: '.push-type.widgets',
    priorities: [10, 5, 1],
    defaultPriority: 10,
    maxPayloadBytes: 4096,
    certificateAuth: false,
  },
  controls: {
    topicSuffix: '.push-type.controls',
    priorities: [10, 5, 1],
    defaultPriority: 10,
    maxPayloadBytes: 4096,
    certificateAuth: false,
  },
} as const satisfies Record<string, PushTypeRule>;

export type PushType = keyof typeof PUSH_TYPE_RULES;
export const PUSH_TYPES = Object.keys(PUSH_TYPE_RULES) as readonly PushType[];

export function isPushType(value: unknown): value is PushType {
  return typeof value === 'string' && Object.hasOwn(PUSH_TYPE_RULES, value);
}

export function parsePushType(value: unknown): Result<PushType> {
  if (isPushType(value)) return ok(value);
  return fail(
    problem('PK_ERR_PUSH_TYPE_INVALID', `Push type must be one of ${PUSH_TYPES.join(', ')}.`, 'unknown', {
      value: typeof value === 'string' ? value : typeof value,
    }),
  );
}

export function pushTypeRule(type: PushType): PushTypeRule {
  return PUSH_TYPE_RULES[type];
}

/** `apns-topic` for a bundle id and push type: always derived here, never taken from a caller. */
export function topicFor(bundleId: string, type: PushType): string {
  return bundleId + PUSH_TYPE_RULES[type].topicSuffix;
}

/** The push type whose suffix a topic carries (longest suffix wins), with the bundle id it extends. */
export function splitTopic(topic: string): { bundleId: string; suffixTypes: readonly PushType[] } {
  let best = '';
  for (const type of PUSH_TYPES) {
    const suffix = PUSH_TYPE_RULES[type].topicSuffix;
    if (suffix.length > best.length && topic.endsWith(suffix) && topic.length > suffix.length) best = suffix;
  }
  const suffixTypes = PUSH_TYPES.filter((type) => PUSH_TYPE_RULES[type].topicSuffix === best);
  return { bundleId: topic.slice(0, topic.length - best.length), suffixTypes };
}
