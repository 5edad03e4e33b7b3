/**
 * The mock's idea of which device tokens exist: each belongs to one app (bundle id) in one
 * environment, and may have been unregistered at a known time (the 410 `timestamp`, "Handling notification responses from APNs").
 */
import type { Environment } from '../domain/index.ts';

export interface MockDevice {
  readonly bundleId: string;
  readonly environment: Environment;
  readonly unregistered?: { readonly timestampMs: number; readonly reason: 'Unregistered' | 'ExpiredToken' };
}

export type DeviceVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 400; readonly reason: 'BadDeviceToken' | 'DeviceTokenNotForTopic' }
  | {
      readonly ok: false;
      readonly status: 410;
      readonly reason: 'Unregistered' | 'ExpiredToken';
      readonly timestamp: number;
    };

const TOKEN_PATTERN = /^[0-9a-fA-F]+$/;

/** Apple says not to assume 32 bytes; we take any even-length hex of 32..100 bytes, like domain/. */
export function isPlausibleToken(token: string): boolean {
  return TOKEN_PATTERN.test(token) && token.length % 2 === 0 && token.length >= 64 && token.length <= 200;
}

export class DeviceRegistry {
  readonly #devices = new Map<string, MockDevice>();

  register(token: string, bundleId: string, environment: Environment): void {
    if (!isPlausibleToken(token)) throw new TypeError('A mock device token must be 64 to 200 hex digits.');
    this.#devices.set(token.toLowerCase(), { bundleId, environment });
  }

  unregister(token: string, timestampMs: number, reason: 'Unregistered' | 'ExpiredToken'): void {
    const key = token.toLowerCase();
    const device = this.#devices.get(key);
    if (device === undefined) throw new RangeError('Only a registered mock device can be unregistered.');
    this.#devices.set(key, { ...device, unregistered: { timestampMs, reason } });
  }

  get(token: string): MockDevice | undefined {
    return this.#devices.get(token.toLowerCase());
  }

  list(): [string, MockDevice][] {
    return [...this.#devices];
  }

  /** `bundleId` is the topic without its push-type suffix (for mdm, the topic itself). */
  check(token: string, bundleId: string, environment: Environment): DeviceVerdict {
    const device = this.#devices.get(token.toLowerCase());
    // A token of the other environment is indistinguishable from garbage to APNs (BadDeviceToken).
    if (device === undefined || device.environment !== environment) {
      return { ok: false, status: 400, reason: 'BadDeviceToken' };
    }
    if (device.bundleId !== bundleId) return { ok: false, status: 400, reason: 'DeviceTokenNotForTopic' };
    if (device.unregistered !== undefined) {
      return {
        ok: false,
        status: 410,
        reason: device.unregistered.reason,
        timestamp: device.unregistered.timestampMs,
      };
    }
    return { ok: true };
  }
}
