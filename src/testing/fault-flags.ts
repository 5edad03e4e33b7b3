/**
 * `--fault name=value` flags of `pushkeeper mock-apns` (and the control API's text form), turned
 * into a MockFaults script. One flag per fault; see docs/testing-with-the-mock.md for the list.
 */
import { fail, ok, problem, type Result } from '../domain/index.ts';
import type { MockFaults } from './mock-apns-types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const FAULT_FLAG_HELP = [
  'goaway-every=N            GOAWAY after every N streams on a connection',
  'goaway-behind=K           with goaway-every: last-stream-id = current stream id - K',
  'goaway-first=REASON       GOAWAY {"reason":REASON} on each connection\'s first request',
  'destroy-rate=P            cut the connection instead of answering, probability P per request',
  'never-respond-rate=P      leave the stream unanswered, probability P per request',
  'delay=MIN-MAX             delay each answer by MIN..MAX ms (or delay=MS)',
  'status=CODE:REASON[:RETRY_AFTER_S]:FOR_MS   answer CODE (429/500/503) for FOR_MS ms from start',
  'drop-limit-after-rejection   one stream after a rejection, restored after a success',
  'ignore-pings              never acknowledge PING frames',
  'seed=N                    seed of the fault PRNG',
] as const;

function invalid(flag: string, why: string): Result<never> {
  return fail(problem('PK_ERR_VALIDATION', `Fault "${flag}": ${why}`, 'fault-flag'));
}

function probability(value: string): number | undefined {
  const n = Number(value);
  return value !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
}

function count(value: string): number | undefined {
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

/** `nowMs` anchors the status window (`status=…:FOR_MS` lasts FOR_MS from now). */
export function parseFaultFlags(flags: readonly string[], nowMs: number): Result<MockFaults> {
  const faults: Mutable<MockFaults> = {};
  let behind: number | undefined;
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const name = eq === -1 ? flag : flag.slice(0, eq);
    const value = eq === -1 ? '' : flag.slice(eq + 1);
    switch (name) {
      case 'goaway-every': {
        const every = count(value);
        if (every === undefined || every === 0) return invalid(flag, 'expects a whole number above 0');
        faults.goAwayAfterStreams = { every };
        break;
      }
      case 'goaway-behind': {
        behind = count(value);
        if (behind === undefined) return invalid(flag, 'expects a whole number');
        break;
      }
      case 'goaway-first':
        if (value === '') return invalid(flag, 'expects a reason, e.g. BadCertificateEnvironment');
        faults.goAwayOnFirstRequest = { reason: value };
        break;
      case 'destroy-rate':
      case 'never-respond-rate': {
        const p = probability(value);
        if (p === undefined) return invalid(flag, 'expects a probability from 0 to 1');
        if (name === 'destroy-rate') faults.destroySessionRate = p;
        else faults.neverRespondRate = p;
        break;
      }
      case 'delay': {
        const match = /^(\d+)(?:-(\d+))?$/.exec(value);
        if (match === null) return invalid(flag, 'expects MS or MIN-MAX in milliseconds');
        const min = Number(match[1]);
        const max = match[2] === undefined ? min : Number(match[2]);
        if (max < min) return invalid(flag, 'MAX is below MIN');
        faults.delayMs = { min, max };
        break;
      }
      case 'status': {
        const parts = value.split(':');
        const status = Number(parts[0]);
        if (status !== 429 && status !== 500 && status !== 503)
          return invalid(flag, 'status must be 429, 500 or 503');
        const reason = parts[1];
        if (reason === undefined || reason === '')
          return invalid(flag, 'expects CODE:REASON[:RETRY_AFTER_S]:FOR_MS');
        const retryAfter = parts.length === 4 ? count(parts[2]!) : undefined;
        const duration = count(parts[parts.length - 1]!);
        if (
          parts.length < 3 ||
          parts.length > 4 ||
          duration === undefined ||
          (parts.length === 4 && retryAfter === undefined)
        ) {
          return invalid(flag, 'expects CODE:REASON[:RETRY_AFTER_S]:FOR_MS');
        }
        faults.statusWindow = {
          status,
          reason,
          untilMs: nowMs + duration,
          ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
        };
        break;
      }
      case 'drop-limit-after-rejection':
        faults.dropStreamLimitAfterRejection = true;
        break;
      case 'ignore-pings':
        faults.ignorePings = true;
        break;
      case 'seed': {
        const seed = count(value);
        if (seed === undefined) return invalid(flag, 'expects a whole number');
        faults.faultSeed = seed;
        break;
      }
      default:
        return invalid(
          flag,
          `unknown fault; known: ${FAULT_FLAG_HELP.map((line) => line.split(/[ =]/)[0]).join(', ')}`,
        );
    }
  }
  if (behind !== undefined) {
    if (faults.goAwayAfterStreams === undefined)
      return invalid(`goaway-behind=${behind}`, 'needs goaway-every');
    faults.goAwayAfterStreams = { ...faults.goAwayAfterStreams, lastStreamIdBehind: behind };
  }
  return ok(faults);
}
