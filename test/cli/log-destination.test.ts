/**
 * A log reader that stops reading must not stop the service: a child logs 20 MB through the
 * service's stdout destination into a pipe nobody reads, then exits. With pino's default destination
 * it sleeps forever on the full pipe. A reader that goes away (`serve | head`) must not crash it
 * either: its writes then fail with EPIPE.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const destinationModule = fileURLToPath(new URL('../../src/cli/log-destination.ts', import.meta.url));
const projectPackage = fileURLToPath(new URL('../../package.json', import.meta.url));

/** Runs `body` (lines of a module that has `logger`) in a child whose stdout is a pipe to this process. */
async function runLoggingChild(body: readonly string[], onStdout: (child: ReturnType<typeof spawn>) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'pk-log-destination-'));
  try {
    const script = join(dir, 'child.ts');
    writeFileSync(
      script,
      [
        "import { createRequire } from 'node:module';",
        `const pino = createRequire(${JSON.stringify(projectPackage)})('pino');`,
        `import { stdoutLogDestination } from ${JSON.stringify(destinationModule)};`,
        'const logger = pino({}, stdoutLogDestination());',
        "const line = 'x'.repeat(1000);",
        ...body,
        "process.stderr.write('logged\\n');",
      ].join('\n'),
    );
    const child = spawn(process.execPath, [script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onStdout(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdout?.destroy();
    return { code, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('stdout log destination', () => {
  it('lets a process that logs into an unread pipe go on and exit', async () => {
    // stdout is a pipe this test never reads: it fills after ~64 KiB.
    const { code, stderr } = await runLoggingChild(
      ['for (let i = 0; i < 20_000; i += 1) logger.info({ i, line }, "filling the pipe");'],
      () => {},
    );
    expect(stderr).toContain('logged');
    expect(code).toBe(0);
  }, 60_000);

  it('lets a process whose log reader went away (EPIPE) go on and exit', async () => {
    let read = 0;
    const { code, stderr } = await runLoggingChild(
      [
        // Logs for about a second, in bursts, so most writes come after the reader is gone.
        'for (let burst = 0; burst < 50; burst += 1) {',
        '  for (let i = 0; i < 100; i += 1) logger.info({ burst, i, line }, "after the reader left");',
        '  await new Promise((resolve) => setTimeout(resolve, 20));',
        '}',
      ],
      (child) => {
        // Like `| head -c 100`: read the first chunk, then close the pipe's read end.
        child.stdout?.once('data', (chunk: Buffer) => {
          read += chunk.length;
          child.stdout?.destroy();
        });
      },
    );
    expect(read).toBeGreaterThan(0);
    expect(stderr).toContain('logged');
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  }, 60_000);
});
