/**
 * Where the service's log lines go: stdout, written synchronously (a line is out before the request
 * it describes is answered), but never at the price of the service.
 *
 * pino's default stdout destination retries a full pipe forever, sleeping in Atomics.wait: a log
 * reader that stops reading (a stuck collector, a parent that went away without closing the pipe)
 * froze the whole process, and a `serve` finishing its shutdown was seen hanging in its last log
 * line. Here a pipe that stays full for STALL_LIMIT_MS makes writes fail fast instead: lines are kept
 * in memory up to MAX_BUFFERED_BYTES, newer ones dropped past that (sonic-boom's maxLength), and writing resumes
 * as soon as the reader drains the pipe.
 */
import pino from 'pino';

const STALL_LIMIT_MS = 2_000;
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export function stdoutLogDestination(): pino.DestinationStream {
  // Opening process.stdout puts a pipe into non-blocking mode (libuv): a full pipe then answers
  // EAGAIN, which the rule below can act on, instead of blocking the write inside the kernel.
  const fd = process.stdout.fd;
  let stalledSince: number | undefined;
  const destination = pino.destination({
    dest: fd,
    sync: true,
    maxLength: MAX_BUFFERED_BYTES,
    // Asked on every EAGAIN: retry (after sonic-boom's 100 ms sleep) until the pipe has been full
    // for the stall limit, then give up at once on every write until one gets through.
    retryEAGAIN: () => {
      const now = Date.now();
      stalledSince ??= now;
      return now - stalledSince < STALL_LIMIT_MS;
    },
  });
  // sonic-boom reports a retry after its sleep as a write of 0 octets: only real progress counts.
  destination.on('write', (written: number) => {
    if (written > 0) stalledSince = undefined;
  });
  destination.on('error', (error: NodeJS.ErrnoException) => {
    // A full pipe we gave up on: the lines stay buffered (up to the cap) for the next write.
    if (error.code === 'EAGAIN' || error.code === 'EBUSY') return;
    // A reader that went away: pino's own listener stops writing to this destination.
    if (error.code === 'EPIPE') return;
    throw error;
  });
  return destination;
}
