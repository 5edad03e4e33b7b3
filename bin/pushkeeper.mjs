#!/usr/bin/env -S node --max-semi-space-size=16
// V8 flags: src/cli/service-node-flags.ts says why (test/docs.test.ts keeps them equal).
// The installed command runs the build (dist/); a clone runs the sources directly, with Node's
// type stripping (Node 24, pinned by this project's devDependencies).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(built) && !process.features.typescript) {
  // An older system Node cannot run .ts files and would fail with ERR_UNKNOWN_FILE_EXTENSION.
  process.stderr.write(
    `pushkeeper: this clone runs its TypeScript sources, which Node ${process.version} cannot do.\n` +
      '  Run it as `npx pushkeeper …` (uses the Node 24 this project installs), or `npm run build` first\n' +
      '  (the build runs on Node >= 22.12), or install Node >= 22.18.\n',
  );
  process.exit(2);
}
await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
