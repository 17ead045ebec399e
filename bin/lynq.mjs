#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm ci` is all a user needs:
// no build step, and stack traces point at the .ts files people read.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
