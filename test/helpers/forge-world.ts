import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach } from 'node:test';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createSyncDeps, type WiringOptions } from '../../src/cli/wiring.ts';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/logger.ts';
import { syncHub, type HubSyncResult, type SyncDeps } from '../../src/sync/sync-hub.ts';
import { lynq } from './cli.ts';
import { formYaml, hubYaml } from './config.ts';
import { createPostgresDatabase, type TestDatabase } from './db.ts';
import { tempFiles } from './files.ts';
import { startGitHubFake, type GitHubFake } from './github-fake.ts';
import { FakeRepository } from './github-repo.ts';
import { startGitHttpServer, type GitHttpServer } from './git-http.ts';
import { cloneWorkTree, commitFiles, makeBareRepo, makeTempDir } from './git.ts';
import { setUp, type Teardown } from './teardown.ts';

/**
 * Everything a pull-request scenario needs, all real or faithful: rows in PostgreSQL, the
 * manifests repository served over HTTP by `git http-backend` with a token, and the
 * GitHub fake holding that repository's pull requests. The hub publishes to
 * http://127.0.0.1:<port>/acme/manifests.git, so owner and repo are acme/manifests.
 */

export const OWNER = 'acme';
export const REPO = 'manifests';

export const FORM = formYaml(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
`);

export type World = {
  db: TestDatabase;
  bare: string;
  repoUrl: string;
  git: GitHttpServer;
  fake: GitHubFake;
  github: FakeRepository;
  dir: string;
  env: NodeJS.ProcessEnv;
  gitToken: string;
  apiToken: string;
  /** `lynq sync` through the CLI, in-process. */
  sync(...extra: string[]): Promise<{ code: number; out: string; err: string }>;
  /** syncHub with the real wiring, for tests that inject a sleep, a logger or a crash. */
  syncWith(options?: Partial<WiringOptions> & { wrap?: (deps: SyncDeps) => SyncDeps }): Promise<HubSyncResult>;
  rewriteHub(publish: string): Promise<void>;
  cleanup(): Promise<void>;
};

/**
 * The hub file: PostgreSQL rows, the repository, and `publish` (YAML lines under
 * spec.publish). With `apiUrl`, git and GitHub credentials come from the environment.
 */
export function worldHubYaml(world: { database: string; repoUrl: string; apiUrl?: string }, publish: string): string {
  const credentials =
    world.apiUrl === undefined
      ? ''
      : `    auth:
      token: { env: LYNQ_TEST_GIT_TOKEN }
    platform:
      apiUrl: ${world.apiUrl}
      token: { env: LYNQ_TEST_GITHUB_TOKEN }
      maxRetryWaitSeconds: 5
      writeIntervalMs: 0
`;
  const lines = publish
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => `    ${line}`)
    .join('\n');
  return hubYaml({
    database: world.database,
    extra: { plan: 'plan' },
    spec: `  publish:\n    repo: ${world.repoUrl}\n${credentials}${lines}\n`,
  });
}

export function makeWorld(db: TestDatabase, publish: string): Promise<World> {
  return setUp((teardown) => buildWorld(db, publish, teardown));
}

async function buildWorld(db: TestDatabase, publish: string, teardown: Teardown): Promise<World> {
  const root = teardown.add(await makeTempDir('lynq-forge-root-'), (it) => it.cleanup());
  const gitToken = `git_${randomBytes(12).toString('hex')}`;
  const apiToken = `ghp_${randomBytes(12).toString('hex')}`;
  const git = teardown.add(await startGitHttpServer({ root: root.dir, token: gitToken }), (it) => it.close());
  const bare = (await makeBareRepo({ dir: path.join(root.dir, OWNER, `${REPO}.git`) })).dir;
  // A repository people use has a first commit; a pull request needs a base branch.
  const seed = await cloneWorkTree(bare);
  await commitFiles(seed.dir, { 'README.md': 'manifests\n' }, 'initial commit');
  await seed.git('push', '--quiet', 'origin', 'main');
  await seed.cleanup();

  const fake = teardown.add(await startGitHubFake({ tokens: [apiToken] }), (it) => it.close());
  const github = new FakeRepository(fake, OWNER, REPO, bare);
  const repoUrl = git.url(`${OWNER}/${REPO}.git`);
  const files = teardown.add(
    await tempFiles({
      'hubs/customers.yaml': worldHubYaml({ database: db.name, repoUrl, apiUrl: fake.url }, publish),
      'forms/web.yaml': FORM,
    }),
    (it) => it.cleanup(),
  );
  const env: NodeJS.ProcessEnv = {
    LYNQ_CACHE_DIR: path.join(files.dir, 'cache'),
    LYNQ_TEST_GIT_TOKEN: gitToken,
    LYNQ_TEST_GITHUB_TOKEN: apiToken,
  };
  const hubs = path.join(files.dir, 'hubs');
  const forms = path.join(files.dir, 'forms');

  return {
    db,
    bare,
    repoUrl,
    git,
    fake,
    github,
    dir: files.dir,
    env,
    gitToken,
    apiToken,
    sync: (...extra) => lynq(['sync', '--hubs', hubs, '--forms', forms, ...extra], env),
    async syncWith(options = {}) {
      const config = await loadConfig({ hubsDir: hubs, formsDir: forms });
      const { wrap, ...wiring } = options;
      const deps = createSyncDeps({
        logger: silentLogger(),
        dryRun: false,
        diff: false,
        out: process.stdout,
        env,
        ...wiring,
      });
      return syncHub(config.hubs.get('customers')!, config.forms, wrap ? wrap(deps) : deps, { allowDeletions: false });
    },
    rewriteHub: (next) =>
      writeFile(
        path.join(hubs, 'customers.yaml'),
        worldHubYaml({ database: db.name, repoUrl, apiUrl: fake.url }, next),
      ),
    cleanup: () => teardown.run().catch(() => undefined),
  };
}

/** The customers table, fresh: acme, globex and initech active. */
export async function resetRows(db: TestDatabase): Promise<void> {
  await db.exec(`DROP TABLE IF EXISTS customers;
    CREATE TABLE customers (id text, active boolean, plan text);
    INSERT INTO customers VALUES ('acme', true, 'gold'), ('globex', true, 'silver'), ('initech', true, 'bronze');`);
}

/** Requests the git server saw since `from` that pushed (receive-pack). */
export function pushesSince(git: GitHttpServer, from: number): number {
  return git.requests
    .slice(from)
    .filter((request) => request.method === 'POST' && request.path.endsWith('/git-receive-pack')).length;
}

/**
 * The hooks every pull-request suite needs: a database for the suite, fresh rows and a
 * fresh world (GitHub fake, git server, bare repository) for each test, and after each
 * test a check that the fake saw no request it did not expect. `use` receives them.
 */
export function useWorld(publish: string, use: (current: { db: TestDatabase; world: World }) => void): void {
  let db: TestDatabase;
  let world: World;
  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await resetRows(db);
    world = await makeWorld(db, publish);
    use({ db, world });
  });
  afterEach(async () => {
    try {
      world.fake.assertClean();
    } finally {
      await world.cleanup();
    }
  });
}
