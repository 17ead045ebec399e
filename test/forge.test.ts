import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { ConfigError, ForgeError } from '../src/errors.ts';
import { createCredentialProvider } from '../src/forge/credentials.ts';
import { staticToken } from '../src/forge/static-token.ts';
import { openGitHub, type GitHubOptions } from '../src/forge/github.ts';
import { gitHubLimits } from '../src/forge/pacing.ts';
import { parseRepoUrl } from '../src/forge/repo-url.ts';
import type { CredentialProvider, PullRequestSpec } from '../src/forge/types.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { startGitHubFake, type GitHubFake } from './helpers/github-fake.ts';
import { installation } from './helpers/github-objects.ts';
import { FakeRepository } from './helpers/github-repo.ts';
import { cloneWorkTree, commitFiles, makeBareRepo } from './helpers/git.ts';

const TOKEN = `ghp_${randomBytes(12).toString('hex')}`;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

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

describe('parseRepoUrl', () => {
  test('reads owner and repository from the forms people paste', () => {
    const expect = { owner: 'acme', repo: 'manifests' };
    for (const url of [
      'https://github.com/acme/manifests',
      'https://github.com/acme/manifests.git',
      'https://github.com/acme/manifests/',
      'ssh://git@github.com/acme/manifests.git',
      'git@github.com:acme/manifests.git',
      'http://127.0.0.1:8080/git/acme/manifests.git',
    ]) {
      assert.deepEqual({ ...parseRepoUrl(url), host: undefined }, { ...expect, host: undefined }, url);
    }
    assert.equal(parseRepoUrl('git@ghe.example.com:acme/manifests.git').host, 'ghe.example.com');
  });

  test('refuses a local path and a URL without owner, without echoing credentials', () => {
    assert.throws(() => parseRepoUrl('/srv/manifests.git'), ConfigError);
    assert.throws(
      () => parseRepoUrl('https://user:s3cr3t-token@github.com/manifests'),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.ok(!error.message.includes('s3cr3t-token'), error.message);
        return true;
      },
    );
  });
});

