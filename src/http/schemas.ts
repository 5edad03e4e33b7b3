/**
 * TypeBox schemas of the API's bodies, parameters and answers. They validate requests, shape
 * (and strip) responses through Fastify's serializer, and are the source of /openapi.json.
 *
 * Field rules that belong to the domain (token shape, alias, tags, locale, audience, payload,
 * options) are left loose here on purpose: the domain parsers check them and answer their own
 * catalogue codes (PK_ERR_ALIAS_INVALID…), which say more than a generic PK_ERR_VALIDATION.
 */
import { type Static, type TSchema, Type } from 'typebox';
import { ERROR_CATALOGUE } from '../errors.ts';

const DateTime = (description?: string) =>
  Type.String({ format: 'date-time', ...(description === undefined ? {} : { description }) });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

// ------------------------------------------------------------------------------------------------
// Errors and pages
// ------------------------------------------------------------------------------------------------

export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        enum: Object.keys(ERROR_CATALOGUE),
        description: 'Stable catalogue code (docs/errors.md).',
      }),
      message: Type.String({ description: 'For people; may change at any time.' }),
      details: Type.Unknown({ description: 'Machine-readable refinement (reason, field, limits…) or null.' }),
    }),
  },
  { description: 'Every error answer.' },
);

/** Error answers a route may give, for the OpenAPI document. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBodySchema> {
  const out: Record<number, typeof ErrorBodySchema> = {};
  for (const status of [...statuses, 401, 429, 503]) out[status] = ErrorBodySchema;
  return out;
}

export const PageQuery = Type.Object(
  {
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 2048, description: 'nextCursor of the previous page.' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export function pageOf<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Nullable(
      Type.String({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    ),
  });
}

// ------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------

const AppId = Type.String({ minLength: 1, maxLength: 100, description: 'App id (`app_…`).' });
export const AppParams = Type.Object({ app: AppId });
export const DeviceParams = Type.Object({
  app: AppId,
  token: Type.String({ minLength: 1, maxLength: 400, description: 'APNs device token, hex (64+ digits).' }),
});
export const KeyParams = Type.Object({ app: AppId, keyId: Type.String({ minLength: 1, maxLength: 100 }) });
export const AliasParams = Type.Object({ app: AppId, alias: Type.String({ minLength: 1, maxLength: 1024 }) });
export const NotificationParams = Type.Object({
  app: AppId,
  id: Type.String({ minLength: 1, maxLength: 100 }),
});

// ------------------------------------------------------------------------------------------------
// Apps and keys
// ------------------------------------------------------------------------------------------------

const NonEmpty = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description === undefined ? {} : { description }) });

export const TokenCredentials = Type.Object(
  {
    auth: Type.Literal('token'),
    teamId: Type.String({
      pattern: '^[A-Z0-9]{10}$',
      description: 'Apple Developer Team ID (10 characters).',
    }),
    keyId: Type.String({ pattern: '^[A-Z0-9]{10}$', description: 'Key ID of the .p8 key (10 characters).' }),
    privateKey: NonEmpty(10_000, 'The .p8 file contents (PEM).'),
  },
  { additionalProperties: false, title: 'Token (.p8) credentials' },
);
export const CertificatePemCredentials = Type.Object(
  {
    auth: Type.Literal('certificate'),
    certPem: NonEmpty(100_000),
    keyPem: NonEmpty(100_000),
    passphrase: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false, title: 'Certificate (PEM) credentials' },
);
export const CertificateP12Credentials = Type.Object(
  {
    auth: Type.Literal('certificate'),
    p12Base64: NonEmpty(200_000),
    passphrase: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false, title: 'Certificate (PKCS#12) credentials' },
);
export const ApnsCredentialsSchema = Type.Union(
  [TokenCredentials, CertificatePemCredentials, CertificateP12Credentials],
  {
    description: 'Never answered back; stored encrypted.',
  },
);

const EndpointUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  pattern: '^https://',
  description: 'https://host:port',
});
export const EndpointsSchema = Type.Object(
  {
    production: Type.Optional(Nullable(EndpointUrl)),
    sandbox: Type.Optional(Nullable(EndpointUrl)),
    caPem: Type.Optional(Nullable(Type.String({ maxLength: 100_000 }))),
  },
  { additionalProperties: false, description: "APNs hosts to use instead of Apple's (a mock or a proxy)." },
);
export const FeedbackSettingsSchema = Type.Object(
  {
    host: NonEmpty(255),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    intervalHours: Type.Optional(Nullable(Type.Number({ minimum: 0.1, maximum: 168 }))),
    caPem: Type.Optional(Nullable(Type.String({ maxLength: 100_000 }))),
  },
  { additionalProperties: false },
);
export const WebhookSchema = Type.Object(
  { url: Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://' }), secret: NonEmpty(1000) },
  { additionalProperties: false },
);

const Topic = Type.String({
  minLength: 1,
  maxLength: 255,
  pattern: '^[A-Za-z0-9][A-Za-z0-9.-]*$',
  description: 'Bundle id.',
});

export const CreateAppBody = Type.Object(
  {
    name: NonEmpty(200),
    topic: Topic,
    apns: ApnsCredentialsSchema,
    endpoints: Type.Optional(EndpointsSchema),
    feedback: Type.Optional(FeedbackSettingsSchema),
    webhook: Type.Optional(WebhookSchema),
  },
  { additionalProperties: false },
);
export type CreateAppBody = Static<typeof CreateAppBody>;

export const PatchAppBody = Type.Object(
  {
    name: Type.Optional(NonEmpty(200)),
    topic: Type.Optional(Topic),
    apns: Type.Optional(ApnsCredentialsSchema),
    endpoints: Type.Optional(Nullable(EndpointsSchema)),
    feedback: Type.Optional(Nullable(FeedbackSettingsSchema)),
    webhook: Type.Optional(Nullable(WebhookSchema)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchAppBody = Static<typeof PatchAppBody>;

export const ProviderHealthSchema = Type.Object(
  {
    status: Type.Union([
      Type.Literal('healthy'),
      Type.Literal('misconfigured'),
      Type.Literal('unreachable'),
      Type.Literal('unauthorized'),
    ]),
    reason: Nullable(Type.String()),
    since: Nullable(DateTime()),
  },
  { description: 'healthy, or why not (misconfigured, unreachable, unauthorized) and since when.' },
);

const VerifyStatusSchema = Type.Union([
  Type.Literal('ok'),
  Type.Literal('unauthorized'),
  Type.Literal('unreachable'),
  Type.Literal('error'),
]);
const VerifyResultSchema = Type.Object({ status: VerifyStatusSchema, reason: Type.String() });
export const VerifyReportSchema = Type.Object(
  {
    apns: Type.Object({
      status: VerifyStatusSchema,
      reason: Type.String(),
      environments: Type.Object({ production: VerifyResultSchema, sandbox: VerifyResultSchema }),
    }),
  },
  { description: 'Per provider: ok, unauthorized (credentials refused), unreachable (no connection), or error.' },
);

export const AppSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  topic: Type.String(),
  authKind: Type.Union([Type.Literal('token'), Type.Literal('certificate')]),
  endpoints: Nullable(
    Type.Object({
      production: Nullable(Type.String()),
      sandbox: Nullable(Type.String()),
      hasCa: Type.Boolean(),
      ca: Nullable(
        Type.Object(
          { subject: Type.String(), sha256: Type.String(), validTo: Type.String() },
          { description: 'The first certificate of the CA bundle: who it is and its SHA-256 fingerprint.' },
        ),
      ),
    }),
  ),
  feedback: Nullable(
    Type.Object({
      host: Type.String(),
      port: Type.Integer(),
      intervalHours: Nullable(Type.Number()),
      hasCa: Type.Boolean(),
    }),
  ),
  webhookUrl: Nullable(Type.String()),
  health: Type.Object(
    { apns: ProviderHealthSchema },
    { description: "What Pushkeeper saw of each provider: one key per provider the app uses." },
  ),
  createdAt: DateTime(),
  updatedAt: DateTime(),
});
export type AppView = Static<typeof AppSchema>;

export const ApiKeySchema = Type.Object({
  id: Type.String(),
  appId: Nullable(Type.String()),
  scope: Type.Union([Type.Literal('admin'), Type.Literal('server'), Type.Literal('publishable')]),
  prefix: Type.String({ description: 'First characters of the key, to recognise it.' }),
  createdAt: DateTime(),
  lastUsedAt: Nullable(DateTime()),
  revokedAt: Nullable(DateTime()),
});
export type ApiKeyView = Static<typeof ApiKeySchema>;

export const CreatedAppSchema = Type.Object({
  ...AppSchema.properties,
  apiKey: Type.String({ description: 'A server key (pk_server_…): shown once.' }),
  publishableKey: Type.String({ description: 'A publishable key (pk_pub_…): shown once.' }),
  keys: Type.Array(ApiKeySchema),
});

export const CreateKeyBody = Type.Object(
  { scope: Type.Union([Type.Literal('server'), Type.Literal('publishable')]) },
  { additionalProperties: false },
);
export const CreatedKeySchema = Type.Object({
  ...ApiKeySchema.properties,
  key: Type.String({ description: 'The secret: shown once, stored only as a SHA-256 hash.' }),
});

// ------------------------------------------------------------------------------------------------
// Devices
// ------------------------------------------------------------------------------------------------

export const RegisterDeviceBody = Type.Object(
  {
    environment: Type.Optional(
      Type.String({ description: '`production` (default for a new device) or `sandbox`.' }),
    ),
    alias: Type.Optional(
      Nullable(
        Type.String({
          description:
            'The user id; null unbinds. With a publishable key a string needs `aliasToken` (docs/identity.md).',
        }),
      ),
    ),
    aliasToken: Type.Optional(
      Type.String({
        maxLength: 4096,
        description:
          "HS256 JWT minted by the app's backend with its identity secret: `sub` = the alias, `exp` within 24 h. Binds `sub` when `alias` is absent.",
      }),
    ),
    tags: Type.Optional(Type.Array(Type.String(), { description: 'Replaces the set.' })),
    locale: Type.Optional(Nullable(Type.String({ description: '`en`, `en-GB` or `en_GB`.' }))),
  },
  { additionalProperties: false },
);
export type RegisterDeviceBody = Static<typeof RegisterDeviceBody>;

export const DeviceSchema = Type.Object({
  token: Type.String(),
  environment: Type.Union([Type.Literal('production'), Type.Literal('sandbox')]),
  alias: Nullable(Type.String()),
  tags: Type.Array(Type.String()),
  locale: Nullable(Type.String()),
  createdAt: DateTime(),
  lastRegisteredAt: DateTime(),
  lastSuccessAt: Nullable(DateTime()),
  invalidSince: Nullable(DateTime()),
});
export type DeviceView = Static<typeof DeviceSchema>;

/** A publishable key's answer: the same for a new and an existing device, and nothing stored in it. */
export const RegistrationAcknowledgedSchema = Type.Object(
  {
    token: Type.String({ description: 'The token as stored (lower-case hex).' }),
    registered: Type.Literal(true),
  },
  { description: 'Registered or refreshed (publishable keys: nothing about the stored device is answered).' },
);

