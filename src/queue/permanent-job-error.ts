/**
 * Thrown by a job handler to fail its jobs without retry: retrying cannot help (a payload APNs
 * rejects, credentials that are gone). Any other error is retried with backoff while retries remain.
 */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

export function isPermanentJobError(value: unknown): value is PermanentJobError {
  return value instanceof PermanentJobError;
}
