import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { urlCredentialProblem } from '../src/config/repo-url.ts';
import { GitError } from '../src/errors.ts';
import { openManifestsRepo } from '../src/git/manifests-repo.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

const TOKEN = 'ghp_ThisIsNotARealToken1234567890';
const WITH_CREDENTIALS = [
  `https://x-access-token:${TOKEN}@github.com/acme/manifests.git`,
  `https://${TOKEN}@github.com/acme/manifests.git`,
  `http://bot:${TOKEN}@git.example.test/manifests.git`,
  `ssh://git:${TOKEN}@git.example.test/manifests.git`,
];
const WITHOUT = [
  'https://github.com/acme/manifests.git',
  'ssh://git@github.com/acme/manifests.git',
  'git@github.com:acme/manifests.git',
  './manifests.git',
  '/srv/git/manifests.git',
];

const FORM = formYaml(
  `  configMaps:\n    - id: c\n      nameTemplate: "{{ uid }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n`,
  { hubId: 'demo' },
);
const pgliteHub = (repo: string) => `apiVersion: operator.lynq.sh/v1
kind: LynqHub
metadata:
  name: demo
  namespace: tenants
spec:
  source:
    type: pglite
    pglite:
      seedFile: seed.sql
      table: customers
  valueMappings:
    uid: id
    activate: active
  publish:
    repo: ${JSON.stringify(repo)}
`;
const SEED = `CREATE TABLE customers (id text, active boolean);\nINSERT INTO customers VALUES ('acme', true);\n`;

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('credentials in a repository URL', () => {
  test('the class: a password, or any user part of an http(s) URL, is a credential; a plain ssh user is not', () => {
    for (const url of WITH_CREDENTIALS) {
      const problem = urlCredentialProblem(url);
      assert.match(problem ?? '', /has credentials in it .*spec\.publish\.auth\.token/, url);
      assert.ok(!problem!.includes(TOKEN), problem);
    }
    for (const url of WITHOUT) assert.equal(urlCredentialProblem(url), undefined, url);
  });

  test('in spec.publish.repo: lynq validate exits 2 naming the file and publish.auth, and never prints the token', async () => {
    const files = await tempFiles({
      'hubs/h.yaml': pgliteHub(WITH_CREDENTIALS[0]!),
      'hubs/seed.sql': SEED,
      'forms/f.yaml': FORM,
    });
    try {
      const result = await lynq(['validate', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`]);
      assert.equal(result.code, 2, result.err);
      assert.match(
        result.err,
        /h\.yaml.*publish\.repo.*has credentials in it \(https:\/\/\*\*\*@github\.com\/acme\/manifests\.git\).*spec\.publish\.auth\.token/s,
      );
      assert.ok(!(result.out + result.err).includes(TOKEN));
    } finally {
      await files.cleanup();
    }
  });

  test('in --repo: lynq sync exits 2 before touching the cache, never printing or storing the token', async () => {
    const files = await tempFiles({
      'hubs/h.yaml': pgliteHub('./manifests.git'),
      'hubs/seed.sql': SEED,
      'forms/f.yaml': FORM,
    });
    try {
      const cache = path.join(files.dir, 'cache');
      for (const url of WITH_CREDENTIALS) {
        const result = await lynq(
          ['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', url],
          { LYNQ_CACHE_DIR: cache },
        );
        assert.equal(result.code, 2, result.err + result.out);
        assert.match(result.err, /--repo has credentials in it .*spec\.publish\.auth\.token/);
        assert.ok(!(result.out + result.err).includes(TOKEN), result.out + result.err);
      }
      const stored = await allFiles(cache).catch(() => []);
      for (const file of stored) assert.ok(!(await readFile(file, 'utf8')).includes(TOKEN), file);
    } finally {
      await files.cleanup();
    }
  });

  test('openManifestsRepo refuses such a URL itself: nothing is written to a clone config', async () => {
    const files = await tempFiles();
    try {
      await assert.rejects(
        openManifestsRepo({
          url: WITH_CREDENTIALS[1]!,
          cacheDir: files.dir,
          logger: silentLogger(),
          registry: new SecretRegistry(),
        }),
        (error: unknown) =>
          error instanceof GitError && !error.message.includes(TOKEN) && /has credentials/.test(error.message),
      );
      assert.deepEqual(await allFiles(files.dir), []);
    } finally {
      await files.cleanup();
    }
  });
});
