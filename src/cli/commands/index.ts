/**
 * The client commands: they talk to a running server over HTTP, one command (or group) per file.
 */
import type { Command } from 'commander';
import { registerAppsCommand } from './apps.ts';
import { type ClientIo, processIo } from './client-io.ts';
import { registerDevicesCommand } from './devices.ts';
import { registerFeedbackCommand } from './feedback.ts';
import { registerInvalidationsCommand } from './invalidations.ts';
import { registerKeysCommand } from './keys.ts';
import { registerNotificationsCommand } from './notifications.ts';
import { registerPushCommand } from './push.ts';

export type { ClientIo } from './client-io.ts';

export function registerClientCommands(program: Command, io: ClientIo = processIo()): Command {
  registerAppsCommand(program, io);
  registerKeysCommand(program, io);
  registerDevicesCommand(program, io);
  registerPushCommand(program, io);
  registerNotificationsCommand(program, io);
  registerInvalidationsCommand(program, io);
  registerFeedbackCommand(program, io);
  return program;
}
