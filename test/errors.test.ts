import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, isErrorCode, PushkeeperError } from '../src/errors.ts';

describe('error catalogue', () => {
  it('uses PK_ERR_ codes with HTTP statuses', () => {
    for (const [code, spec] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^PK_ERR_[A-Z0-9_]+$/);
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(spec.status).toBeLessThan(600);
      expect(spec.message.length).toBeGreaterThan(0);
    }
  });

  it('builds errors that carry code, status and details', () => {
    const error = new PushkeeperError('PK_ERR_TOKEN_INVALID', undefined, { reason: 'odd-length' });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('PK_ERR_TOKEN_INVALID');
    expect(error.status).toBe(400);
    expect(error.details).toEqual({ reason: 'odd-length' });
    expect(isErrorCode('PK_ERR_TOKEN_INVALID')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
  });
});
