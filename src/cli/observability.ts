/**
 * Prometheus metrics fed by the APNs client's diagnostics channels and by periodic reads of the
 * queue; logs of connection events. Subscribed at the edge, so the layers below only publish.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueue } from '../queue/contract.ts';
import type { ServiceLogger } from '../service/logger.ts';

export interface Observability {
  readonly registry: Registry;
  /** For the feedback poll's summary hook. */
  recordFeedbackPoll(summary: { removed: number; keptReregistered: number; malformed: number; tuplesRead: number }): void;
  close(): void;
}

interface RequestEvent {
  readonly event: 'sent' | 'accepted' | 'rejected' | 'failed';
  readonly apnsId: string;
  readonly origin: string;
  readonly pushType?: string;
  readonly reason?: string;
  readonly code?: string;
  readonly disposition?: string;
}

interface ConnectionEvent {
  readonly event: string;
  readonly origin?: string;
  readonly reason?: string;
  readonly lastStreamId?: number;
}

/** Every metric we export starts with this. */
export const METRICS_PREFIX = 'pushkeeper_';

export function startObservability(options: { queue?: JobQueue; logger: ServiceLogger; queueDepthIntervalMs?: number }): Observability {
  const registry = new Registry();
  // prom-client's default names already say what they are (`process_cpu_user_seconds_total`,
  // `nodejs_heap_size_used_bytes`): the prefix only scopes them, so it must not repeat `process_`.
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });
  const pushes = new Counter({
    name: 'pushkeeper_apns_pushes_total',
    help: 'APNs answers per device, by result and reason.',
    labelNames: ['result', 'reason'] as const,
    registers: [registry],
  });
  const invalidations = new Counter({
    name: 'pushkeeper_invalidations_total',
    help: 'Tokens removed from the registry, by source.',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const feedbackTuples = new Counter({
    name: 'pushkeeper_feedback_tuples_total',
    help: 'Legacy feedback service tuples, by what became of them.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'pushkeeper_apns_streams_in_flight',
    help: 'APNs requests written and not yet answered.',
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'pushkeeper_apns_request_duration_seconds',
    help: 'From writing an APNs request to its final answer (retries included).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const connections = new Counter({
    name: 'pushkeeper_apns_connection_events_total',
    help: 'APNs connection events (opened, closed, goaway).',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  const queueDepth = new Gauge({
    name: 'pushkeeper_queue_depth',
    help: 'Jobs waiting in the queue (all queues).',
    registers: [registry],
  });

  const started = new Map<string, bigint>();
  const onRequest = (message: unknown) => {
    const event = message as RequestEvent;
    if (event.event === 'sent') {
      if (!started.has(event.apnsId)) {
        started.set(event.apnsId, process.hrtime.bigint());
        inFlight.inc();
      }
      return;
    }
    const begin = started.get(event.apnsId);
    if (begin !== undefined) {
      started.delete(event.apnsId);
      inFlight.dec();
      latency.observe({ result: event.event }, Number(process.hrtime.bigint() - begin) / 1e9);
    }
    pushes.inc({ result: event.event, reason: event.reason ?? event.code ?? '' });
    if (event.event === 'rejected' && event.disposition === 'invalidate-token') {
      invalidations.inc({ source: event.reason === 'DeviceTokenNotForTopic' ? 'apns-400' : 'apns-410' });
    }
  };
  const onConnection = (message: unknown) => {
    const event = message as ConnectionEvent;
    connections.inc({ event: event.event });
    if (event.event === 'goaway') {
      options.logger.warn({ origin: event.origin, reason: event.reason, lastStreamId: event.lastStreamId }, 'APNs sent GOAWAY');
    }
  };
  diagnosticsChannel.subscribe('pushkeeper:apns:request', onRequest);
  diagnosticsChannel.subscribe('pushkeeper:apns:connection', onConnection);

  const timer =
    options.queue === undefined
      ? undefined
      : setInterval(() => {
          options.queue
            ?.depth()
            .then((depth) => queueDepth.set(depth))
            .catch(() => undefined);
        }, options.queueDepthIntervalMs ?? 5_000);
  timer?.unref();

  return {
    registry,
    recordFeedbackPoll(summary) {
      feedbackTuples.inc({ outcome: 'read' }, summary.tuplesRead);
      feedbackTuples.inc({ outcome: 'removed' }, summary.removed);
      feedbackTuples.inc({ outcome: 'kept-reregistered' }, summary.keptReregistered);
      feedbackTuples.inc({ outcome: 'malformed' }, summary.malformed);
      invalidations.inc({ source: 'feedback-service' }, summary.removed);
    },
    close() {
      if (timer) clearInterval(timer);
      diagnosticsChannel.unsubscribe('pushkeeper:apns:request', onRequest);
      diagnosticsChannel.unsubscribe('pushkeeper:apns:connection', onConnection);
    },
  };
}
