// @slow: about 20 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { openKubeClient } from '../src/kube/client.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { tempFiles } from './helpers/files.ts';
import { makeBareRepo } from './helpers/git.ts';
import { startKubeFake } from './helpers/kube-fake.ts';

const run = promisify(execFile);
const SPY = path.resolve('test/helpers/kube-import-spy.mjs');

/** Run the real CLI in a child process with the import spy; what it resolved of @kubernetes/client-node. */
async function imported(
  args: string[],
  env: NodeJS.ProcessEnv,
  spyFile: string,
): Promise<{ code: number; loaded: string }> {
  let code = 0;
  try {
    await run(process.execPath, ['--import', SPY, 'bin/lynq.mjs', ...args], {
      env: { PATH: process.env.PATH, HOME: env.HOME, LYNQ_LOG_LEVEL: 'silent', LYNQ_IMPORT_SPY: spyFile, ...env },
    });
  } catch (error) {
    code = (error as { code?: number }).code ?? -1;
  }
  const loaded = await readFile(spyFile, 'utf8').catch(() => '');
  return { code, loaded };
}

test('lynq validate and lynq sync without a cluster never load @kubernetes/client-node; lynq status does', async () => {
  const bare = await makeBareRepo();
  const files = await tempFiles({
    'hubs/demo-seed.sql': await readFile('hubs/demo-seed.sql', 'utf8'),
    'hubs/demo.yaml': (await readFile('hubs/demo.yaml', 'utf8'))
      .replace('repo: ../.lynq/demo/manifests.git', `repo: ${bare.dir}`)
      .replace(
        '  deletionGuard:',
        '  gitops:\n    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n  deletionGuard:',
      ),
  });
  await copyFile('forms/demo-web.yaml', path.join(files.dir, 'demo-web.yaml'));
  const dirs = ['--hubs', path.join(files.dir, 'hubs'), '--forms', files.dir];
  const env = { HOME: files.dir, LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
  try {
    const validate = await imported(['validate', ...dirs], env, path.join(files.dir, 'spy-validate'));
    assert.deepEqual(validate, { code: 0, loaded: '' });
    // A hub with an engine, and a ~/.kube/config, but no cluster configured for the sync (flag, KUBECONFIG, in-cluster).
    await tempFilesAt(files.dir, '.kube/config', 'apiVersion: v1\nkind: Config\n');
    const sync = await imported(['sync', ...dirs], env, path.join(files.dir, 'spy-sync'));
    assert.deepEqual(sync, { code: 0, loaded: '' });
    // The spy sees it when a command does load it: lynq status against an (unreachable) cluster.
    const fake = await startKubeFake();
    await fake.close();
    await tempFilesAt(files.dir, 'kubeconfig', fake.kubeconfig());
    const status = await imported(
      ['status', ...dirs, '--kubeconfig', path.join(files.dir, 'kubeconfig')],
      env,
      path.join(files.dir, 'spy-status'),
    );
    assert.equal(status.code, 3);
    assert.match(status.loaded, /^@kubernetes\/client-node$/m);
  } finally {
    await bare.cleanup();
    await files.cleanup();
  }
});

test('the kubeconfig token is registered with the log scrubber before the first request', async () => {
  const fake = await startKubeFake();
  const files = await tempFiles({ kubeconfig: fake.kubeconfig() });
  try {
    const registry = new SecretRegistry();
    const kube = await openKubeClient(
      { source: 'flag', files: [path.join(files.dir, 'kubeconfig')], context: undefined },
      { registry, logger: silentLogger() },
    );
    assert.equal(kube.server, fake.url);
    assert.equal(registry.scrub(`Authorization: Bearer ${fake.token}`), 'Authorization: Bearer [redacted]');
    assert.deepEqual(kube.requests, { list: 0, get: 0, patch: 0, create: 0 });
    fake.assertClean();
  } finally {
    await fake.close();
    await files.cleanup();
  }
});

async function tempFilesAt(dir: string, file: string, text: string): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await writeFile(path.join(dir, file), text);
}
