// @slow: merge-request scenarios against the GitLab fake and a real git server (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TestDatabase } from './helpers/db.ts';
import { pushesSince } from './helpers/forge-world.ts';
import { cloneWorkTree, commitFiles, git, revParse } from './helpers/git.ts';
import { useGitLabWorld, type GitLabWorld } from './helpers/gitlab-world.ts';

const BRANCH = 'lynq/customers';
const PUBLISH = `mode: pull-request
pullRequest:
  labels: [lynq, gitops]
  reviewers: [alice, nobody]`;

const MRS = '/projects/{id}/merge_requests';

describe('merge requests against the GitLab fake and a git server that takes the token as user oauth2', () => {
  let db: TestDatabase;
  let world: GitLabWorld;

  useGitLabWorld(PUBLISH, (current) => ({ db, world } = current));

  test('first sync: the branch pushed with the GitLab token as user oauth2, one merge request with labels, reviewers, table and marker', async () => {
    const main = await revParse(world.bare, 'main');
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(
      result.out,
      /customers: pull request #1 created, proposing 3 node changes: https:\/\/gitlab\.example\.test\/acme\/manifests\/-\/merge_requests\/1/,
    );
    assert.equal(await revParse(world.bare, 'main'), main, 'merge-request mode never pushes to main');
    assert.ok(
      world.git.requests.some((request) => request.authorized && request.path.endsWith('/git-receive-pack')),
      'git pushed with the token (the server accepts only oauth2 and that token)',
    );
    assert.ok(
      !world.git.requests.some((request) => request.query.includes(world.token)),
      'the token never travels in a URL',
    );

    const [mr] = world.gitlab.mergeRequests;
    assert.equal(world.gitlab.mergeRequests.length, 1);
    assert.equal(mr!.title, 'lynq(customers): 3 added');
    assert.equal(mr!.source, BRANCH);
    assert.equal(mr!.target, 'main');
    assert.equal(mr!.sha, await revParse(world.bare, BRANCH));
    assert.deepEqual(mr!.labels, ['lynq', 'gitops']);
    assert.deepEqual(mr!.reviewerIds, [11], 'alice by her user id; the unknown user is left out');
    assert.match(mr!.description, /^\| `web\/acme` \| added \| new row \| settings \|$/m);
    assert.match(
      mr!.description,
      /<!-- lynq:pull-request \{"hub":"customers","branch":"lynq\/customers","labels":\["lynq","gitops"\]\} -->/,
    );
    assert.deepEqual(world.fake.calls(), [`GET ${MRS}`, 'GET /users', 'GET /users', `POST ${MRS}`]);
    assert.ok(world.fake.requests.every((request) => request.token === world.token));
    assert.match(result.out + result.err, /reviewer nobody is not a GitLab user/);
  });

  test('a later change updates the same merge request in one PUT; a label a person added stays, one the hub no longer lists goes', async () => {
    await world.sync();
    const firstTip = await revParse(world.bare, BRANCH);
    world.gitlab.mr(1).labels.push('needs-review');
    await world.rewriteHub(PUBLISH.replace('labels: [lynq, gitops]', 'labels: [lynq, urgent]'));
    await db.exec(`INSERT INTO customers VALUES ('hooli', true, 'gold')`);
    const from = world.fake.requests.length;
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /#1 updated/);
    assert.notEqual(await revParse(world.bare, BRANCH), firstTip, 'the branch was rebuilt and force-pushed');
    assert.equal(world.gitlab.mergeRequests.length, 1);
    const mr = world.gitlab.mr(1);
    assert.equal(mr.title, 'lynq(customers): 4 added');
    assert.equal(mr.sha, await revParse(world.bare, BRANCH));
    assert.deepEqual(mr.labels.sort(), ['lynq', 'needs-review', 'urgent']);
    const writes = world.fake.writes(from);
    assert.equal(writes.length, 1, 'title, description and labels in one request');
    assert.deepEqual(Object.keys(writes[0]!.body as object).sort(), [
      'add_labels',
      'description',
      'remove_labels',
      'title',
    ]);
    assert.deepEqual(mr.reviewerIds, [11], 'reviewers are asked once, when the merge request opens');
  });

  test('a sync with nothing new makes no API write and no push', async () => {
    await world.sync();
    const from = world.fake.requests.length;
    const gitFrom = world.git.requests.length;
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.deepEqual(world.fake.writes(from), []);
    assert.equal(pushesSince(world.git, gitFrom), 0);
  });

  test('when the target already has everything, the merge request gets a note and is closed, and the branch deleted', async () => {
    await world.sync();
    await git(world.bare, ['update-ref', 'refs/heads/main', BRANCH]);
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.equal(world.gitlab.mr(1).state, 'closed');
    assert.match(world.gitlab.notes.get(1)![0]!.body, /already has every change this pull request proposed/);
    assert.equal(await revParse(world.bare, BRANCH), undefined);
  });

  test('after a merge the next sync starts from the new head; a new change opens a new merge request', async () => {
    await world.sync();
    const merge = await world.gitlab.merge(1, 'merge');
    let result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.equal(world.gitlab.mergeRequests.length, 1, 'nothing to propose');
    assert.equal(await revParse(world.bare, BRANCH), undefined, 'the merged branch is cleaned up');
    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /#2 created/);
    assert.equal(world.gitlab.mr(2).title, 'lynq(customers): 1 updated');
    assert.equal((await git(world.bare, ['rev-parse', `${BRANCH}^`])).trim(), merge, 'built on the merge commit');
  });

  test('a merge request a person closed without merging is remembered as declined: not opened again for the same changes', async () => {
    await world.sync();
    world.gitlab.mr(1).state = 'closed';
    const from = world.fake.requests.length;
    const result = await world.sync();
    assert.match(
      result.out,
      /pull request #1 proposing exactly these changes was closed without merging; they are not proposed again until they change/,
    );
    assert.equal(world.gitlab.mergeRequests.length, 1, 'no second merge request');
    assert.deepEqual(world.fake.writes(from), []);
    assert.ok(world.fake.calls(from).includes(`GET ${MRS}`));

    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    const changed = await world.sync();
    assert.equal(changed.code, 0, changed.out + changed.err);
    assert.equal(world.gitlab.mergeRequests.length, 2, 'new changes are proposed again');
  });

  test('a commit by someone else on the bot branch is never overwritten: blocked, and one note however many syncs', async () => {
    await world.sync();
    const human = await cloneWorkTree(world.bare);
    await human.git('checkout', '--quiet', BRANCH);
    const theirs = await commitFiles(human.dir, { 'nodes/customers/web/acme/note.txt': 'keep\n' }, 'a fix by hand');
    await human.git('push', '--quiet', 'origin', BRANCH);
    await human.cleanup();
    world.gitlab.addForeignNote(1, 'mentioned in commit abc', true);

    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    const gitFrom = world.git.requests.length;
    const result = await world.sync();
    assert.equal(result.code, 1, result.out);
    assert.match(result.out, /#1 blocked/);
    assert.equal(await revParse(world.bare, BRANCH), theirs);
    assert.equal(pushesSince(world.git, gitFrom), 0);
    const ours = () => (world.gitlab.notes.get(1) ?? []).filter((note) => !note.system);
    assert.equal(ours().length, 1);
    assert.match(ours()[0]!.body, /did not update this pull request/);
    await world.sync();
    assert.equal(ours().length, 1, 'the same situation gets one note');
    assert.equal(world.gitlab.mr(1).title, 'lynq(customers): 3 added');
  });

  test('--dry-run reads GitLab, says what it would do, and writes nothing anywhere', async () => {
    const gitFrom = world.git.requests.length;
    const result = await world.sync('--dry-run');
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(
      result.out,
      /dry run: would open a pull request from lynq\/customers into main in acme\/manifests: lynq\(customers\): 3 added \(labels lynq, gitops\)/,
    );
    assert.deepEqual(world.fake.calls(), [`GET ${MRS}`]);
    assert.equal(pushesSince(world.git, gitFrom), 0);
    assert.equal(await revParse(world.bare, BRANCH), undefined);

    await world.sync();
    await db.exec(`INSERT INTO customers VALUES ('hooli', true, 'gold')`);
    const from = world.fake.requests.length;
    const again = await world.sync('--dry-run');
    assert.match(
      again.out,
      /dry run: would update pull request #1 from lynq\/customers into main in acme\/manifests \(title, body\)/,
    );
    assert.deepEqual(world.fake.writes(from), []);
  });

  test('a token GitLab refuses fails the hub with a message that names the field to fix, and never shows the token', async () => {
    world.fake.tokens.clear();
    const result = await world.sync();
    assert.equal(result.code, 3, result.out + result.err);
    assert.match(
      result.out,
      /GitLab refused the token \(401\) while looking for the open merge request from lynq\/customers in acme\/manifests: 401 Unauthorized; check spec\.publish\.platform\.token/,
    );
    assert.ok(!(result.out + result.err).includes(world.token));
  });
});

describe('GitLab drafts and merge when the pipeline succeeds', () => {
  let db: TestDatabase;
  let world: GitLabWorld;
  useGitLabWorld(
    `mode: pull-request
pullRequest:
  draft: true
  autoMerge: squash`,
    (current) => ({ db, world } = current),
  );

  test('a draft opens with the Draft: prefix, keeps it on update, and auto-merge refused on a draft is a warning', async () => {
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.equal(world.gitlab.mr(1).title, 'Draft: lynq(customers): 3 added');
    assert.match(
      result.out + result.err,
      /auto-merge was not switched on for !1 in acme\/manifests: GitLab rejected the request \(405\)/,
    );
    assert.equal(world.gitlab.mr(1).autoMerge, undefined);

    await db.exec(`INSERT INTO customers VALUES ('hooli', true, 'gold')`);
    await world.sync();
    assert.equal(world.gitlab.mr(1).title, 'Draft: lynq(customers): 4 added', 'still a draft after the title changed');
    world.gitlab.mr(1).title = 'lynq(customers): 4 added';
    await db.exec(`INSERT INTO customers VALUES ('umbrella', true, 'gold')`);
    await world.sync();
    assert.equal(
      world.gitlab.mr(1).title,
      'lynq(customers): 5 added',
      'marked ready by a person: the bridge does not make it a draft again',
    );
  });
});

describe('GitLab merge when the pipeline succeeds', () => {
  let db: TestDatabase;
  let world: GitLabWorld;
  useGitLabWorld(
    `mode: pull-request
pullRequest:
  autoMerge: squash`,
    (current) => ({ db, world } = current),
  );

  test('switched on once, for the head the bridge pushed, squashing; not asked again while it is on', async () => {
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    const mr = world.gitlab.mr(1);
    assert.deepEqual(mr.autoMerge, { squash: true, sha: await revParse(world.bare, BRANCH) });
    const merges = world.fake.requests.filter((request) => request.template === `${MRS}/{merge_request_iid}/merge`);
    assert.equal(merges.length, 1);
    assert.deepEqual(merges[0]!.body, { merge_when_pipeline_succeeds: true, squash: true, sha: mr.sha });

    await db.exec(`INSERT INTO customers VALUES ('hooli', true, 'gold')`);
    await world.sync();
    assert.equal(
      world.fake.requests.filter((request) => request.template === `${MRS}/{merge_request_iid}/merge`).length,
      1,
    );
  });
});

describe('GitLab routing by change kind', () => {
  let db: TestDatabase;
  let world: GitLabWorld;
  useGitLabWorld(
    `mode: pull-request
routing:
  added: push`,
    (current) => ({ db, world } = current),
  );

  test('a new row goes straight to main with no merge request; a changed row waits in one', async () => {
    const first = await world.sync();
    assert.equal(first.code, 0, first.out + first.err);
    assert.ok(
      (await git(world.bare, ['ls-tree', '-r', '--name-only', 'main'])).includes(
        'nodes/customers/web/acme/settings.yaml',
      ),
    );
    assert.equal(world.gitlab.mergeRequests.length, 0);
    assert.deepEqual(world.fake.writes(), []);

    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    const second = await world.sync();
    assert.equal(second.code, 0, second.out + second.err);
    assert.equal(world.gitlab.mergeRequests.length, 1);
    assert.equal(world.gitlab.mr(1).title, 'lynq(customers): 1 updated');
  });
});
