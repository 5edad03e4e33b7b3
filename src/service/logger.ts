/**
 * The logging seam of the service layer: pino's call shape, so the edge passes a pino logger, and
 * tests pass a collector. Tokens are masked by the caller (maskDeviceToken) before they get here.
 */
export interface ServiceLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: ServiceLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
