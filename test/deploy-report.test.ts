// @slow: deploy results reported on the GitLab and GitHub fakes after a real sync and merge
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commitDeploys, createDeployReporter, deployedTable } from '../src/health/deploy-report.ts';
import type { NodeHealth } from '../src/health/read-back.ts';
import path from 'node:path';
import { createSyncDeps } from '../src/cli/wiring.ts';
import { type Hub, loadConfig } from '../src/config/load.ts';
import { silentLogger } from '../src/logger.ts';
import { useWorld, type World } from './helpers/forge-world.ts';
import { useGitLabWorld, type GitLabWorld } from './helpers/gitlab-world.ts';

const STATUSES = '/projects/{id}/repository/commits/{sha}/statuses';
const SET_STATUS = '/projects/{id}/statuses/{sha}';

function node(uid: string, phase: NodeHealth['phase'], commit: string, extra: Partial<NodeHealth> = {}): NodeHealth {
  return {
    hub: 'customers',
    form: 'web',
    uid,
    name: `${uid}-web`,
    namespace: 'tenants',
    phase,
    applied: phase === 'Ready',
    reason: phase === 'Degraded' ? 'EngineDegraded' : 'x',
    message: phase === 'Degraded' ? 'ImagePullBackOff: image acme/web:9 not found' : '',
    commit: { commit, time: 1_700_000_000, pullRequest: undefined },
    pullRequest: undefined,
    appliedRevision: phase === 'Ready' ? `main@sha1:${commit}` : undefined,
    resources: { desired: 1, ready: phase === 'Ready' ? 1 : 0, failed: 0 },
    resourcePhases: [],
    engineObjects: [],
    formHash: null,
    ...extra,
  };
}

describe('a commit deploy result, judged from the read-back', () => {
  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);

  test('pending while a node is Progressing or not applied, failure when one is Degraded, success when every node is Ready at it', () => {
    assert.equal(
      commitDeploys('customers', [node('acme', 'Ready', A), node('globex', 'Progressing', A)])[0]!.report.state,
      'pending',
    );
    assert.equal(
      commitDeploys('customers', [node('acme', 'Ready', A, { applied: false })])[0]!.report.state,
      'pending',
    );
    const failed = commitDeploys('customers', [node('globex', 'Degraded', A), node('acme', 'Ready', A)])[0]!.report;
    assert.equal(failed.state, 'failure');
    assert.equal(failed.name, 'lynq/customers');
    assert.equal(failed.summary, 'web/acme Ready, web/globex Degraded: ImagePullBackOff: image acme/web:9 not found');
    assert.equal(
      commitDeploys('customers', [node('acme', 'Ready', A), node('globex', 'Ready', A)])[0]!.report.state,
      'success',
    );
  });

  test('one report per commit, the newest first; nodes whose last commit is another belong to that one', () => {
    const deploys = commitDeploys('customers', [
      node('acme', 'Ready', A),
      node('globex', 'Progressing', B, { commit: { commit: B, time: 1_700_000_100, pullRequest: undefined } }),
    ]);
    assert.deepEqual(
      deploys.map((deploy) => [deploy.sha, deploy.report.state]),
      [
        [B, 'pending'],
        [A, 'success'],
      ],
    );
  });

  test('the Deployed table escapes what rows put in it; lead time where the node was Ready at its last commit, else —', () => {
    const lead = {
      commit: A,
      seenAt: '2026-01-01T00:00:00.000Z',
      committedAt: '2026-01-01T00:00:00.000Z',
      appliedAt: '2026-01-01T00:01:00.000Z',
      readyAt: '2026-01-01T00:04:12.000Z',
      seconds: 252,
    };
    const table = deployedTable([
      node('a|b`<x>', 'Degraded', A, { message: 'bad | <img src=x>' }),
      node('acme', 'Ready', A, { leadTime: lead }),
      // A lead time of an older commit says nothing of this one.
      node('globex', 'Progressing', B, { leadTime: lead }),
    ]);
    assert.match(
      table,
      /^\| `web\/a&#124;b&#96;&#60;x&#62;` \| Degraded: bad &#124; &#60;img src=x&#62; \| — \| — \|$/m,
    );
    assert.match(table, /^\| `web\/acme` \| Ready \| `main@sha1:a{12}` \| 4m12s \|$/m);
    assert.match(table, /^\| `web\/globex` \| Progressing \| — \| — \|$/m);
    assert.match(table, /Lead time: from the row change seen to the node Ready/);
  });
});

