/**
 * `pushkeeper mock-apns`: runs the mock APNs provider API (and optionally the legacy feedback
 * service) from the command line, for people testing push code in any language. Prints the
 * endpoints and the CA file to trust, then runs until SIGINT/SIGTERM.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import {
  createTestPki,
  FAULT_FLAG_HELP,
  type MockApnsServer,
  type MockControlApi,
  type MockFeedbackServer,
  parseFaultFlags,
  startMockApnsServer,
  startMockControlApi,
  startMockFeedbackServer,
} from '../../testing/index.ts';

export interface MockApnsCliOptions {
  readonly host: string;
  readonly port: number;
  readonly feedbackPort?: number;
  readonly controlPort?: number;
  readonly devices?: string;
  readonly fault?: readonly string[];
  readonly sandbox: boolean;
  readonly acceptAll: boolean;
  readonly keyId?: string;
  readonly teamId?: string;
  readonly publicKeyFile?: string;
  readonly out?: string;
  readonly certBundleId: string;
}

export interface RunningMockApns {
  readonly apns: MockApnsServer;
  readonly feedback: MockFeedbackServer | undefined;
  readonly control: MockControlApi | undefined;
  /** The CA that signed the server certificates: trust it in the client under test. */
  readonly caPath: string;
  /** What the command prints: endpoints and files. */
  readonly summary: readonly string[];
  close(): Promise<void>;
}

interface DeviceEntry {
  token: string;
  topic: string;
  environment?: 'production' | 'sandbox';
  unregisteredAt?: number;
  reason?: 'Unregistered' | 'ExpiredToken';
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}

async function readDevices(file: string): Promise<DeviceEntry[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw usage(`--devices ${file}: ${(error as Error).message}`);
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(list))
    throw usage(`--devices ${file}: expected an array of {token, topic, environment?}.`);
  return list as DeviceEntry[];
}

/** Starts everything the options ask for; the caller decides how long it runs. */
export async function startMockApnsFromCli(options: MockApnsCliOptions): Promise<RunningMockApns> {
  const faults = parseFaultFlags(options.fault ?? [], Date.now());
  if (!faults.ok) throw usage(faults.error.message);
  const keyFlags = [options.keyId, options.teamId, options.publicKeyFile].filter(
    (v) => v !== undefined,
  ).length;
  if (keyFlags !== 0 && keyFlags !== 3) throw usage('--key-id, --team-id and --public-key-file go together.');
  const devices = options.devices === undefined ? [] : await readDevices(options.devices);
  const publicKeyPem =
    options.publicKeyFile === undefined ? undefined : await readFile(options.publicKeyFile, 'utf8');

  const outDir = options.out ?? (await mkdtemp(path.join(tmpdir(), 'pushkeeper-mock-apns-')));
  await mkdir(outDir, { recursive: true });
  const pki = await createTestPki({ serverNames: [options.host] });
  const client = await pki.issueClientCertificate({
    bundleId: options.certBundleId,
    environments: ['sandbox', 'production'],
  });
  const caPath = path.join(outDir, 'ca.pem');
  await writeFile(caPath, pki.caCertPem);
  await writeFile(path.join(outDir, 'client-cert.pem'), client.certPem);
  await writeFile(path.join(outDir, 'client-key.pem'), client.keyPem, { mode: 0o600 });

  const started: { close(): Promise<void> }[] = [];
  try {
    const apns = await startMockApnsServer({
      host: options.host,
      port: options.port,
      tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem },
      environment: options.sandbox ? 'sandbox' : 'production',
      mode: options.acceptAll ? 'accept-all' : 'validating',
      faults: faults.value,
      ...(publicKeyPem === undefined
        ? {}
        : { signingKeys: [{ keyId: options.keyId!, teamId: options.teamId!, publicKeyPem }] }),
    });
    started.push(apns);
    for (const device of devices) {
      try {
        apns.registerDevice(device.token, {
          topic: device.topic,
          ...(device.environment === undefined ? {} : { environment: device.environment }),
        });
        if (device.unregisteredAt !== undefined) {
          apns.unregisterDevice(device.token, device.unregisteredAt, device.reason ?? 'Unregistered');
        }
      } catch (error) {
        throw usage(`--devices: ${(error as Error).message}`);
      }
    }
    const feedback =
      options.feedbackPort === undefined
        ? undefined
        : await startMockFeedbackServer({
            host: options.host,
            port: options.feedbackPort,
            tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caCertPem },
          });
    if (feedback !== undefined) started.push(feedback);
    const control =
      options.controlPort === undefined
        ? undefined
        : await startMockControlApi(apns, {
            host: options.host,
            port: options.controlPort,
            ...(feedback === undefined ? {} : { feedback }),
          });
    if (control !== undefined) started.push(control);

    const summary = [
      `Mock APNs (${apns.environment}, ${options.acceptAll ? 'accept-all' : 'validating'}): ${apns.url}`,
      ...(feedback === undefined ? [] : [`Mock feedback service: ${options.host}:${feedback.port}`]),
      ...(control === undefined ? [] : [`Control API: ${control.url}`]),
      `Trust this CA: ${caPath}`,
      `Client certificate (${options.certBundleId}, both environments): ${path.join(outDir, 'client-cert.pem')}`,
      `Client key: ${path.join(outDir, 'client-key.pem')}`,
    ];
    let closing: Promise<void> | undefined;
    return {
      apns,
      feedback,
      control,
      caPath,
      summary,
      close() {
        closing ??= Promise.all(started.map((s) => s.close())).then(() => undefined);
        return closing;
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
}

export interface MockApnsCommandDeps {
  readonly stdout?: Writable;
  /** Resolves when the command should stop; default: the first SIGINT or SIGTERM. */
  readonly untilStopped?: () => Promise<void>;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw usage(`Not a port: ${value}`);
  return n;
}

export function registerMockApnsCommand(program: Command, deps: MockApnsCommandDeps = {}): void {
  program
    .command('mock-apns')
    .description('Run a mock APNs server (HTTP/2 provider API) for testing push code without Apple.')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'provider API port (0 = any free port)', port, 4443)
    .option('--feedback-port <port>', 'also run the legacy feedback service on this port', port)
    .option('--control-port <port>', 'JSON control API (devices, keys, faults, records) on this port', port)
    .option('--devices <file>', 'JSON array of {token, topic, environment?, unregisteredAt?, reason?}')
    .option(
      '--fault <name=value>',
      `fault to inject (repeatable):\n  ${FAULT_FLAG_HELP.join('\n  ')}`,
      // No default value: commander would print "(default: [])" after the fault list.
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--sandbox', 'behave as the sandbox (development) environment', false)
    .option('--accept-all', 'answer 200 to everything with minimal work (benchmarks)', false)
    .option('--key-id <id>', 'key id of a provider token signing key to accept')
    .option('--team-id <id>', 'team id of that key')
    .option('--public-key-file <file>', 'PEM public key (or the .p8 private key) of that key')
    .option('--out <dir>', 'directory for ca.pem and the client certificate (default: a new temp dir)')
    .option(
      '--cert-bundle-id <id>',
      'bundle id (UID) of the client certificate written for you',
      'com.example.app',
    )
    .action(async (options: MockApnsCliOptions) => {
      const stdout = deps.stdout ?? process.stdout;
      const running = await startMockApnsFromCli(options);
      stdout.write(`${running.summary.join('\n')}\nPress Ctrl+C to stop.\n`);
      await (deps.untilStopped ?? untilSignal)();
      await running.close();
      stdout.write('Mock APNs stopped.\n');
    });
}
