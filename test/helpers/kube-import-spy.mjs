// Loaded with `node --import`: records every resolution of @kubernetes/client-node (or of
// the packages LYNQ_IMPORT_SPY_MATCH, a regular expression, names) into the file named by
// LYNQ_IMPORT_SPY, so a test can tell whether a command loaded it (without timing anything).
import { register } from 'node:module';

register(new URL('./kube-import-spy-hooks.mjs', import.meta.url), { data: { file: process.env.LYNQ_IMPORT_SPY, match: process.env.LYNQ_IMPORT_SPY_MATCH } });
