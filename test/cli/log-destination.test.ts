/**
 * A log reader that stops reading must not stop the service: a child logs 20 MB through the
 * service's stdout destination into a pipe nobody reads, then exits. With pino's default destination
 * it sleeps forever on the full pipe.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const destinationModule = fileURLToPath(new URL('../../src/cli/log-destination.ts', import.meta.url));
const projectPackage = fileURLToPath(new URL('../../package.json', import.meta.url));

describe('stdout log destination', () => {
  it('lets a process that logs into an unread pipe go on and exit', async () => {
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
          'for (let i = 0; i < 20_000; i += 1) logger.info({ i, line }, "filling the pipe");',
          "process.stderr.write('logged\\n');",
        ].join('\n'),
      );
      // stdout is a pipe this test never reads: it fills after ~64 KiB.
      const child = spawn(process.execPath, [script], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(stderr).toContain('logged');
      expect(code).toBe(0);
      child.stdout.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