/** `POST /v1/apps/:app/identity-secret`: the new secret, shown this once. */
export const IdentitySecretSchema = Type.Object({
  identitySecret: Type.String({ description: 'Sign aliasTokens with it (HS256); stored encrypted, never shown again.' }),
});

export const DeviceListQuery = Type.Object(
  {
    alias: Type.Optional(Type.String({ minLength: 1 })),
    tag: Type.Optional(Type.String({ minLength: 1 })),
    environment: Type.Optional(Type.String()),
    cursor: PageQuery.properties.cursor,
    limit: PageQuery.properties.limit,
  },
  { additionalProperties: false },
);

export const ImportResultSchema = Type.Object({
  created: Type.Integer(),
  updated: Type.Integer(),
  rejected: Type.Integer(),
  rejectedLines: Type.Array(
    Type.Object({
      line: Type.Integer({ description: '1-based line number.' }),
      code: Type.String(),
      message: Type.String(),
      reason: Nullable(Type.String()),
    }),
    { description: 'The first rejected lines (at most 100).' },
  ),
});

// ------------------------------------------------------------------------------------------------
// Notifications, invalidations, feedback
// ------------------------------------------------------------------------------------------------


export const AcceptedPushSchema = Type.Object({
  id: Type.String(),
  status: Type.String(),
  created: Type.Boolean({
    description: 'false when an earlier request with this Idempotency-Key answered it.',
  }),
});

