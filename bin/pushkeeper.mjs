#!/usr/bin/env -S node --max-semi-space-size=16
// V8 flags: src/cli/service-node-flags.ts says why (test/docs.test.ts keeps them equal).
// The installed command runs the build (dist/); a clone runs the sources directly, with Node's
// type stripping (Node 24, pinned by this project's devDependencies).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
