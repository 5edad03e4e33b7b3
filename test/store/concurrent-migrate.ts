/** Runs `migrate()` from several processes at once against one fresh database. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { MigrationReport } from '../../src/store/index.ts';

const CHILD = join(import.meta.dirname, 'migrate-child.ts');

function migrateInChild(url: string): Promise<MigrationReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(stdout.trim()) as MigrationReport);
      else reject(new Error(`migrate child exited ${code}: ${stderr}`));
    });
  });
}

export function migrateFromProcesses(url: string, processes: number): Promise<MigrationReport[]> {
  return Promise.all(Array.from({ length: processes }, () => migrateInChild(url)));
}
