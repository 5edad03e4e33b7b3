/**
 * A notification is done when its fan-out is complete and every targeted device has an outcome.
 * Both the fan-out and each send batch write first and check after, so whichever finishes last
 * sees both facts; the compare-and-set transition makes the double check harmless.
 */
import type { Store } from '../store/contract.ts';
import type { ServiceLogger } from './logger.ts';

export async function finishIfComplete(store: Store, appId: string, notificationId: string, logger: ServiceLogger): Promise<boolean> {
  const notification = await store.notifications.get(appId, notificationId);
  if (notification === null || notification.status !== 'sending') return false;
  if (!notification.fanoutComplete || notification.counts.pending > 0) return false;
  const applied = await store.notifications.transition(appId, notificationId, ['sending'], 'done');
  if (applied) logger.info({ appId, notificationId, counts: notification.counts }, 'notification done');
  return applied;
}
