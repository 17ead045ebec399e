import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NodeChange } from '../src/plan/types.ts';
import { gateDeletions } from '../src/sync/deletion-guard.ts';
import { unifiedDiff } from '../src/sync/diff-text.ts';
import { pullRequestBody, pullRequestTitle } from '../src/sync/pull-request-body.ts';
import { lynq } from './helpers/cli.ts';
import { hubYaml } from './helpers/config.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { logMessages, makeBareRepo, readTree } from './helpers/git.ts';
import { assertGolden } from './helpers/golden.ts';
import { setUp, type Teardown } from './helpers/teardown.ts';

// What a person reviews, byte for byte: the files a sync writes, its commit messages, and a
// pull request's title and body. An intended change: npm run golden:update, then review the
// diff of test/golden/ with the code.

const ROOT = path.join(import.meta.dirname, '..');
const SEED = `CREATE TABLE customers (id text PRIMARY KEY, active boolean NOT NULL, plan text NOT NULL, replicas integer NOT NULL, image text NOT NULL, domain text, created_at timestamp NOT NULL);
INSERT INTO customers VALUES
  ('acme', true, 'gold', 3, 'nginx:1.27', 'acme.example.com', '2024-01-15 09:30:00'),
  ('globex', true, 'silver', 2, 'nginx:1.27', 'globex.example.com', '2024-02-01 12:00:00'),
  ('initech', true, 'bronze', 1, 'nginx:1.27', NULL, '2024-03-10 08:15:00');`;

describe('golden files: what a person reviews stays as reviewed', () => {
  let teardown: Teardown;
  let db: TestDatabase;
  let remote: string;
  let sync: () => Promise<void>;
  before(async () => {
    ({ teardown, db, remote, sync } = await setUp(async (started) => {
      const db = started.add(await createPostgresDatabase(), (it) => it.drop());
      await db.exec(SEED);
      const bare = started.add(await makeBareRepo(), (it) => it.cleanup());
      // The demo's form (forms/demo-web.yaml), on PostgreSQL, with an Argo CD Application per node.
      const hub = hubYaml({
        name: 'demo',
        database: db.name,
        extra: { plan: 'plan', replicas: 'replicas', image: 'image', domain: 'domain', createdAt: 'created_at' },
        spec: `  publish:\n    repo: ${bare.dir}\n  gitops:\n    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n`,
      });
      const form = await readFile(path.join(ROOT, 'forms', 'demo-web.yaml'), 'utf8');
      const files = started.add(await tempFiles({ 'hubs/demo.yaml': hub, 'forms/web.yaml': form }), (it) =>
        it.cleanup(),
      );
      const env = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache'), HOME: files.dir };
      const sync = async () => {
        const result = await lynq(
          ['sync', '--hubs', path.join(files.dir, 'hubs'), '--forms', path.join(files.dir, 'forms')],
          env,
        );
        if (result.code !== 0) throw new Error(`lynq sync exited ${result.code}:\n${result.out}${result.err}`);
      };
      return { teardown: started, db, remote: bare.dir, sync };
    }));
  });
  after(() => teardown?.run());

  test("one node's files and its Argo CD Application, as the first sync writes them", async () => {
    await sync();
    const tree = await readTree(remote, 'main');
    const acme = [...tree]
      .filter(([file]) => file.startsWith('nodes/demo/web/acme/') || file === 'apps/demo/web/acme.yaml')
      .sort(([a], [b]) => (a < b ? -1 : 1));
    for (const [file, text] of acme) assertGolden(`demo/${file}`, text);
  });

  test('commit messages: rows added, a column changed, a row deactivated', async () => {
    await db.exec("UPDATE customers SET plan = 'platinum', replicas = 4 WHERE id = 'globex'");
    await sync();
    await db.exec("UPDATE customers SET active = false WHERE id = 'initech'");
    await sync();
    const messages = (await logMessages(remote, 'main')).reverse();
    assertGolden('demo/commit-messages.txt', `${messages.join('\n\n-----\n\n')}\n`);
  });
});

const change = (
  uid: string,
  status: NodeChange['status'],
  reasons: string[],
  resources = ['settings', 'web'],
): NodeChange => ({
  hub: 'customers',
  form: 'web',
  uid,
  status,
  reasons,
  causes: status === 'updated' ? ['row'] : [],
  resources: status === 'removed' || status === 'held' ? [] : resources,
  writes: new Map(
    status === 'removed' || status === 'held'
      ? []
      : [[`nodes/customers/web/${uid}/settings.yaml`, `data:\n  PLAN: ${uid}\n`]],
  ),
  deletes: status === 'removed' || status === 'held' ? [`nodes/customers/web/${uid}/settings.yaml`] : [],
});

test('golden files: a pull request title and body (added, updated, a held removal, the diff excerpt)', async () => {
  const plan = {
    hub: 'customers',
    nodes: [
      change('acme', 'added', ['new row']),
      change('globex', 'updated', ['columns changed: plan']),
      { ...change('hooli', 'removed', ['row deleted']), removal: 'row deleted' },
    ],
    rendered: 2,
    existingNodes: 3,
  };
  const gated = gateDeletions(plan, { maxDeletePercent: 30, allowDeletions: false }).nodes;
  const writes = new Map(gated.flatMap((node) => [...node.writes]));
  // What Git had: globex's settings as they were, by blob id, and hooli's (held: not in the diff).
  const existing = new Map([['nodes/customers/web/globex/settings.yaml', 'blob-globex']]);
  const blobs = new Map([['blob-globex', 'data:\n  PLAN: silver\n']]);
  const diff = await unifiedDiff(
    { writes, deletes: [] },
    existing,
    async (ids) => new Map(ids.flatMap((id) => (blobs.has(id) ? [[id, blobs.get(id)!]] : []))),
    { maxChars: 4000 },
  );
  const body = pullRequestBody({
    hub: 'customers',
    branch: 'lynq/customers',
    target: 'main',
    nodes: gated,
    diff,
    labels: ['lynq'],
  });
  assertGolden('pull-request.md', `# ${pullRequestTitle('customers', gated)}\n\n${body}`);
});
