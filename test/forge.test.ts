import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import { ConfigError, ForgeError } from '../src/errors.ts';
import { openGitHub } from '../src/forge/github.ts';
import { retryDelayMs, type GitHubAuth } from '../src/forge/octokit.ts';
import { parseRepoUrl } from '../src/forge/repo-url.ts';
import type { PullRequestSpec } from '../src/forge/types.ts';
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
    for (const url of ['https://github.com/acme/manifests', 'https://github.com/acme/manifests.git', 'https://github.com/acme/manifests/', 'ssh://git@github.com/acme/manifests.git', 'git@github.com:acme/manifests.git', 'http://127.0.0.1:8080/git/acme/manifests.git']) {
      assert.deepEqual({ ...parseRepoUrl(url), host: undefined }, { ...expect, host: undefined }, url);
    }
    assert.equal(parseRepoUrl('git@ghe.example.com:acme/manifests.git').host, 'ghe.example.com');
  });

  test('refuses a local path and a URL without owner, without echoing credentials', () => {
    assert.throws(() => parseRepoUrl('/srv/manifests.git'), ConfigError);
    assert.throws(() => parseRepoUrl('https://user:s3cr3t-token@github.com/manifests'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.ok(!error.message.includes('s3cr3t-token'), error.message);
      return true;
    });
  });
});

describe('retryDelayMs', () => {
  const failure = (status: number, headers: Record<string, string> = {}) => ({ status, response: { headers } });
  test('follows GitHub: Retry-After, then the rate-limit reset, a minute for a bare 429, backoff for 5xx', () => {
    assert.equal(retryDelayMs(failure(403, { 'retry-after': '7' }), 0, 0), 7000);
    assert.equal(retryDelayMs(failure(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '100' }), 0, 90_000), 11_000);
    assert.equal(retryDelayMs(failure(429), 0, 0), 60_000);
    assert.equal(retryDelayMs(failure(403), 0, 0), undefined, 'a plain 403 is a permission problem');
    assert.equal(retryDelayMs(failure(404), 0, 0), undefined);
    assert.deepEqual([0, 1, 2].map((attempt) => retryDelayMs(failure(503), attempt, 0)), [1000, 2000, 4000]);
  });
});

