import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { tempFiles } from './helpers/files.ts';
import { makeBareRepo } from './helpers/git.ts';

const run = promisify(execFile);
const SPY = path.resolve('test/helpers/kube-import-spy.mjs');
/** Libraries a sync to a plain repository does not need: GitHub's client, the diff library, cron parsing. */
const HEAVY = '^(@octokit/|bottleneck|diff$|node-cron$)';

/**
 * The CLI from its sources (where every package is resolved by Node, so the spy sees it;
 * the build bundles some of them, but splits its chunks along the same dynamic imports).
 */
async function loaded(
  args: string[],
  env: NodeJS.ProcessEnv,
  spyFile: string,
): Promise<{ code: number; packages: string[] }> {
  let code = 0;
  try {
    await run(process.execPath, ['--import', SPY, 'bin/lynq.mjs', ...args], {
      env: {
        PATH: process.env.PATH,
        HOME: env.HOME,
        LYNQ_LOG_LEVEL: 'silent',
        LYNQ_FROM_SOURCE: '1',
        LYNQ_IMPORT_SPY: spyFile,
        LYNQ_IMPORT_SPY_MATCH: HEAVY,
        ...env,
      },
    });
  } catch (error) {
    code = (error as { code?: number }).code ?? -1;
  }
  const text = await readFile(spyFile, 'utf8').catch(() => '');
  return { code, packages: [...new Set(text.split('\n').filter(Boolean))].sort() };
}

test('a sync to a plain repository loads neither Octokit, nor the diff library, nor node-cron; --diff loads the diff library', async () => {
  const bare = await makeBareRepo();
  const files = await tempFiles({
    'hubs/demo-seed.sql': await readFile('hubs/demo-seed.sql', 'utf8'),
    'hubs/demo.yaml': (await readFile('hubs/demo.yaml', 'utf8')).replace(
      'repo: ../.lynq/demo/manifests.git',
      `repo: ${bare.dir}`,
    ),
  });
  await copyFile('forms/demo-web.yaml', path.join(files.dir, 'demo-web.yaml'));
  const dirs = ['--hubs', path.join(files.dir, 'hubs'), '--forms', files.dir];
  const env = { HOME: files.dir, LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
  try {
    assert.deepEqual(await loaded(['sync', ...dirs], env, path.join(files.dir, 'spy-sync')), { code: 0, packages: [] });
    assert.deepEqual(await loaded(['validate', ...dirs], env, path.join(files.dir, 'spy-validate')), {
      code: 0,
      packages: [],
    });
    // The spy sees a library when a command does use it.
    await run('git', ['-C', bare.dir, 'update-ref', '-d', 'refs/heads/main']);
    const diff = await loaded(['sync', '--dry-run', '--diff', ...dirs], env, path.join(files.dir, 'spy-diff'));
    assert.deepEqual(diff, { code: 0, packages: ['diff'] });
  } finally {
    await bare.cleanup();
    await files.cleanup();
  }
});
