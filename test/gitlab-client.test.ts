import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { parseHub } from '../src/config/load.ts';
import { ConfigError, ForgeError } from '../src/errors.ts';
import { openGitLab, projectPath } from '../src/forge/gitlab/index.ts';
import type { GitLabOptions } from '../src/forge/gitlab/client.ts';
import { gitHubLimits } from '../src/forge/pacing.ts';
import { staticToken } from '../src/forge/static-token.ts';
import type { PullRequestSpec } from '../src/forge/types.ts';
import { silentLogger } from '../src/logger.ts';
import { hubYaml } from './helpers/config.ts';
import { cloneWorkTree, commitFiles, makeBareRepo, makeTempDir } from './helpers/git.ts';
import { startGitLabFake, type GitLabFake } from './helpers/gitlab-fake.ts';
import { FakeGitLabProject } from './helpers/gitlab-project.ts';
import { gitLabApi } from './helpers/gitlab-api.ts';

const TOKEN = `glpat-${randomBytes(12).toString('hex')}`;
const REPO_URL = 'https://gitlab.example.test/acme/manifests.git';
const MRS = '/projects/{id}/merge_requests';

const spec = (extra: Partial<PullRequestSpec> = {}): PullRequestSpec => ({
  branch: 'lynq/customers',
  base: 'main',
  title: 'lynq(customers): 1 added',
  body: 'body',
  labels: [],
  ownedLabels: [],
  reviewers: [],
  teamReviewers: [],
  draft: false,
  autoMerge: 'off',
  ...extra,
});

describe('GitLab client: retries, rate limits, one write at a time, dry run', () => {
  let fake: GitLabFake;
  let project: FakeGitLabProject;
  let cleanup: () => Promise<void>;
  let waits: number[];

  beforeEach(async () => {
    const root = await makeTempDir('lynq-gitlab-client-');
    const bare = (await makeBareRepo({ dir: path.join(root.dir, 'acme/manifests.git') })).dir;
    const work = await cloneWorkTree(bare);
    await commitFiles(work.dir, { 'README.md': 'x\n' }, 'initial');
    await work.git('push', '--quiet', 'origin', 'main');
    await work.git('push', '--quiet', 'origin', 'main:lynq/customers');
    await work.cleanup();
    fake = await startGitLabFake([TOKEN]);
    project = new FakeGitLabProject(fake, 'acme/manifests', bare);
    waits = [];
    cleanup = async () => {
      await fake.close();
      await root.cleanup();
    };
  });

  afterEach(async () => {
    try {
      fake.assertClean();
    } finally {
      await cleanup();
    }
  });

  const client = (extra: Partial<GitLabOptions> = {}) =>
    openGitLab({
      baseUrl: fake.apiUrl,
      credentials: staticToken(TOKEN, 'oauth2'),
      repoUrl: REPO_URL,
      logger: silentLogger(),
      maxRetries: 3,
      maxRetryWaitSeconds: 60,
      limits: gitHubLimits({ writeIntervalMs: 0 }),
      sleep: async (ms) => {
        waits.push(ms);
      },
      now: () => 1_700_000_000_000,
      ...extra,
    });

  test('a 502 is tried again after 1 s, then 2 s; the answer after that is used', async () => {
    fake.once('GET', MRS, { status: 502, body: { message: '502 Bad Gateway' } });
    fake.once('GET', MRS, { status: 502, body: { message: '502 Bad Gateway' } });
    assert.equal(await client().findOpenPullRequest('lynq/customers', 'main'), undefined);
    assert.deepEqual(waits, [1000, 2000]);
    assert.equal(fake.requests.length, 3);
  });

  test('a 429 waits as long as Retry-After says, on the injected clock, or RateLimit-Reset when that is all there is', async () => {
    fake.once('GET', MRS, { status: 429, body: { message: 'Retry later' }, headers: { 'retry-after': '7' } });
    fake.once('GET', MRS, {
      status: 429,
      body: { message: 'Retry later' },
      headers: { 'ratelimit-reset': String(1_700_000_000 + 20) },
    });
    await client().findOpenPullRequest('lynq/customers', 'main');
    assert.deepEqual(waits, [7000, 21000]);
  });

  test('a rate limit that resets later than maxRetryWaitSeconds fails at once, saying so', async () => {
    fake.once('GET', MRS, { status: 429, body: { message: 'Retry later' }, headers: { 'retry-after': '600' } });
    await assert.rejects(client().findOpenPullRequest('lynq/customers', 'main'), (error: unknown) => {
      assert.ok(error instanceof ForgeError);
      assert.match(
        error.message,
        /GitLab rate limit \(429\) while looking for the open merge request from lynq\/customers in acme\/manifests/,
      );
      return true;
    });
    assert.deepEqual(waits, []);
  });

  test('a create retried after a 5xx that had worked meets 409 and updates the one that exists', async () => {
    const gitlab = client();
    await gitlab.ensurePullRequest(spec(), undefined);
    project.mr(1).description = 'old';
    const result = await gitlab.ensurePullRequest(spec({ body: 'new' }), undefined);
    assert.equal(result.action, 'updated');
    assert.equal(project.mergeRequests.length, 1);
    assert.equal(project.mr(1).description, 'new');
    assert.equal(fake.requests.find((request) => request.status === 409)?.template, MRS);
  });

  test('writes go one at a time per token, however many are asked for at once', async () => {
    const gitlab = client();
    const { pullRequest } = await gitlab.ensurePullRequest(spec(), undefined);
    let running = 0;
    let most = 0;
    fake.wrap('POST', `${MRS}/{merge_request_iid}/notes`, (inner) => async (request) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running--;
      return inner(request);
    });
    await Promise.all(['a', 'b', 'c'].map((key) => gitlab.ensureComment(pullRequest, key, `comment ${key}`)));
    assert.equal(most, 1);
    assert.equal((project.notes.get(1) ?? []).length, 3);
  });

  test('read-only (a dry run): reads go out, a write throws before it is sent', async () => {
    const gitlab = client({ readOnly: true });
    await gitlab.findOpenPullRequest('lynq/customers', 'main');
    await assert.rejects(
      gitlab.ensurePullRequest(spec(), undefined),
      /a dry run does not write to GitLab: POST \/projects\/acme%2Fmanifests\/merge_requests was not sent/,
    );
    assert.deepEqual(fake.writes(), []);
  });

  test('the token goes in the PRIVATE-TOKEN header and nowhere else', async () => {
    await client().findOpenPullRequest('lynq/customers', 'main');
    assert.equal(fake.requests[0]!.token, TOKEN);
    assert.ok(!fake.requests[0]!.query.includes(TOKEN));
  });
});

