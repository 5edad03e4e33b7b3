#!/usr/bin/env node
/**
 * The `pushkeeper` command. Each subcommand lives in its own file under commands/ and registers
 * itself on the program; this file only assembles them and maps failures to exit codes.
 */
import { buildProgram } from './program.ts';

const program = buildProgram();
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`pushkeeper: ${message}\n`);
  process.exitCode = typeof (error as { exitCode?: unknown }).exitCode === 'number' ? (error as { exitCode: number }).exitCode : 1;
}
