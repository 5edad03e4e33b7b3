/**
 * Retention upkeep, run hourly as a recurring queue job (once per interval across every process):
 * invalidation records past their retention, and final notifications past theirs with their
 * per-device outcomes (a broadcast to a million devices is a million outcome rows).
 */
import type { Store } from '../store/contract.ts';
import type { ServiceLogger } from './logger.ts';

export interface MaintenanceDeps {
  readonly store: Store;
  readonly logger: ServiceLogger;
  readonly invalidationRetentionDays: number;
  readonly notificationRetentionDays: number;
  readonly now?: () => Date;
}

const DAY_MS = 86_400_000;

export async function runMaintenance(deps: MaintenanceDeps): Promise<void> {
  const now = (deps.now?.() ?? new Date()).getTime();
  const invalidations = await deps.store.invalidations.purge(
    new Date(now - deps.invalidationRetentionDays * DAY_MS),
  );
  if (invalidations > 0) deps.logger.info({ purged: invalidations }, 'purged old invalidation records');
  const notifications = await deps.store.notifications.purge(
    new Date(now - deps.notificationRetentionDays * DAY_MS),
  );
  if (notifications > 0)
    deps.logger.info({ purged: notifications }, 'purged old notifications and their outcomes');
}