describe('GitLab project path and hub settings', () => {
  test('the project path keeps every group and subgroup', () => {
    assert.equal(projectPath('https://gitlab.com/acme/platform/manifests.git'), 'acme/platform/manifests');
    assert.equal(projectPath('git@gitlab.example.com:acme/manifests.git'), 'acme/manifests');
    assert.equal(projectPath('ssh://git@gitlab.example.com:2222/acme/sub/manifests'), 'acme/sub/manifests');
    assert.throws(() => projectPath('/srv/manifests.git'), ConfigError);
  });

  const hub = (publish: string) =>
    parseHub(
      'hubs/customers.yaml',
      hubYaml({
        spec: `  publish:\n    repo: https://gitlab.com/acme/manifests.git\n    mode: pull-request\n${publish}`,
      }),
    );

  test('platform.type gitlab is accepted, apiUrl optional (gitlab.com when absent)', () => {
    const parsed = hub('    platform:\n      type: gitlab\n      token: { env: GITLAB_TOKEN }\n');
    assert.equal(parsed.spec.publish.platform?.type, 'gitlab');
    assert.equal(parsed.spec.publish.platform?.apiUrl, undefined);
  });

  test('what GitLab has no equivalent for is a config error naming the field and the fix', () => {
    assert.throws(
      () => hub('    platform:\n      type: gitlab\n      app: { appId: 1, privateKey: { env: KEY } }\n'),
      /spec\.publish\.platform\.app.*GitHub only.*platform\.token/s,
    );
    assert.throws(
      () => hub('    platform:\n      type: gitlab\n    pullRequest:\n      teamReviewers: [ops]\n'),
      /spec\.publish\.pullRequest\.teamReviewers.*GitHub only/s,
    );
    assert.throws(
      () => hub('    platform:\n      type: gitlab\n    pullRequest:\n      autoMerge: rebase\n'),
      /spec\.publish\.pullRequest\.autoMerge.*cannot be rebase on GitLab/s,
    );
  });
});

describe('the GitLab API description the fake is checked against', () => {
  const api = gitLabApi();

  test("the merge-request operations are checked against GitLab's published OpenAPI excerpt; the others against the transcription", () => {
    assert.ok(api.published('GET', '/projects/{id}/merge_requests'));
    assert.ok(api.published('PUT', '/projects/{id}/merge_requests/{merge_request_iid}/merge'));
    assert.ok(!api.published('GET', '/projects/{id}/merge_requests/{merge_request_iid}/notes'));
    assert.ok(api.has('GET', '/projects/{id}/merge_requests/{merge_request_iid}/notes'));
  });

  test('it fails what GitLab would not take or give: an unknown or mistyped parameter, a body field it does not know, a status it does not answer', () => {
    const list = '/projects/{id}/merge_requests';
    assert.deepEqual(
      api.checkRequest('GET', list, new URLSearchParams('state=opened&source_branch=x&per_page=10'), undefined),
      [],
    );
    assert.match(
      api.checkRequest('GET', list, new URLSearchParams('status=opened'), undefined).join('\n'),
      /query parameter status is not in GitLab's published description/,
    );
    assert.match(
      api.checkRequest('GET', list, new URLSearchParams('state=open'), undefined).join('\n'),
      /query state=open is not one of opened, closed, locked, merged, all/,
    );
    assert.match(
      api.checkRequest('GET', list, new URLSearchParams('per_page=ten'), undefined).join('\n'),
      /not an integer/,
    );
    assert.match(
      api
        .checkRequest('POST', list, new URLSearchParams(), {
          source_branch: 'a',
          target_branch: 'b',
          title: 't',
          draft: true,
        })
        .join('\n'),
      /must NOT have additional properties/,
    );
    assert.match(
      api.checkRequest('POST', list, new URLSearchParams(), { source_branch: 'a', title: 't' }).join('\n'),
      /must have required property 'target_branch'/,
    );
    assert.match(
      api.checkResponse('PUT', `${list}/{merge_request_iid}`, 401, { message: '401 Unauthorized' }).join('\n'),
      /does not answer 401 in GitLab's published description/,
    );
    assert.match(
      api.checkResponse('GET', `${list}/{merge_request_iid}/notes`, 200, [{ id: 1, body: 'x' }]).join('\n'),
      /must have required property/,
    );
  });
});
