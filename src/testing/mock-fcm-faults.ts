/**
 * `--fault name=value` flags of `pushkeeper mock-fcm` (and the control API's text form), turned
 * into a MockFcmFaults script. One flag per fault; docs/testing-with-the-mock.md lists them.
 */
import { fail, ok, problem, type Result } from '../domain/index.ts';
import type { MockFcmFaults } from './mock-fcm-types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const FCM_FAULT_FLAG_HELP = [
  'status=CODE:ERROR[:RETRY_AFTER_S]:FOR_MS   answer CODE (429/500/503) with FcmError ERROR for FOR_MS ms',
  'fail-next=CODE:ERROR:N[:RETRY_AFTER_S]     the next N sends answer CODE with FcmError ERROR',
  'error-rate=CODE:ERROR:P       each send answers CODE with FcmError ERROR with probability P',
  'delay=MIN-MAX                 delay each answer by MIN..MAX ms (or delay=MS)',
  'goaway-every=N                HTTP/2 GOAWAY "session_timed_out" after N streams per connection',
  'destroy-rate=P                cut the connection instead of answering, probability P',
  'seed=N                        seed of the fault PRNG',
] as const;

function invalid(flag: string, why: string): Result<never> {
  return fail(problem('PK_ERR_VALIDATION', `Fault "${flag}": ${why}`, 'fault-flag'));
}

function statusOf(value: string | undefined): 429 | 500 | 503 | undefined {
  const n = Number(value);
  return n === 429 || n === 500 || n === 503 ? n : undefined;
}

const whole = (value: string | undefined) =>
  value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
const probability = (value: string | undefined) => {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
};

export function parseFcmFaultFlags(flags: readonly string[], nowMs: number): Result<MockFcmFaults> {
  const faults: Mutable<MockFcmFaults> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const name = eq === -1 ? flag : flag.slice(0, eq);
    const parts = (eq === -1 ? '' : flag.slice(eq + 1)).split(':');
    switch (name) {
      case 'status': {
        const status = statusOf(parts[0]);
        const duration = whole(parts[parts.length - 1]);
        const retryAfter = parts.length === 4 ? whole(parts[2]) : undefined;
        if (
          status === undefined ||
          !parts[1] ||
          duration === undefined ||
          parts.length < 3 ||
          parts.length > 4 ||
          (parts.length === 4 && retryAfter === undefined)
        ) {
          return invalid(flag, 'expects CODE:ERROR[:RETRY_AFTER_S]:FOR_MS with CODE 429, 500 or 503');
        }
        faults.statusWindow = {
          status,
          errorCode: parts[1],
          untilMs: nowMs + duration,
          ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
        };
        break;
      }
      case 'fail-next': {
        const status = statusOf(parts[0]);
        const count = whole(parts[2]);
        const retryAfter = parts.length === 4 ? whole(parts[3]) : undefined;
        if (
          status === undefined ||
          !parts[1] ||
          count === undefined ||
          parts.length < 3 ||
          parts.length > 4 ||
          (parts.length === 4 && retryAfter === undefined)
        ) {
          return invalid(flag, 'expects CODE:ERROR:N[:RETRY_AFTER_S] with CODE 429, 500 or 503');
        }
        faults.failNext = {
          status,
          errorCode: parts[1],
          count,
          ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
        };
        break;
      }
      case 'error-rate': {
        const status = statusOf(parts[0]);
        const rate = probability(parts[2]);
        if (status === undefined || !parts[1] || rate === undefined || parts.length !== 3) {
          return invalid(flag, 'expects CODE:ERROR:P with CODE 429, 500 or 503 and P from 0 to 1');
        }
        faults.errorRate = { status, errorCode: parts[1], rate };
        break;
      }
      case 'delay': {
        const match = /^(\d+)(?:-(\d+))?$/.exec(parts.join(':'));
        if (match === null) return invalid(flag, 'expects MS or MIN-MAX in milliseconds');
        const min = Number(match[1]);
        const max = match[2] === undefined ? min : Number(match[2]);
        if (max < min) return invalid(flag, 'MAX is below MIN');
        faults.delayMs = { min, max };
        break;
      }
      case 'goaway-every': {
        const every = whole(parts[0]);
        if (every === undefined || every === 0) return invalid(flag, 'expects a whole number above 0');
        faults.goAwayAfterStreams = every;
        break;
      }
      case 'destroy-rate': {
        const rate = probability(parts[0]);
        if (rate === undefined) return invalid(flag, 'expects a probability from 0 to 1');
        faults.destroyRate = rate;
        break;
      }
      case 'seed': {
        const seed = whole(parts[0]);
        if (seed === undefined) return invalid(flag, 'expects a whole number');
        faults.faultSeed = seed;
        break;
      }
      default:
        return invalid(
          flag,
          `unknown fault; known: ${FCM_FAULT_FLAG_HELP.map((line) => line.split(/[ =]/)[0]).join(', ')}`,
        );
    }
  }
  return ok(faults);
}