describe('GitHubPullRequests against the fake', () => {
  let fake: GitHubFake;
  let github: FakeRepository;
  let bare: { dir: string; cleanup(): Promise<void> };
  const open = (auth: GitHubAuth = { type: 'token', token: TOKEN }, options: { registry?: SecretRegistry; apiUrl?: string } = {}) =>
    openGitHub({ baseUrl: options.apiUrl ?? fake.url, auth, coordinates: { host: 'github.com', owner: 'acme', repo: 'manifests' }, logger: silentLogger(), registry: options.registry ?? new SecretRegistry(), maxRetries: 2, maxRetryWaitSeconds: 5, sleep: async () => undefined });

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
    fake.assertClean();
    await fake.close();
  });
  const start = async (options: Parameters<typeof startGitHubFake>[0] = {}) => {
    fake = await startGitHubFake({ tokens: [TOKEN], ...options });
    github = new FakeRepository(fake, 'acme', 'manifests', bare.dir);
  };

  test('creates a draft with reviewers and auto-merge (GraphQL, checked against GitHub\'s schema); finds it again', async () => {
    await start();
    github.serveAutoMerge();
    const forge = await open();
    assert.equal(await forge.findOpenPullRequest('lynq/customers', 'main'), undefined);
    const created = await forge.ensurePullRequest(spec({ draft: true, reviewers: ['alice'], teamReviewers: ['platform'], labels: ['lynq'], autoMerge: 'squash' }), undefined);
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
    const again = await forge.ensurePullRequest(spec({ draft: true, reviewers: ['alice'], labels: ['lynq'], autoMerge: 'squash' }), found);
    assert.equal(again.action, 'unchanged');
    assert.deepEqual(stored.reviewers, ['alice'], 'reviewers are asked once, when the pull request is opened');
  });

  test('labels: adds missing ones, removes those it set earlier and no longer wants, keeps labels people added', async () => {
    await start();
    const forge = await open();
    await forge.ensurePullRequest(spec({ labels: ['lynq', 'old'] }), undefined);
    github.pull(1).labels.push('needs-review');
    const current = await forge.findOpenPullRequest('lynq/customers', 'main');
    const result = await forge.ensurePullRequest(spec({ labels: ['lynq', 'new'], ownedLabels: ['lynq', 'old'] }), current);
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
    assert.deepEqual((github.comments.get(1) ?? []).map((comment) => comment.body.split('\n')[0]), ['hello', 'hello again', 'bye']);
    assert.equal(github.pull(1).state, 'closed');
    const closed = await forge.findClosedPullRequest('lynq/customers', 'main', github.pull(1).headSha);
    assert.equal(closed?.number, 1);
    assert.equal(closed?.merged, false);
  });

  test('404 and 403 are clear errors naming the repository and the call, and are not retried', async () => {
    await start();
    fake.once('GET', '/repos/{owner}/{repo}/pulls', { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com' } });
    const forge = await open();
    await assert.rejects(forge.findOpenPullRequest('lynq/customers', 'main'), (error: unknown) => {
      assert.ok(error instanceof ForgeError);
      assert.match(error.message, /GitHub answered not found \(404\) while looking for the open pull request from lynq\/customers in acme\/manifests: Not Found; the repository does not exist, or these credentials cannot see it/);
      return true;
    });
    fake.once('POST', '/repos/{owner}/{repo}/pulls', { status: 403, body: { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com' } });
    await assert.rejects(forge.ensurePullRequest(spec(), undefined), /GitHub forbids this \(403\) while opening a pull request from lynq\/customers into main in acme\/manifests: Resource not accessible by integration/);
    assert.equal(fake.requests.filter((request) => request.status === 403 || request.status === 404).length, 2, 'one request each');
  });

  test('GitHub App: a signed JWT finds the installation, its token serves the API and git, and is registered as a secret', async () => {
    const appId = '4242';
    await start({ app: { appId, publicKeyPem: PUBLIC_PEM } });
    const minted = `ghs_${randomBytes(12).toString('hex')}`;
    fake.on('GET', '/repos/{owner}/{repo}/installation', () => ({ status: 200, body: installation(77, 'acme', Number(appId)) }));
    fake.on('POST', '/app/installations/{installation_id}/access_tokens', (request) => {
      assert.equal(request.params.installation_id, '77');
      fake.tokens.add(minted);
      return { status: 201, body: { token: minted, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { contents: 'write', pull_requests: 'write' }, repository_selection: 'selected' } };
    });
    fake.tokens.delete(TOKEN);
    const registry = new SecretRegistry();
    const forge = await open({ type: 'app', appId, privateKey: PRIVATE_PEM }, { registry });
    assert.equal(await forge.findOpenPullRequest('lynq/customers', 'main'), undefined);
    assert.equal(await forge.gitToken(), minted);
    assert.equal(registry.scrub(`token ${minted} key ${PRIVATE_PEM}`), 'token [redacted] key [redacted]');
    const used = fake.requests.map((request) => `${request.method} ${request.template} ${request.authorization?.split(' ')[0]}`);
    assert.deepEqual(used.slice(0, 3), ['GET /repos/{owner}/{repo}/installation bearer', 'POST /app/installations/{installation_id}/access_tokens bearer', 'GET /repos/{owner}/{repo}/pulls token']);
  });

  test('GitHub Enterprise Server: the API base URL is a setting (REST under /api/v3, GraphQL at /api/graphql)', async () => {
    await start({ enterprise: true });
    github.serveAutoMerge();
    const forge = await open(undefined, { apiUrl: `${fake.url}/api/v3` });
    const result = await forge.ensurePullRequest(spec({ autoMerge: 'rebase' }), undefined);
    assert.equal(result.action, 'created');
    assert.equal(github.pull(1).autoMerge, 'rebase');
  });
});