describe('GitHubPullRequests against the fake', () => {
  let fake: GitHubFake;
  let github: FakeRepository;
  let bare: { dir: string; cleanup(): Promise<void> };
  const REPO_URL = 'https://github.com/acme/manifests.git';
  /** Settings every client here shares: no pacing between writes, waits recorded instead of waited. */
  const settings = () => ({
    baseUrl: fake.url,
    logger: silentLogger(),
    maxRetries: 2,
    maxRetryWaitSeconds: 5,
    limits: gitHubLimits({ writeIntervalMs: 0 }),
    sleep: async () => undefined,
  });
  const open = (credentials: CredentialProvider = staticToken(TOKEN), options: Partial<GitHubOptions> = {}) =>
    openGitHub({ ...settings(), credentials, repoUrl: REPO_URL, ...options });

  before(async () => {
    bare = await makeBareRepo();
    const work = await cloneWorkTree(bare.dir);
    await commitFiles(work.dir, { 'README.md': 'x\n' }, 'first');
    await work.git('push', '--quiet', 'origin', 'main');
    await work.git('push', '--quiet', 'origin', 'main:lynq/customers');
    await work.cleanup();
  });
  after(async () => {
    await bare.cleanup();
  });
  afterEach(async () => {
    try {
      fake.assertClean();
    } finally {
      await fake.close();
    }
  });
  const start = async (options: Parameters<typeof startGitHubFake>[0] = {}) => {
    fake = await startGitHubFake({ tokens: [TOKEN], ...options });
    github = new FakeRepository(fake, 'acme', 'manifests', bare.dir);
  };

  test("creates a draft with reviewers and auto-merge (GraphQL, checked against GitHub's schema); finds it again", async () => {
    await start();
    github.serveAutoMerge();
    const forge = await open();
    assert.equal(await forge.findOpenPullRequest('lynq/customers', 'main'), undefined);
    const created = await forge.ensurePullRequest(
      spec({ draft: true, reviewers: ['alice'], teamReviewers: ['platform'], labels: ['lynq'], autoMerge: 'squash' }),
      undefined,
    );
    assert.equal(created.action, 'created');
    assert.deepEqual(created.warnings, []);
    const stored = github.pull(1);
    assert.equal(stored.draft, true);
    assert.deepEqual(stored.reviewers, ['alice']);
    assert.deepEqual(stored.teams, ['platform']);
    assert.equal(stored.autoMerge, 'squash');
    const found = await forge.findOpenPullRequest('lynq/customers', 'main');
    assert.equal(found?.number, 1);
    assert.equal(found?.autoMerge, true);
    const again = await forge.ensurePullRequest(
      spec({ draft: true, reviewers: ['alice'], labels: ['lynq'], autoMerge: 'squash' }),
      found,
    );
    assert.equal(again.action, 'unchanged');
    assert.deepEqual(stored.reviewers, ['alice'], 'reviewers are asked once, when the pull request is opened');
  });

  test('labels: adds missing ones, removes those it set earlier and no longer wants, keeps labels people added', async () => {
    await start();
    const forge = await open();
    await forge.ensurePullRequest(spec({ labels: ['lynq', 'old'] }), undefined);
    github.pull(1).labels.push('needs-review');
    const current = await forge.findOpenPullRequest('lynq/customers', 'main');
    const result = await forge.ensurePullRequest(
      spec({ labels: ['lynq', 'new'], ownedLabels: ['lynq', 'old'] }),
      current,
    );
    assert.equal(result.action, 'updated');
    assert.deepEqual(github.pull(1).labels.sort(), ['lynq', 'needs-review', 'new']);
  });

  test('a create that GitHub refuses because the pull request exists (an earlier try went through) updates that one', async () => {
    await start();
    const forge = await open();
    await forge.ensurePullRequest(spec(), undefined);
    const result = await forge.ensurePullRequest(spec({ title: 'lynq(customers): 2 added' }), undefined);
    assert.equal(result.action, 'updated');
    assert.equal(github.pulls.length, 1);
    assert.equal(github.pull(1).title, 'lynq(customers): 2 added');
    assert.ok(fake.requests.some((request) => request.method === 'POST' && request.status === 422));
  });

  test('auto-merge refused by the repository is a warning, not a failure', async () => {
    await start();
    github.serveAutoMerge({ refuse: 'Pull request Auto merge is not allowed for this repository' });
    const result = await (await open()).ensurePullRequest(spec({ autoMerge: 'merge' }), undefined);
    assert.equal(result.action, 'created');
    assert.match(result.warnings.join('\n'), /auto-merge was not switched on for #1 in acme\/manifests: .*not allowed/);
  });

  test('comments once per key, and closes with a comment', async () => {
    await start();
    const forge = await open();
    const { pullRequest } = await forge.ensurePullRequest(spec(), undefined);
    assert.equal(await forge.ensureComment(pullRequest, 'blocked abc', 'hello'), 'created');
    assert.equal(await forge.ensureComment(pullRequest, 'blocked abc', 'hello'), 'exists');
    assert.equal(await forge.ensureComment(pullRequest, 'blocked def', 'hello again'), 'created');
    await forge.closePullRequest(pullRequest, 'bye');
    assert.deepEqual(
      (github.comments.get(1) ?? []).map((comment) => comment.body.split('\n')[0]),
      ['hello', 'hello again', 'bye'],
    );
    assert.equal(github.pull(1).state, 'closed');
    const closed = await forge.findClosedPullRequest('lynq/customers', 'main', github.pull(1).headSha);
    assert.equal(closed?.number, 1);
    assert.equal(closed?.merged, false);
  });

  test('404 and 403 are clear errors naming the repository and the call, and are not retried', async () => {
    await start();
    fake.once('GET', '/repos/{owner}/{repo}/pulls', {
      status: 404,
      body: { message: 'Not Found', documentation_url: 'https://docs.github.com' },
    });
    const forge = await open();
    await assert.rejects(forge.findOpenPullRequest('lynq/customers', 'main'), (error: unknown) => {
      assert.ok(error instanceof ForgeError);
      assert.match(
        error.message,
        /GitHub answered not found \(404\) while looking for the open pull request from lynq\/customers in acme\/manifests: Not Found; the repository does not exist, or these credentials cannot see it/,
      );
      return true;
    });
    fake.once('POST', '/repos/{owner}/{repo}/pulls', {
      status: 403,
      body: { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com' },
    });
    await assert.rejects(
      forge.ensurePullRequest(spec(), undefined),
      /GitHub forbids this \(403\) while opening a pull request from lynq\/customers into main in acme\/manifests: Resource not accessible by integration/,
    );
    assert.equal(
      fake.requests.filter((request) => request.status === 403 || request.status === 404).length,
      2,
      'one request each',
    );
  });

  test('GitHub App: a signed JWT finds the installation, its token serves the API and git, and is registered as a secret', async () => {
    const appId = '4242';
    await start({ app: { appId, publicKeyPem: PUBLIC_PEM } });
    const minted = `ghs_${randomBytes(12).toString('hex')}`;
    fake.on('GET', '/repos/{owner}/{repo}/installation', () => ({
      status: 200,
      body: installation(77, 'acme', Number(appId)),
    }));
    fake.on('POST', '/app/installations/{installation_id}/access_tokens', (request) => {
      assert.equal(request.params.installation_id, '77');
      fake.tokens.add(minted);
      return {
        status: 201,
        body: {
          token: minted,
          expires_at: new Date(Date.now() + 3600_000).toISOString(),
          permissions: { contents: 'write', pull_requests: 'write' },
          repository_selection: 'selected',
        },
      };
    });
    fake.tokens.delete(TOKEN);
    const registry = new SecretRegistry();
    const credentials = createCredentialProvider(
      { type: 'app', appId, privateKey: PRIVATE_PEM },
      { ...settings(), registry },
    );
    const forge = open(credentials);
    assert.equal(await forge.findOpenPullRequest('lynq/customers', 'main'), undefined);
    assert.equal(
      await credentials.tokenFor(REPO_URL),
      minted,
      'git borrows the same installation token, from the provider',
    );
    assert.equal(registry.scrub(`token ${minted} key ${PRIVATE_PEM}`), 'token [redacted] key [redacted]');
    const used = fake.requests.map(
      (request) => `${request.method} ${request.template} ${request.authorization?.split(' ')[0]}`,
    );
    assert.deepEqual(used, [
      'GET /repos/{owner}/{repo}/installation bearer',
      'POST /app/installations/{installation_id}/access_tokens bearer',
      'GET /repos/{owner}/{repo}/pulls token',
    ]);
  });

  test('GitHub App: the installation token is cached until five minutes before it expires, then minted again; concurrent callers share one mint', async () => {
    const appId = '4243';
    await start({ app: { appId, publicKeyPem: PUBLIC_PEM } });
    let clock = Date.parse('2026-01-01T12:00:00Z');
    const mints: string[] = [];
    fake.on('POST', '/app/installations/{installation_id}/access_tokens', () => {
      const token = `ghs_${randomBytes(12).toString('hex')}`;
      mints.push(token);
      return { status: 201, body: { token, expires_at: new Date(clock + 3600_000).toISOString() } };
    });
    const credentials = createCredentialProvider(
      { type: 'app', appId, privateKey: PRIVATE_PEM, installationId: 77 },
      { ...settings(), registry: new SecretRegistry(), now: () => clock },
    );
    const [first, second] = await Promise.all([credentials.tokenFor(REPO_URL), credentials.tokenFor(REPO_URL)]);
    assert.equal(first, second);
    clock += 54 * 60_000;
    assert.equal(await credentials.tokenFor(REPO_URL), first, 'six minutes left: still good');
    clock += 2 * 60_000;
    const fresh = await credentials.tokenFor(REPO_URL);
    assert.notEqual(fresh, first, 'four minutes left: replaced');
    assert.deepEqual(mints, [first, fresh]);
    assert.equal(credentials.identity, `app:${appId}`);
    assert.deepEqual(
      fake.requests.map((request) => request.template),
      ['/app/installations/{installation_id}/access_tokens', '/app/installations/{installation_id}/access_tokens'],
      'installationId given: no lookup',
    );
  });

  test('GitHub App without an installation on the repository: a clear error naming the repository', async () => {
    const appId = '4244';
    await start({ app: { appId, publicKeyPem: PUBLIC_PEM } });
    fake.on('GET', '/repos/{owner}/{repo}/installation', () => ({
      status: 404,
      body: {
        message: 'Not Found',
        documentation_url:
          'https://docs.github.com/rest/apps/apps#get-a-repository-installation-for-the-authenticated-app',
      },
    }));
    const credentials = createCredentialProvider(
      { type: 'app', appId, privateKey: PRIVATE_PEM },
      { ...settings(), registry: new SecretRegistry() },
    );
    await assert.rejects(credentials.tokenFor(REPO_URL), (error: unknown) => {
      assert.ok(error instanceof ForgeError);
      assert.match(
        error.message,
        /GitHub answered not found \(404\) while finding the GitHub App installation for acme\/manifests in acme\/manifests/,
      );
      return true;
    });
  });

  const PULLS = '/repos/{owner}/{repo}/pulls';
  const record = (waits: number[]) => async (ms: number) => void waits.push(ms);

  test('a 403 that says "secondary rate limit" without Retry-After waits a minute, as GitHub documents; a bare 403 is not waited for', async () => {
    await start();
    const waits: number[] = [];
    const forge = open(undefined, { sleep: record(waits), maxRetryWaitSeconds: 120 });
    fake.once('GET', PULLS, {
      status: 403,
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url:
          'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      },
    });
    assert.equal(await forge.findOpenPullRequest('lynq/customers', 'main'), undefined);
    assert.deepEqual(waits, [60_000]);
    fake.once('GET', PULLS, {
      status: 403,
      body: { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com' },
    });
    await assert.rejects(forge.findOpenPullRequest('lynq/customers', 'main'), /GitHub forbids this \(403\)/);
    assert.deepEqual(waits, [60_000], 'a permission problem is final');
    assert.deepEqual(
      fake.requests.map((request) => request.status),
      [403, 200, 403],
    );
  });

  test('a primary rate limit waits until x-ratelimit-reset and a second, measured on the injected clock', async () => {
    await start();
    const now = Date.parse('2026-01-01T12:00:00.500Z');
    const waits: number[] = [];
    const forge = open(undefined, { sleep: record(waits), now: () => now });
    const reset = Math.floor(now / 1000) + 3;
    fake.once('GET', PULLS, {
      status: 403,
      body: { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com' },
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
    });
    assert.equal(await forge.findOpenPullRequest('lynq/customers', 'main'), undefined);
    assert.deepEqual(waits, [4000], '2.5 s to the reset, rounded up, plus one');
    // The same limit with a reset beyond maxRetryWaitSeconds (5): no wait, a rate-limit error.
    fake.once('GET', PULLS, {
      status: 429,
      body: { message: 'API rate limit exceeded for user ID 1.', documentation_url: 'https://docs.github.com' },
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset + 3600) },
    });
    await assert.rejects(
      forge.findOpenPullRequest('lynq/customers', 'main'),
      /GitHub rate limit \(429\) while looking for the open pull request from lynq\/customers in acme\/manifests, still limited/,
    );
    assert.deepEqual(waits, [4000]);
  });

  test('5xx answers and a hung request are retried by the plugin, backing off 1 s, 2 s; each try has its own timeout', async () => {
    await start();
    const waits: number[] = [];
    let hung = false;
    fake.wrap('GET', PULLS, (inner) => async (request) => {
      if (!hung) {
        hung = true;
        await new Promise(() => undefined);
      }
      return inner(request);
    });
    fake.once('GET', PULLS, { status: 502, body: { message: 'Server Error' } });
    const forge = open(undefined, { sleep: record(waits), timeoutMs: 1500 });
    assert.equal(await forge.findOpenPullRequest('lynq/customers', 'main'), undefined);
    assert.deepEqual(waits, [1000, 2000]);
    assert.deepEqual(
      fake.requests.map((request) => request.status),
      [502, 0, 200],
      'the hung try never got an answer',
    );
  });

  test('an abort ends a retry wait at once, and nothing more is sent', async () => {
    await start();
    const controller = new AbortController();
    fake.once('GET', PULLS, { status: 502, body: { message: 'Server Error' } });
    // A wait that would never end by itself: only the abort can end it.
    const sleep = () => {
      controller.abort(new Error('shutting down'));
      return new Promise<void>(() => undefined);
    };
    await assert.rejects(
      open(undefined, { sleep, signal: controller.signal }).findOpenPullRequest('lynq/customers', 'main'),
      /shutting down/,
    );
    assert.deepEqual(
      fake.requests.map((request) => request.status),
      [502],
    );
  });

  test('writes go one at a time (the throttling plugin), even when the code sends them at once', async () => {
    await start();
    const forge = open();
    const { pullRequest } = await forge.ensurePullRequest(spec(), undefined);
    let inFlight = 0;
    let most = 0;
    fake.wrap('POST', '/repos/{owner}/{repo}/issues/{issue_number}/comments', (inner) => async (request) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 25));
      inFlight--;
      return inner(request);
    });
    await Promise.all(['a', 'b', 'c'].map((key) => forge.ensureComment(pullRequest, key, `comment ${key}`)));
    assert.equal((github.comments.get(1) ?? []).length, 3);
    assert.equal(most, 1);
  });

  test('read-only (a dry run): reads are sent, every write throws in the client before it is sent', async () => {
    await start();
    github.serveAutoMerge();
    const forge = open(undefined, { readOnly: true });
    assert.equal(await forge.findOpenPullRequest('lynq/customers', 'main'), undefined);
    await assert.rejects(forge.ensurePullRequest(spec(), undefined), (error: unknown) => {
      assert.ok(error instanceof ForgeError);
      assert.match(
        error.message,
        /a dry run does not write to GitHub: POST \/repos\/\{owner\}\/\{repo\}\/pulls was not sent/,
      );
      return true;
    });
    const stranger = {
      number: 7,
      url: '',
      title: 't',
      body: '',
      labels: [],
      headSha: '',
      state: 'open' as const,
      merged: false,
      draft: false,
      autoMerge: false,
      nodeId: 'PR_x',
    };
    await assert.rejects(forge.closePullRequest(stranger, 'bye'), /a dry run does not write to GitHub: POST/);
    assert.deepEqual(fake.writes(), [], 'nothing but reads reached GitHub');
    assert.equal(fake.requests.length, 1);
  });

  test('the fake fails a test that queued a reply the code never asked for', async () => {
    await start();
    fake.once('GET', PULLS, { status: 502, body: { message: 'Server Error' } });
    assert.throws(
      () => fake.assertClean(),
      /queued reply never asked for: GET \/repos\/\{owner\}\/\{repo\}\/pulls → 502/,
    );
    assert.equal(await open().findOpenPullRequest('lynq/customers', 'main'), undefined);
    fake.assertClean();
  });

  test('GitHub Enterprise Server: the API base URL is a setting (REST under /api/v3, GraphQL at /api/graphql)', async () => {
    await start({ enterprise: true });
    github.serveAutoMerge();
    const forge = open(undefined, { baseUrl: `${fake.url}/api/v3` });
    const result = await forge.ensurePullRequest(spec({ autoMerge: 'rebase' }), undefined);
    assert.equal(result.action, 'created');
    assert.equal(github.pull(1).autoMerge, 'rebase');
  });
});
