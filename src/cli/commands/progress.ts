/**
 * Progress of long work (import, export, push --wait): a cli-progress bar with rate and ETA on a
 * terminal, plain lines at most once a second otherwise (logs, CI). Always on stderr, so stdout
 * stays clean for data (`devices export > devices.ndjson`) and for --json.
 */
import cliProgress from 'cli-progress';
import type { ClientIo } from './client-io.ts';

export interface Progress {
  update(value: number, total?: number | null): void;
  stop(): void;
}

const PLAIN_INTERVAL_MS = 1000;

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

export function createProgress(
  io: ClientIo,
  label: string,
  unit: string,
  total: number | null,
  quiet = false,
): Progress {
  const startedMs = Date.now();
  let current = 0;
  let knownTotal = total;
  const rate = () => current / Math.max((Date.now() - startedMs) / 1000, 0.001);

  if (quiet) return { update: () => {}, stop: () => {} };

  if (io.stderr.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      {
        stream: io.stderr as NodeJS.WritableStream,
        format:
          knownTotal === null
            ? `${label} {value} ${unit} | {rate}/s`
            : `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(knownTotal ?? 0, 0, { rate: '0' });
    return {
      update(value, newTotal) {
        current = value;
        if (newTotal !== undefined && newTotal !== null && newTotal !== knownTotal) {
          knownTotal = newTotal;
          bar.setTotal(newTotal);
        }
        bar.update(value, { rate: rate().toFixed(0) });
      },
      stop() {
        bar.stop();
      },
    };
  }

  let lastPrintMs = 0;
  const print = () => {
    const eta =
      knownTotal === null || current === 0 ? '' : `, ETA ${formatEta((knownTotal - current) / rate())}`;
    const of = knownTotal === null ? '' : `/${knownTotal}`;
    io.stderr.write(`${label}: ${current}${of} ${unit}, ${rate().toFixed(0)}/s${eta}\n`);
  };
  return {
    update(value, newTotal) {
      current = value;
      if (newTotal !== undefined) knownTotal = newTotal;
      const now = Date.now();
      if (now - lastPrintMs >= PLAIN_INTERVAL_MS) {
        lastPrintMs = now;
        print();
      }
    },
    stop() {
      print();
    },
  };
}
