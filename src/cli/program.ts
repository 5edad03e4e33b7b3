import { Command } from 'commander';
import { registerClientCommands } from './commands/index.ts';
import { registerMockApnsCommand } from './commands/mock-apns.ts';
import { registerMockFcmCommand } from './commands/mock-fcm.ts';
import { registerMockWebPushCommand } from './commands/mock-webpush.ts';
import { registerServerCommands } from './commands/serve.ts';

export { EXIT } from './exit-codes.ts';

export function buildProgram(): Command {
  const program = new Command('pushkeeper')
    .description('Self-hosted push notification service for app backends (APNs).')
    .version('0.1.0');
  registerServerCommands(program);
  registerClientCommands(program);
  registerMockApnsCommand(program);
  registerMockFcmCommand(program);
  registerMockWebPushCommand(program);
  return program;
}
