import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach } from 'node:test';
import { createSyncDeps, type WiringOptions } from '../../src/cli/wiring.ts';
import { type Hub, loadConfig } from '../../src/config/load.ts';
import type { PullRequestClient } from '../../src/forge/types.ts';
import { silentLogger } from '../../src/logger.ts';
import { syncHub, type HubSyncResult } from '../../src/sync/sync-hub.ts';
import { lynq } from './cli.ts';
import { hubYaml } from './config.ts';
import { createPostgresDatabase, type TestDatabase } from './db.ts';
import { tempFiles } from './files.ts';
import { FORM, resetRows } from './forge-world.ts';
import { startGitHttpServer, type GitHttpServer } from './git-http.ts';
import { cloneWorkTree, commitFiles, makeBareRepo, makeTempDir } from './git.ts';
import { startGitLabFake, type GitLabFake } from './gitlab-fake.ts';
import { FakeGitLabProject } from './gitlab-project.ts';
import { setUp, type Teardown } from './teardown.ts';

/**
 * A merge-request scenario, all real or faithful: rows in PostgreSQL, the manifests
 * repository served over HTTP by `git http-backend`, which accepts only user `oauth2`
 * with the GitLab token as password (as GitLab does for access tokens), and the GitLab
 * fake holding the project's merge requests. The hub names one token, in
 * spec.publish.platform.token, for both: git gets it through the credential provider.
 */

export const PROJECT = 'acme/manifests';

export type GitLabWorld = {
  db: TestDatabase;
  bare: string;
  repoUrl: string;
  git: GitHttpServer;
  fake: GitLabFake;
  gitlab: FakeGitLabProject;
  token: string;
  env: NodeJS.ProcessEnv;
  sync(...extra: string[]): Promise<{ code: number; out: string; err: string }>;
  syncWith(options?: Partial<WiringOptions>): Promise<HubSyncResult>;
  /** The hub as loaded from its file, and its forge as the real wiring opens it. */
  hub(): Promise<Hub>;
  openForge(hub: Hub): Promise<PullRequestClient>;
  rewriteHub(publish: string): Promise<void>;
  cleanup(): Promise<void>;
};

export function gitLabHubYaml(world: { database: string; repoUrl: string; apiUrl: string }, publish: string): string {
  const lines = publish
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => `    ${line}`)
    .join('\n');
  const platform = `    platform:
      type: gitlab
      apiUrl: ${world.apiUrl}
      token: { env: LYNQ_TEST_GITLAB_TOKEN }
      maxRetryWaitSeconds: 5
      writeIntervalMs: 0
`;
  return hubYaml({
    database: world.database,
    extra: { plan: 'plan' },
    spec: `  publish:\n    repo: ${world.repoUrl}\n${platform}${lines}\n`,
  });
}

async function buildWorld(db: TestDatabase, publish: string, teardown: Teardown): Promise<GitLabWorld> {
  const root = teardown.add(await makeTempDir('lynq-gitlab-root-'), (it) => it.cleanup());
  const token = `glpat-${randomBytes(12).toString('hex')}`;
  const git = teardown.add(await startGitHttpServer({ root: root.dir, token, username: 'oauth2' }), (it) => it.close());
  const bare = (await makeBareRepo({ dir: path.join(root.dir, `${PROJECT}.git`) })).dir;
  const seed = await cloneWorkTree(bare);
  await commitFiles(seed.dir, { 'README.md': 'manifests\n' }, 'initial commit');
  await seed.git('push', '--quiet', 'origin', 'main');
  await seed.cleanup();

  const fake = teardown.add(await startGitLabFake([token]), (it) => it.close());
  const gitlab = new FakeGitLabProject(fake, PROJECT, bare);
  const repoUrl = git.url(`${PROJECT}.git`);
  const hubFile = (next: string) => gitLabHubYaml({ database: db.name, repoUrl, apiUrl: fake.apiUrl }, next);
  const files = teardown.add(
    await tempFiles({ 'hubs/customers.yaml': hubFile(publish), 'forms/web.yaml': FORM }),
    (it) => it.cleanup(),
  );
  const env: NodeJS.ProcessEnv = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache'), LYNQ_TEST_GITLAB_TOKEN: token };
  const hubs = path.join(files.dir, 'hubs');
  const forms = path.join(files.dir, 'forms');
  return {
    db,
    bare,
    repoUrl,
    git,
    fake,
    gitlab,
    token,
    env,
    sync: (...extra) => lynq(['sync', '--hubs', hubs, '--forms', forms, ...extra], env),
    async syncWith(options = {}) {
      const config = await loadConfig({ hubsDir: hubs, formsDir: forms });
      const deps = createSyncDeps({
        logger: silentLogger(),
        dryRun: false,
        diff: false,
        out: process.stdout,
        env,
        ...options,
      });
      return syncHub(config.hubs.get('customers')!, config.forms, deps, { allowDeletions: false });
    },
    rewriteHub: (next) => writeFile(path.join(hubs, 'customers.yaml'), hubFile(next)),
    hub: async () => (await loadConfig({ hubsDir: hubs, formsDir: forms })).hubs.get('customers')!,
    openForge: (hub) =>
      createSyncDeps({ logger: silentLogger(), dryRun: false, diff: false, out: process.stdout, env }).openForge!(hub),
    cleanup: () => teardown.run().catch(() => undefined),
  };
}

/** A database for the suite; fresh rows and a fresh world per test; after each, no request the fake did not expect. */
export function useGitLabWorld(
  publish: string,
  use: (current: { db: TestDatabase; world: GitLabWorld }) => void,
): void {
  let db: TestDatabase;
  let world: GitLabWorld;
  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await resetRows(db);
    world = await setUp((teardown) => buildWorld(db, publish, teardown));
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
