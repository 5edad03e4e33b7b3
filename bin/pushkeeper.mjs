#!/usr/bin/env node
// The installed command runs the build (dist/); a clone runs the sources directly, with Node's
// type stripping (Node 24, pinned by this project's devDependencies).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href);
