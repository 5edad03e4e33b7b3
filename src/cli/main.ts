#!/usr/bin/env node
/**
 * The `pushkeeper` command. Each subcommand lives in its own file under commands/ and registers
 * itself on the program; this file only assembles them and maps failures to the exit codes and
 * `--json` error documents of docs/cli.md. `pushkeeper` alone prints the help and exits 0.
 */
import { type Command, CommanderError } from 'commander';
import { errorReport, printErrorReport, UsageError } from './commands/run-action.ts';
import { EXIT } from './exit-codes.ts';
import { buildProgram } from './program.ts';

// Before the command is parsed (or when parsing failed), only the raw arguments can say it.
const json = process.argv.includes('--json');
const program = buildProgram();
// Commander's own messages (missing option, unknown command) are ours to print: with --json the
// error document is the only thing on stdout, and stderr carries the same message once.
function ownErrors(command: Command): void {
  command.exitOverride();
  command.configureOutput({ outputError: () => {} });
  for (const sub of command.commands) ownErrors(sub);
}
ownErrors(program);

try {
  if (process.argv.length <= 2) {
    program.outputHelp();
  } else {
    await program.parseAsync(process.argv);
  }
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end parsing by "failing" with exit code 0.
    if (error.exitCode === 0) {
      process.exitCode = EXIT.ok;
    } else {
      const text = error.message.replace(/^error: /, '').trim();
      const sentence = `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.?!]$/.test(text) ? '' : '.'}`;
      const hint = ' See `pushkeeper --help`, or `pushkeeper <command> --help`.';
      const report = errorReport(new UsageError(`${sentence}${hint}`, { commander: error.code }));
      printErrorReport(process, report, json);
      process.exitCode = report.exitCode;
    }
  } else {
    const report = errorReport(error);
    printErrorReport(process, report, json);
    process.exitCode = report.exitCode;
  }
}
