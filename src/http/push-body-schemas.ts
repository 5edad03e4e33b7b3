/**
 * The push route's body: what is validated (loose: the domain's parsers check audience, payload and
 * options and answer their own codes) and what /openapi.json shows (precise, built from the same
 * domain tables, so the document cannot drift from the rules that are enforced).
 */
import { type Static, type TSchema, Type } from 'typebox';
import {
  COLLAPSE_ID_PATTERN,
  MAX_ALIAS_LENGTH,
  MAX_COLLAPSE_ID_BYTES,
  MAX_TAG_LENGTH,
  PUSH_TYPE_RULES,
  TOKEN_MAX_HEX_LENGTH,
  TOKEN_MIN_HEX_LENGTH,
} from '../domain/index.ts';

/**
 * The push body as validated: audience, payload and options are checked by the domain's parsers,
 * which answer their own codes (PK_ERR_AUDIENCE_INVALID, PK_ERR_OPTIONS_INVALID…) and name the
 * field; JSON Schema here would answer a generic PK_ERR_VALIDATION first.
 */
export const AcceptPushBody = Type.Object(
  { audience: Type.Unknown(), payload: Type.Unknown(), options: Type.Optional(Type.Unknown()) },
  { additionalProperties: false },
);

// The same body as the OpenAPI document describes it, built from the domain's own tables (push
// types, priorities, limits), so the document cannot drift from the rules that are enforced.
const PUSH_TYPES = Object.keys(PUSH_TYPE_RULES);
const AliasDoc = Type.String({
  minLength: 1,
  maxLength: MAX_ALIAS_LENGTH,
  description: 'NFC-normalised; no control, format or bidi characters.',
});
const TagDoc = Type.String({ minLength: 1, maxLength: MAX_TAG_LENGTH, description: 'As an alias.' });
const TokenDoc = Type.String({
  pattern: '^[0-9A-Fa-f]+$',
  minLength: TOKEN_MIN_HEX_LENGTH,
  maxLength: TOKEN_MAX_HEX_LENGTH,
  description: 'APNs device token, an even number of hex digits.',
});
const recipients = (item: TSchema, description: string) =>
  Type.Array(item, { minItems: 1, description: `${description} At most PUSHKEEPER_MAX_RECIPIENTS entries.` });
const oneKey = <T extends TSchema>(key: string, schema: T, title: string) =>
  Type.Object({ [key]: schema }, { additionalProperties: false, title });

export const AudienceDoc = Type.Union(
  [
    oneKey('alias', AliasDoc, 'One user (every device of the alias)'),
    oneKey('aliases', recipients(AliasDoc, 'Several users.'), 'Several users'),
    oneKey('tokens', recipients(TokenDoc, 'Devices by token.'), 'Devices'),
    oneKey('tags', recipients(TagDoc, 'Devices with any of these tags.'), 'Tagged devices'),
    oneKey('all', Type.Literal(true), 'Every device of the app (rate limited)'),
  ],
  { description: 'Exactly one form.' },
);

export const PayloadDoc = Type.Object(
  {
    aps: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: "Apple's aps dictionary (alert, badge, sound…)." }),
    ),
  },
  {
    additionalProperties: true,
    description: `The APNs JSON payload: \`aps\` plus custom keys. Serialised, it must fit the push type's limit (${[
      ...new Set(Object.values(PUSH_TYPE_RULES).map((rule) => rule.maxPayloadBytes)),
    ].join(' or ')} bytes).`,
  },
);

export const PushOptionsDoc = Type.Object(
  {
    pushType: Type.Optional(
      Type.Union(
        PUSH_TYPES.map((type) => Type.Literal(type)),
        { description: 'apns-push-type; default alert.' },
      ),
    ),
    priority: Type.Optional(
      Type.Union([Type.Literal(10), Type.Literal(5), Type.Literal(1)], {
        description: 'apns-priority; the push type decides which are allowed and the default.',
      }),
    ),
    expiration: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'apns-expiration, epoch seconds; 0 = try once.' }),
    ),
    collapseId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_COLLAPSE_ID_BYTES,
        pattern: COLLAPSE_ID_PATTERN,
        description: `apns-collapse-id: at most ${MAX_COLLAPSE_ID_BYTES} bytes of UTF-8, no control characters, no leading or trailing space.`,
      }),
    ),
    recordDeliveries: Type.Optional(
      Type.Boolean({ description: 'Also keep an outcome row for each accepted delivery.' }),
    ),
  },
  { additionalProperties: false, description: 'Unknown fields and null values are refused (PK_ERR_OPTIONS_INVALID).' },
);

/** What /openapi.json shows for the push route's body. */
export const AcceptPushBodyDoc = Type.Object(
  { audience: AudienceDoc, payload: PayloadDoc, options: Type.Optional(PushOptionsDoc) },
  { additionalProperties: false },
);
export type AcceptPushBody = Static<typeof AcceptPushBody>;
