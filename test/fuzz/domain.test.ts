/**
 * Fuzzing the public domain functions a push request goes through (audience, options, payload) and
 * the APNs reason classifier: whatever the input, a Result with a catalogued code — never a throw —
 * and what is accepted obeys the rule it was checked against.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyRejection,
  isApnsReason,
  isCanonicalUuid,
  MAX_COLLAPSE_ID_BYTES,
  PUSH_TYPE_RULES,
  PUSH_TYPES,
  parseAudience,
  parseNotificationOptions,
  type Result,
  serialisePayload,
} from '../../src/domain/index.ts';
import { isErrorCode } from '../../src/errors.ts';
import { FUZZ_TIMEOUT_MS, fuzzRuns } from './fuzz-runs.ts';

const DISPOSITIONS = new Set(['invalidate-token', 'environment-mismatch', 'retry', 'reauth', 'permanent']);
const SCOPES = new Set(['device', 'notification', 'credentials', 'connection']);

/** A failure names a catalogued code and says something; a success is checked by the caller. */
function expectResult<T>(result: Result<T>): result is { ok: true; value: T } {
  expect(typeof result.ok).toBe('boolean');
  if (!result.ok) {
    expect(isErrorCode(result.error.code)).toBe(true);
    expect(result.error.message.length).toBeGreaterThan(0);
  }
  return result.ok;
}

/** Strings that look like what the functions expect, and strings that do not at all. */
const hex = (length: number, maxLength = length) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: length, maxLength });
const nearString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', ' ', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '\u0000', '\u202e', 'é', '💬'),
  hex(60, 210),
  fc.uuid(),
);
const anyValue = fc.oneof(fc.anything(), nearString, fc.array(nearString), fc.integer(), fc.double());

describe('fuzz: APNs reason classifier', () => {
  it('every (status, reason) maps to a known disposition and scope; known reasons keep their table entry', { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(fc.integer({ min: -1, max: 1000 }), fc.option(nearString, { nil: undefined }), (status, reason) => {
        const rule = classifyRejection(status, reason);
        expect(DISPOSITIONS.has(rule.disposition)).toBe(true);
        expect(SCOPES.has(rule.scope)).toBe(true);
        expect(rule.known).toBe(reason !== undefined && isApnsReason(reason));
        expect(typeof rule.description).toBe('string');
      }),
      { numRuns: fuzzRuns(1000) },
    );
  });
});

describe('fuzz: push request validators', () => {
  const audienceArb = fc.oneof(
    anyValue,
    fc.record({ alias: anyValue }),
    fc.record({ aliases: fc.array(anyValue, { maxLength: 20 }) }),
    fc.record({ tokens: fc.array(fc.oneof(anyValue, hex(64)), { maxLength: 20 }) }),
    fc.record({ tags: fc.array(anyValue, { maxLength: 20 }) }),
    fc.record({ all: anyValue }),
    fc.dictionary(fc.constantFrom('alias', 'aliases', 'tokens', 'tags', 'all', 'x'), anyValue),
  );

  it('parseAudience: any JSON-ish value gives a Result; an accepted list has no duplicates', { timeout: FUZZ_TIMEOUT_MS }, () => {
    fc.assert(
      fc.property(audienceArb, (input) => {
        const result = parseAudience(input, 10);
        if (!expectResult(result)) return;
        const value = result.value as Record<string, unknown>;
        expect(Object.keys(value)).toHaveLength(1);
        for (const list of Object.values(value)) {
          if (Array.isArray(list)) {
            expect(list.length).toBeLessThanOrEqual(10);
            expect(new Set(list).size).toBe(list.length);
          }
        }
      }),
      { numRuns: fuzzRuns(500) },
    );
  });

  it('parseNotificationOptions: any option values give a Result; accepted ones are within the rules', { timeout: FUZZ_TIMEOUT_MS }, () => {
    const option = (known: fc.Arbitrary<unknown>) => fc.option(fc.oneof(known, anyValue), { nil: undefined });
    fc.assert(
      fc.property(
        fc.record(
          {
            pushType: option(fc.constantFrom(...PUSH_TYPES)),
            priority: option(fc.constantFrom(1, 5, 10)),
            expiration: option(fc.integer()),
            collapseId: option(nearString),
            apnsId: option(fc.uuid()),
          },
          { requiredKeys: [] },
        ),
        (input) => {
          const result = parseNotificationOptions(input);
          if (!expectResult(result)) return;
          const options = result.value;
          expect(PUSH_TYPES).toContain(options.pushType);
          expect([1, 5, 10]).toContain(options.priority);
          if (options.collapseId !== undefined) {
            expect(Buffer.byteLength(options.collapseId, 'utf8')).toBeLessThanOrEqual(MAX_COLLAPSE_ID_BYTES);
          }
          if (options.apnsId !== undefined) expect(isCanonicalUuid(options.apnsId)).toBe(true);
          if (options.expiration !== undefined) expect(Number.isInteger(options.expiration)).toBe(true);
        },
      ),
      { numRuns: fuzzRuns(500) },
    );
  });

  it('serialisePayload: any value and push type give a Result; accepted bytes are a JSON object within the limit', { timeout: FUZZ_TIMEOUT_MS }, () => {
    const payloadArb = fc.oneof(
      anyValue,
      fc.record({ aps: fc.oneof(anyValue, fc.record({ alert: anyValue, event: anyValue, timestamp: anyValue }, { requiredKeys: [] })) }, { requiredKeys: [] }),
      fc.record({ aps: fc.record({ alert: fc.string({ maxLength: 6000 }) }) }),
    );
    fc.assert(
      fc.property(payloadArb, fc.constantFrom(...PUSH_TYPES), (payload, type) => {
        const result = serialisePayload(payload, type);
        if (!expectResult(result)) return;
        expect(result.value.byteLength).toBeLessThanOrEqual(PUSH_TYPE_RULES[type].maxPayloadBytes);
        const parsed: unknown = JSON.parse(result.value.bytes.toString('utf8'));
        expect(typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)).toBe(true);
      }),
      { numRuns: fuzzRuns(500) },
    );
  });
});
