/**
 * Child process of the SIGKILL crash test: registers devices in a loop on a SQLite store and prints
 * `ack <token>` after each register call has resolved — the moment an HTTP API would answer 2xx.
 * Usage: crash-child.ts <db file> <app id> <secret key hex> <salt>
 */
import { openStore } from '../../src/store/index.ts';

const [file, appId, keyHex, salt] = process.argv.slice(2) as [string, string, string, string];
const store = openStore({ url: `sqlite:${file}`, secretKey: Buffer.from(keyHex, 'hex') });
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const token = salt.padStart(8, '0') + i.toString(16).padStart(56, '0');
  const result = await store.devices.register(appId, {
    token,
    alias: `user${i % 10}`,
    tags: ['crash', `t${i % 3}`],
  });
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  process.stdout.write(`ack ${token}\n`);
}
