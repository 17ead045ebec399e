// npm run test:fast: the type check and every test file not tagged `// @slow` on its first
// line (servers, soaks, whole-repository scenarios), for a quick loop while changing one
// module. npm test runs them all; CI runs npm test.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const files = readdirSync('test')
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => !readFileSync(`test/${name}`, 'utf8').split('\n', 1)[0].startsWith('// @slow'))
  .map((name) => `test/${name}`);
const steps = [
  ['npx', ['tsc', '--noEmit']],
  [process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files]],
];
for (const [command, args] of steps) {
  const { status } = spawnSync(command, args, { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
}
