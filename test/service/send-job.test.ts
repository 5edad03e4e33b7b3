/** A send job's devices travel as two strings (queues.ts): they come back exactly as they went in. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeviceToken, Environment } from '../../src/domain/index.ts';
import { packSendDevices, type SendJob, sendJobDevices, sendJobSize } from '../../src/service/queues.ts';

const device = fc.record({
  // APNs tokens are 32 bytes today; Apple warns they may grow, so lengths vary here.
  token: fc
    .uint8Array({ minLength: 32, maxLength: 100 })
    .map((bytes) => Buffer.from(bytes).toString('hex') as DeviceToken),
  environment: fc.constantFrom<Environment>('production', 'sandbox'),
});

function job(devices: Parameters<typeof packSendDevices>[0]): SendJob {
  return { appId: 'app_1', notificationId: 'ntf_1', ...packSendDevices(devices), endCursor: 'c' };
}

describe('send job payload', () => {
  it('any page of devices round-trips, in order, through the job and its JSON', () => {
    fc.assert(
      fc.property(fc.array(device, { maxLength: 300 }), (devices) => {
        const stored = JSON.parse(JSON.stringify(job(devices))) as SendJob;
        expect(sendJobDevices(stored)).toEqual(devices);
        expect(sendJobSize(stored)).toBe(devices.length);
      }),
    );
  });

  it('a page of 1,000 devices is two strings, under three quarters of the JSON of an object per device', () => {
    const devices = Array.from({ length: 1000 }, (_, n) => ({
      token: n.toString(16).padStart(64, '0') as DeviceToken,
      environment: (n % 2 === 0 ? 'production' : 'sandbox') as Environment,
    }));
    const packed = JSON.stringify(job(devices));
    expect(packed.length).toBeLessThan(JSON.stringify({ devices }).length * 0.75);
    expect(sendJobDevices(JSON.parse(packed) as SendJob)).toEqual(devices);
  });

  it('reads a job enqueued by an earlier release, with an object per device', () => {
    const devices = [
      { token: 'ab'.repeat(32) as DeviceToken, environment: 'sandbox' as const },
      { token: 'cd'.repeat(32) as DeviceToken, environment: 'production' as const },
    ];
    const legacy = { appId: 'app_1', notificationId: 'ntf_1', devices, endCursor: 'c' };
    expect(sendJobDevices(legacy)).toEqual(devices);
    expect(sendJobSize(legacy)).toBe(2);
  });
});
