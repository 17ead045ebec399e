import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { describe as describeCommit } from '../src/git/history.ts';
import { parseHub } from '../src/config/load.ts';
import { nodePaths } from '../src/plan/prefixes.ts';
import { hubYaml } from './helpers/config.ts';
import { lynq } from './helpers/cli.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { FORM, resetRows, useWorld, worldHubYaml, type World } from './helpers/forge-world.ts';
import { cloneWorkTree, commitFiles, git, makeBareRepo } from './helpers/git.ts';

type Entry = {
  commit: string;
  date: string;
  author: string;
  change: string;
  why: string;
  pullRequest?: number;
  patch?: string;
  subject: string;
};

describe('reading why from a message', () => {
  const node = { hub: 'customers', form: 'web', uid: 'acme' };
  test("the body line, the pull-request table row, the trailer, or someone else's edit", () => {
    assert.deepEqual(
      describeCommit(
        'lynq(customers): 1 updated\n\nweb/acme: updated (columns changed: plan; form web changed) [settings]\n\nLynq-Hub: customers\nLynq-Node: web/acme updated',
        node,
      ),
      {
        change: 'updated',
        why: 'columns changed: plan; form web changed',
      },
    );
    assert.deepEqual(
      describeCommit(
        'lynq(customers): 2 removed (#4)\n\n| `web/acme` | removed | row deleted \\| gone | settings |\n',
        node,
      ),
      { change: 'removed', why: 'row deleted | gone' },
    );
    assert.deepEqual(
      describeCommit(
        'lynq(customers): 300 updated\n\n… and 100 more nodes\n\nLynq-Hub: customers\nLynq-Node: web/acme updated',
        node,
      ),
      { change: 'updated', why: '' },
    );
    assert.deepEqual(describeCommit('fix a typo by hand\n', node), {
      change: 'edited',
      why: 'not a bridge commit: fix a typo by hand',
    });
    assert.deepEqual(
      describeCommit(
        'lynq(customers): 1 added\n\nweb/acmecorp: added (new row)\n\nLynq-Hub: customers\nLynq-Node: web/acmecorp added',
        node,
      ),
      { change: 'changed', why: '' },
      'another uid with the same prefix is not this node',
    );
  });

  test("a node's paths: its folder, and its engine object file (under any engine, for earlier ones)", () => {
    const plain = parseHub('hubs/customers.yaml', hubYaml());
    assert.deepEqual(nodePaths(plain, 'nodes', 'web', 'acme'), [
      'nodes/customers/web/acme',
      'apps/customers/web/acme.yaml',
    ]);
    const custom = parseHub('hubs/customers.yaml', hubYaml({ spec: '  gitops:\n    appsRoot: clusters/apps\n' }));
    assert.deepEqual(nodePaths(custom, 'nodes', 'web', 'acme'), [
      'nodes/customers/web/acme',
      'clusters/apps/customers/web/acme.yaml',
    ]);
  });
});

