// @slow: about 22 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestDatabase } from './helpers/db.ts';
import { pushesSince, useWorld, type World } from './helpers/forge-world.ts';
import { cloneWorkTree, commitFiles, git, logMessages, readTree, revParse } from './helpers/git.ts';

const BRANCH = 'lynq/customers';
const PUBLISH = `mode: pull-request
pullRequest:
  labels: [lynq, gitops]`;

describe('pull-request mode against the GitHub fake and a token-protected git server', () => {
  let db: TestDatabase;
  let world: World;

  useWorld(PUBLISH, (current) => ({ db, world } = current));

  /** Commits on the bot branch that main does not have. */
  const branchCommits = async () =>
    (await git(world.bare, ['rev-list', `main..${BRANCH}`])).trim().split('\n').filter(Boolean);

  test('first sync: one commit on the bot branch, one pull request with labels, table, diff, marker and trailers; main untouched', async () => {
    const main = await revParse(world.bare, 'main');
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(
      result.out,
      /customers: pull request #1 created, proposing 3 node changes: https:\/\/github\.com\/acme\/manifests\/pull\/1/,
    );
    assert.match(result.out, /customers\s+3\s+0\s+0\s+0\s+0\s+0\s+no changes\s+#1 created/);
    assert.equal(await revParse(world.bare, 'main'), main, 'pull-request mode never pushes to main');

    const commits = await branchCommits();
    assert.equal(commits.length, 1, 'the bot branch is one commit on top of main');
    assert.equal((await git(world.bare, ['rev-parse', `${BRANCH}^`])).trim(), main);
    const [message] = await logMessages(world.bare, BRANCH);
    assert.match(message!, /^lynq\(customers\): 3 added\n\nweb\/acme: added \(new row\) \[settings\]/);
    assert.match(message!, /\nLynq-Hub: customers\nLynq-Branch: lynq\/customers\nLynq-Node: web\/acme added\n/);
    assert.ok((await readTree(world.bare, BRANCH)).has('nodes/customers/web/acme/settings.yaml'));

    const [pull] = world.github.pulls;
    assert.equal(world.github.pulls.length, 1);
    assert.equal(pull!.title, 'lynq(customers): 3 added');
    assert.equal(pull!.head, BRANCH);
    assert.equal(pull!.base, 'main');
    assert.equal(pull!.headSha, commits[0]);
    assert.deepEqual(pull!.labels, ['lynq', 'gitops']);
    assert.match(pull!.body, /\*\*3\*\* added, \*\*0\*\* updated, \*\*0\*\* removed/);
    assert.match(pull!.body, /^\| `web\/acme` \| added \| new row \| settings \|$/m);
    assert.match(pull!.body, /<details>\n<summary>Diff \(9 files\)<\/summary>\n\n```diff\n/);
    assert.match(pull!.body, /^\+  PLAN: gold$/m);
    assert.match(
      pull!.body,
      /<!-- lynq:pull-request \{"hub":"customers","branch":"lynq\/customers","labels":\["lynq","gitops"\]\} -->/,
    );
    assert.match(
      pull!.body,
      /\nLynq-Hub: customers\nLynq-Branch: lynq\/customers\nLynq-Node: web\/acme added\nLynq-Node: web\/globex added\nLynq-Node: web\/initech added\n$/,
    );
    assert.deepEqual(
      world.fake.writes().map((request) => `${request.method} ${request.template}`),
      ['POST /repos/{owner}/{repo}/pulls', 'POST /repos/{owner}/{repo}/issues/{issue_number}/labels'],
    );
  });

  test('a later change updates the same pull request in place: branch rebuilt and force-pushed, title and body patched', async () => {
    await world.sync();
    const firstTip = await revParse(world.bare, BRANCH);
    await db.exec(
      `UPDATE customers SET plan = 'platinum' WHERE id = 'globex'; INSERT INTO customers VALUES ('hooli', true, 'gold')`,
    );
    const from = world.fake.requests.length;
    const result = await world.sync();
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /#1 updated/);
    assert.equal(world.github.pulls.length, 1, 'never a second pull request');
    const pull = world.github.pull(1);
    assert.equal(pull.state, 'open');
    assert.equal(pull.title, 'lynq(customers): 4 added');
    assert.match(pull.body, /^\| `web\/hooli` \| added \| new row \| settings \|$/m);
    assert.match(pull.body, /^\+  PLAN: platinum$/m);
    const tip = await revParse(world.bare, BRANCH);
    assert.notEqual(tip, firstTip);
    assert.equal((await branchCommits()).length, 1, 'still one commit: rebuilt, not stacked');
    assert.equal(pull.headSha, tip);
    assert.deepEqual(
      world.fake.writes(from).map((request) => `${request.method} ${request.template}`),
      ['PATCH /repos/{owner}/{repo}/pulls/{pull_number}'],
      'labels are already there: only the title and body change',
    );
    const patch = world.fake.writes(from)[0]!.body as Record<string, unknown>;
    assert.deepEqual(Object.keys(patch).sort(), ['body', 'title']);
  });

  test('a sync with nothing new makes no API write and no push', async () => {
    await world.sync();
    const requests = world.fake.requests.length;
    const gitRequests = world.git.requests.length;
    const tip = await revParse(world.bare, BRANCH);
    // A minute later, so a rebuilt commit would differ from the pushed one (and a push would show).
    const result = await world.syncWith({ clock: () => Date.now() + 60_000 });
    assert.ok('proposal' in result && result.proposal?.outcome === 'unchanged', JSON.stringify(result));
    assert.deepEqual(world.fake.writes(requests), []);
    assert.ok(world.fake.requests.length > requests, 'it did look');
    assert.equal(pushesSince(world.git, gitRequests), 0);
    assert.equal(await revParse(world.bare, BRANCH), tip);
  });

  test('when the target branch already has everything, the pull request is closed with a comment and the branch deleted', async () => {
    await world.sync();
    // Someone brings the changes into main without merging the pull request.
    await git(world.bare, ['update-ref', 'refs/heads/main', BRANCH]);
    const result = await world.sync();
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /customers: pull request #1 closed, nothing left to change/);
    const pull = world.github.pull(1);
    assert.equal(pull.state, 'closed');
    assert.equal(pull.merged, false);
    const comments = world.github.comments.get(1) ?? [];
    assert.equal(comments.length, 1);
    assert.match(comments[0]!.body, /`main` already has every change this pull request proposed/);
    assert.equal(await revParse(world.bare, BRANCH), undefined, 'the bot branch is deleted');
    const again = await world.sync();
    assert.equal(again.code, 0);
    assert.match(again.out, /no changes\s+-\s*$/m);
    assert.equal(world.github.pulls.length, 1);
  });

  test('after a merge the next sync starts from the new head; a new change opens a new pull request', async () => {
    await world.sync();
    const merge = await world.github.merge(1, 'merge');
    let result = await world.sync();
    assert.equal(result.code, 0, result.out);
    assert.equal(world.github.pulls.length, 1, 'nothing to propose: no new pull request');
    assert.equal(await revParse(world.bare, BRANCH), undefined, 'the merged branch is cleaned up');

    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    result = await world.sync();
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /#2 created/);
    const second = world.github.pull(2);
    assert.equal(second.title, 'lynq(customers): 1 updated');
    assert.match(second.body, /^\| `web\/acme` \| updated \| columns changed: plan \| settings \|$/m);
    assert.equal((await git(world.bare, ['rev-parse', `${BRANCH}^`])).trim(), merge, 'built on the merge commit');
    assert.equal((await branchCommits()).length, 1);
  });

  test('a commit by someone else on the bot branch is never overwritten: blocked (exit 1) and one comment', async () => {
    await world.sync();
    const human = await cloneWorkTree(world.bare);
    await human.git('checkout', '--quiet', BRANCH);
    const theirs = await commitFiles(
      human.dir,
      { 'nodes/customers/web/acme/note.txt': 'do not delete\n' },
      'a fix by hand',
    );
    await human.git('push', '--quiet', 'origin', BRANCH);
    await human.cleanup();

    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    const gitRequests = world.git.requests.length;
    const result = await world.sync();
    assert.equal(result.code, 1, result.out);
    assert.match(
      result.out,
      /customers\/web\/acme: blocked \(added; new row\): the branch lynq\/customers ends with commit [0-9a-f]{12} by Someone Else <someone@example\.test>, not made by the bridge/,
    );
    assert.match(result.out, /#1 blocked/);
    assert.equal(await revParse(world.bare, BRANCH), theirs);
    assert.equal(pushesSince(world.git, gitRequests), 0);
    const comments = world.github.comments.get(1) ?? [];
    assert.equal(comments.length, 1);
    assert.match(
      comments[0]!.body,
      /did not update this pull request: its branch `lynq\/customers` now ends with commit/,
    );
    assert.match(comments[0]!.body, /To hand the branch back, delete `lynq\/customers`/);

    const again = await world.sync();
    assert.equal(again.code, 1);
    assert.equal((world.github.comments.get(1) ?? []).length, 1, 'the same situation is commented on once');
    assert.equal(world.github.pull(1).title, 'lynq(customers): 3 added', 'the pull request is not touched either');
  });

  test('--dry-run reads GitHub, says what it would do on both sides, and writes nothing anywhere', async () => {
    const main = await revParse(world.bare, 'main');
    const gitRequests = world.git.requests.length;
    const result = await world.sync('--dry-run', '--diff');
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /dry run: would push the pull-request branch lynq\/customers \(new\)/);
    assert.match(
      result.out,
      /dry run: would open a pull request from lynq\/customers into main in acme\/manifests: lynq\(customers\): 3 added \(labels lynq, gitops\)/,
    );
    assert.match(result.out, /customers\/web\/acme: added \(new row\) \[settings\] → pull request/);
    assert.match(result.out, /^\+  PLAN: gold$/m);
    assert.deepEqual(
      world.fake.requests.map((request) => `${request.method} ${request.template}`),
      ['GET /repos/{owner}/{repo}/pulls'],
      'it looked for the open pull request, and only read',
    );
    assert.equal(pushesSince(world.git, gitRequests), 0);
    assert.equal(await revParse(world.bare, 'main'), main);
    assert.equal(await revParse(world.bare, BRANCH), undefined);
  });

  test('--dry-run with an open pull request says "would update #1" and what would change, and changes nothing', async () => {
    await world.sync();
    const tip = await revParse(world.bare, BRANCH);
    await db.exec(`INSERT INTO customers VALUES ('hooli', true, 'gold')`);
    const from = world.fake.requests.length;
    const result = await world.sync('--dry-run');
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(
      result.out,
      /dry run: would update pull request #1 from lynq\/customers into main in acme\/manifests \(title, body\): lynq\(customers\): 4 added\n/,
    );
    assert.match(result.out, /customers\s+4\s+0\s+0\s+0\s+0\s+0\s+no changes\s+#1 updated/);
    assert.deepEqual(world.fake.writes(from), []);
    assert.equal(world.github.pull(1).title, 'lynq(customers): 3 added');
    assert.equal(await revParse(world.bare, BRANCH), tip);
  });

  test('--dry-run meets the refusal a sync would meet: a token that may not read pull requests fails the hub (exit 3)', async () => {
    world.fake.once('GET', '/repos/{owner}/{repo}/pulls', {
      status: 403,
      body: {
        message: 'Resource not accessible by personal access token',
        documentation_url: 'https://docs.github.com/rest/pulls/pulls#list-pull-requests',
      },
    });
    const result = await world.sync('--dry-run');
    assert.equal(result.code, 3, result.out + result.err);
    assert.match(
      result.out,
      /customers: pull-request-failed: GitHub forbids this \(403\) while looking for the open pull request from lynq\/customers in acme\/manifests: Resource not accessible by personal access token/,
    );
    assert.deepEqual(world.fake.writes(), []);
  });

  test('--dry-run without GitHub credentials goes on offline and says so', async () => {
    delete world.env.LYNQ_TEST_GITHUB_TOKEN;
    const result = await world.sync('--dry-run');
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(
      result.out,
      /dry run: offline \(GitHub credentials cannot be read: environment variable LYNQ_TEST_GITHUB_TOKEN is not set\): pull requests in acme\/manifests were not read\n/,
    );
    assert.match(
      result.out,
      /dry run: would open or update the pull request from lynq\/customers into main in acme\/manifests: lynq\(customers\): 3 added \(labels lynq, gitops\)/,
    );
    assert.equal(world.fake.requests.length, 0, 'no request reached GitHub');
  });
});