describe('deploy results on GitLab: a commit status lynq/<hub> and one Deployed note on the merged merge request', () => {
  let world: GitLabWorld;
  useGitLabWorld('mode: pull-request', (current) => ({ world } = current));

  test('pending, then failure, then success: one status write each, a note edited in place, nothing when nothing changed', async () => {
    const sync = await world.sync();
    assert.equal(sync.code, 0, sync.out + sync.err);
    const merge = await world.gitlab.merge(1, 'merge');
    const hub = await world.hub();
    const report = createDeployReporter((h) => world.openForge(h), silentLogger());
    const statusWrites = () => world.fake.requests.filter((request) => request.template === SET_STATUS).length;

    let result = await report(hub, [node('acme', 'Progressing', merge), node('globex', 'Progressing', merge)]);
    assert.deepEqual(result, { commit: merge, state: 'pending', status: 'created', comment: 'created' });
    assert.deepEqual(
      world.gitlab.statuses.map((status) => [status.sha, status.name, status.status, status.description]),
      [[merge, 'lynq/customers', 'pending', 'web/acme Progressing, web/globex Progressing']],
    );
    const notes = () => (world.gitlab.notes.get(1) ?? []).filter((note) => note.body.includes('lynq:comment deployed'));
    assert.equal(notes().length, 1);
    assert.match(notes()[0]!.body, /^### Deployed: lynq\/customers \(pending\)/);

    const from = world.fake.requests.length;
    result = await report(hub, [node('acme', 'Progressing', merge), node('globex', 'Progressing', merge)]);
    assert.deepEqual(result, { commit: undefined });
    assert.equal(world.fake.requests.length, from, 'nothing changed: not even a read');

    result = await report(hub, [node('acme', 'Ready', merge), node('globex', 'Degraded', merge)]);
    assert.equal(result.commit === undefined ? undefined : result.state, 'failure');
    assert.equal(world.gitlab.statuses.at(-1)!.status, 'failed');
    assert.equal(
      world.gitlab.statuses.at(-1)!.description,
      'web/acme Ready, web/globex Degraded: ImagePullBackOff: image acme/web:9 not found',
    );
    assert.equal(notes().length, 1, 'the same note, edited');
    assert.match(
      notes()[0]!.body,
      /^\| `web\/globex` \| Degraded: ImagePullBackOff: image acme\/web:9 not found \| — \| — \|$/m,
    );

    result = await report(hub, [node('acme', 'Ready', merge), node('globex', 'Ready', merge)]);
    assert.equal(world.gitlab.statuses.at(-1)!.status, 'success');
    assert.equal(statusWrites(), 3, 'one status write per change of result');
    assert.match(notes()[0]!.body, /^\| `web\/globex` \| Ready \| `main@sha1:[0-9a-f]{12}` \| — \|$/m);

    // A restarted process: GitLab already shows this result, so nothing is written.
    const writes = world.fake.writes().length;
    result = await createDeployReporter((h) => world.openForge(h), silentLogger())(hub, [
      node('acme', 'Ready', merge),
      node('globex', 'Ready', merge),
    ]);
    assert.deepEqual(result, { commit: merge, state: 'success', status: 'unchanged', comment: 'unchanged' });
    assert.equal(world.fake.writes().length, writes);
    assert.ok(world.fake.calls().includes(`GET ${STATUSES}`));
  });

  test('a commit pushed without a merge request gets its status and no note; one commit per read-back, the newest changed one', async () => {
    await world.rewriteHub('mode: pull-request\nrouting: { added: push }');
    const sync = await world.sync();
    assert.equal(sync.code, 0, sync.out + sync.err);
    const hub = await world.hub();
    const head = (await import('./helpers/git.ts')).revParse(world.bare, 'main');
    const sha = (await head)!;
    const older = 'c'.repeat(40);
    const report = createDeployReporter((h) => world.openForge(h), silentLogger());
    const result = await report(hub, [
      node('acme', 'Ready', sha, { commit: { commit: sha, time: 1_700_000_100, pullRequest: undefined } }),
      node('globex', 'Progressing', older),
    ]);
    assert.deepEqual(result, { commit: sha, state: 'success', status: 'created' });
    assert.deepEqual(
      world.gitlab.statuses.map((status) => status.sha),
      [sha],
      'only the newest commit this time',
    );
    assert.equal(world.gitlab.notes.size, 0);
  });
});

describe('deploy results on GitHub: a check run lynq/<hub> and one Deployed comment on the merged pull request', () => {
  let world: World;
  useWorld('mode: pull-request', (current) => ({ world } = current));

  const hubOf = async (): Promise<Hub> =>
    (await loadConfig({ hubsDir: path.join(world.dir, 'hubs'), formsDir: path.join(world.dir, 'forms') })).hubs.get(
      'customers',
    )!;
  const reporter = () =>
    createDeployReporter(
      (hub) =>
        createSyncDeps({ logger: silentLogger(), dryRun: false, diff: false, out: process.stdout, env: world.env })
          .openForge!(hub),
      silentLogger(),
    );

  test('in progress, then completed with failure, then success: the same check run updated, the comment edited in place', async () => {
    world.github.serveDeployReports();
    const sync = await world.sync();
    assert.equal(sync.code, 0, sync.out + sync.err);
    const merge = await world.github.merge(1, 'merge');
    const hub = await hubOf();
    const report = reporter();

    await report(hub, [node('acme', 'Progressing', merge)]);
    assert.deepEqual(
      world.github.checkRuns.map((run) => [run.headSha, run.name, run.status, run.conclusion, run.title]),
      [[merge, 'lynq/customers', 'in_progress', null, 'web/acme Progressing']],
    );
    const deployed = () =>
      (world.github.comments.get(1) ?? []).filter((comment) => comment.body.includes('lynq:comment deployed'));
    assert.equal(deployed().length, 1);

    await report(hub, [node('acme', 'Degraded', merge)]);
    assert.deepEqual(
      world.github.checkRuns.map((run) => [run.status, run.conclusion]),
      [['completed', 'failure']],
    );
    await report(hub, [node('acme', 'Ready', merge)]);
    assert.deepEqual(
      world.github.checkRuns.map((run) => [run.status, run.conclusion, run.title]),
      [['completed', 'success', 'web/acme Ready']],
    );
    assert.equal(deployed().length, 1, 'one comment, edited');
    assert.match(deployed()[0]!.body, /^### Deployed: lynq\/customers \(success\)/);
    assert.match(world.github.checkRuns[0]!.summary, /^\| `web\/acme` \| Ready \|/m);

    const writes = world.fake.writes().length;
    await reporter()(hub, [node('acme', 'Ready', merge)]);
    assert.equal(world.fake.writes().length, writes, 'a restarted process finds GitHub showing this already');
  });

  test('a token GitHub refuses check runs to (only Apps may write them) fails the report, not the read-back', async () => {
    world.github.serveDeployReports();
    await world.sync();
    const merge = await world.github.merge(1, 'merge');
    world.fake.once('POST', '/repos/{owner}/{repo}/check-runs', {
      status: 403,
      body: {
        message: 'You must authenticate via a GitHub App.',
        documentation_url: 'https://docs.github.com/rest/checks/runs#create-a-check-run',
      },
    });
    await assert.rejects(
      reporter()(await hubOf(), [node('acme', 'Ready', merge)]),
      /GitHub forbids this \(403\) while creating check run lynq\/customers on [0-9a-f]{12} in acme\/manifests: You must authenticate via a GitHub App/,
    );
  });
});