describe('lynq history (push mode, local repository)', () => {
  let db: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  let remote: Awaited<ReturnType<typeof makeBareRepo>>;
  let env: NodeJS.ProcessEnv;
  const args = () => ['--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir];

  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await resetRows(db);
    remote = await makeBareRepo();
    files = await tempFiles({
      'hubs/customers.yaml': worldHubYaml({ database: db.name, repoUrl: remote.dir }, ''),
      'forms/web.yaml': FORM,
    });
    env = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
  });
  afterEach(async () => {
    await files.cleanup();
    await remote.cleanup();
  });

  test('every change to one node, newest first, with why; a hand edit shows as such; --json and --patch', async () => {
    assert.equal((await lynq(['sync', ...args()], env)).code, 0);
    await db.exec(
      `UPDATE customers SET plan = 'platinum' WHERE id = 'acme'; UPDATE customers SET plan = 'x' WHERE id = 'globex'`,
    );
    assert.equal((await lynq(['sync', ...args()], env)).code, 0);
    const human = await cloneWorkTree(remote.dir);
    await commitFiles(
      human.dir,
      { 'nodes/customers/web/acme/settings.yaml': 'edited: by hand\n' },
      'hotfix acme by hand',
    );
    await human.git('push', '--quiet', 'origin', 'main');
    await human.cleanup();
    await db.exec(`UPDATE customers SET active = false WHERE id = 'acme'`);
    assert.equal((await lynq(['sync', ...args()], env)).code, 0);

    const json = await lynq(['history', 'customers/web/acme', '--json', ...args()], env);
    assert.equal(json.code, 0, json.err);
    const parsed = JSON.parse(json.out) as { node: string; branch: string; paths: string[]; entries: Entry[] };
    assert.equal(parsed.branch, 'main');
    assert.deepEqual(parsed.paths, ['nodes/customers/web/acme', 'apps/customers/web/acme.yaml']);
    assert.deepEqual(
      parsed.entries.map((entry) => [entry.change, entry.why, entry.author]),
      [
        ['removed', 'row deactivated', 'Lynq Bridge'],
        ['edited', 'not a bridge commit: hotfix acme by hand', 'Someone Else'],
        ['updated', 'columns changed: plan', 'Lynq Bridge'],
        ['added', 'new row', 'Lynq Bridge'],
      ],
    );
    const log = (await git(remote.dir, ['log', '--format=%H', 'main', '--', 'nodes/customers/web/acme']))
      .trim()
      .split('\n');
    assert.deepEqual(
      parsed.entries.map((entry) => entry.commit),
      log,
    );
    assert.ok(parsed.entries.every((entry) => entry.pullRequest === undefined && /^\d{4}-\d\d-\d\dT/.test(entry.date)));

    const text = await lynq(['history', 'customers/web/globex', ...args()], env);
    assert.equal(text.code, 0);
    const lines = text.out.trimEnd().split('\n');
    assert.match(lines[0]!, /^date\s+commit\s+author\s+change\s+pr\s+why$/);
    assert.match(
      lines[1]!,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  [0-9a-f]{12}  Lynq Bridge  updated\s+columns changed: plan$/,
    );
    assert.equal(lines.length, 3);

    const patched = await lynq(['history', 'customers/web/acme', '--patch', '--limit', '2', ...args()], env);
    assert.match(
      patched.out,
      /^commit [0-9a-f]{40}\nAuthor: Lynq Bridge <lynq-bridge@users\.noreply\.github\.com>\nDate: {3}.*\nChange: removed: row deactivated\n\ndiff --git a\/nodes\/customers\/web\/acme\/kustomization\.yaml/m,
    );
    assert.match(patched.out, /^-edited: by hand$/m);
    assert.equal((patched.out.match(/^commit /gm) ?? []).length, 2);
  });

  test('a node that never existed, an unknown hub, and names that are not DNS labels', async () => {
    await lynq(['sync', ...args()], env);
    const none = await lynq(['history', 'customers/web/nobody', ...args()], env);
    assert.equal(none.code, 0);
    assert.match(none.out, /no changes to customers\/web\/nobody on main/);
    const unknown = await lynq(['history', 'nope/web/acme', ...args()], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no hub named "nope"/);
    for (const bad of ['customers/web/../../etc', 'customers/web/..', 'customers/web', 'customers/Web/acme']) {
      const result = await lynq(['history', bad, ...args()], env);
      assert.equal(result.code, 2, bad);
    }
  });
});

describe('lynq history over HTTP, with changes that came through pull requests', () => {
  let db: TestDatabase;
  let world: World;

  useWorld('mode: pull-request', (current) => ({ db, world } = current));

  test('the pull request number from a merge commit and from a squash merge', async () => {
    await world.sync();
    await world.github.merge(1, 'merge');
    await world.sync();
    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    await world.sync();
    await world.github.merge(2, 'squash');
    const hubs = path.join(world.dir, 'hubs');
    const forms = path.join(world.dir, 'forms');
    const result = await lynq(['history', 'customers/web/acme', '--json', '--hubs', hubs, '--forms', forms], world.env);
    assert.equal(result.code, 0, result.err);
    const { entries } = JSON.parse(result.out) as { entries: Entry[] };
    assert.deepEqual(
      entries.map((entry) => [entry.change, entry.why, entry.pullRequest]),
      [
        ['updated', 'columns changed: plan', 2],
        ['added', 'new row', 1],
      ],
    );
    assert.match(entries[0]!.subject, /\(#2\)$/);
    assert.equal(world.fake.requests.filter((request) => request.method === 'GET').length > 0, true);
    const text = await lynq(['history', 'customers/web/acme', '--hubs', hubs, '--forms', forms], world.env);
    assert.match(text.out, /updated  #2  columns changed: plan/);
    assert.match(text.out, /added    #1  new row/);
  });
});