const Counts = Type.Object({
  targeted: Type.Integer(),
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  invalidated: Type.Integer(),
  failed: Type.Integer(),
  pending: Type.Integer(),
});

export const NotificationSchema = Type.Object({
  id: Type.String(),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('sending'),
    Type.Literal('done'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
  ]),
  counts: Counts,
  audience: Type.Unknown(),
  options: Type.Unknown(),
  failureReason: Nullable(Type.String()),
  createdAt: DateTime(),
  startedAt: Nullable(DateTime()),
  completedAt: Nullable(DateTime()),
});
export type NotificationView = Static<typeof NotificationSchema>;

export const OutcomeSchema = Type.Object({
  token: Type.String(),
  outcome: Type.Union([
    Type.Literal('accepted'),
    Type.Literal('rejected'),
    Type.Literal('failed'),
    Type.Literal('invalidated'),
  ]),
  reason: Nullable(Type.String()),
  apnsId: Nullable(Type.String()),
  at: DateTime(),
});

export const CancelResultSchema = Type.Object({
  id: Type.String(),
  result: Type.Union([Type.Literal('cancelled'), Type.Literal('already-final')]),
  status: Type.String(),
});

export const InvalidationSchema = Type.Object({
  token: Type.String(),
  reason: Type.String(),
  apnsTimestamp: DateTime('When APNs says the token stopped being valid.'),
  removedAt: DateTime(),
  source: Type.String({ description: '`apns-410`, `apns-400`, `feedback-service` or `manual`.' }),
});

export const InvalidationQuery = Type.Object(
  {
    since: Type.Optional(DateTime('Only removals at or after this time.')),
    cursor: PageQuery.properties.cursor,
    limit: PageQuery.properties.limit,
  },
  { additionalProperties: false },
);

export const FeedbackPollSchema = Type.Object({
  appId: Type.String(),
  at: DateTime(),
  tuplesRead: Type.Integer(),
  removed: Type.Integer(),
  keptReregistered: Type.Integer(),
  notFound: Type.Integer(),
  malformed: Type.Integer(),
  truncatedBytes: Type.Integer(),
});
