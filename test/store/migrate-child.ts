/** Child process of the concurrent-migration test: migrates the store at argv[2], prints the report. */
import { openStore } from '../../src/store/index.ts';

const store = openStore({ url: process.argv[2]!, secretKey: Buffer.alloc(32, 1) });
try {
  process.stdout.write(`${JSON.stringify(await store.migrate())}\n`);
} finally {
  await store.close();
}
