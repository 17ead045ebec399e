// @slow: about 16 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import type { PullRequestClient } from '../src/forge/types.ts';
import { createLogger, SecretRegistry } from '../src/logger.ts';
import { exitCodeOf } from '../src/cli/report.ts';
import type { TestDatabase } from './helpers/db.ts';
import { pushesSince, useWorld, type World } from './helpers/forge-world.ts';
import { revParse } from './helpers/git.ts';

const BRANCH = 'lynq/customers';
const PULLS = '/repos/{owner}/{repo}/pulls';
const RATE_LIMITED = {
  message: 'API rate limit exceeded for installation.',
  documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
};

describe('pull requests when GitHub or the process fails', () => {
  let db: TestDatabase;
  let world: World;

  useWorld('mode: pull-request', (current) => ({ db, world } = current));

  test("a rate limit, then a secondary limit: each wait honours GitHub's headers, measured on the injected clock, then the pull request is made", async () => {
    // The clock the sync is given, not the machine's: the wait to the reset is exact.
    const now = Date.parse('2026-01-01T12:00:00.250Z');
    // Primary limit: remaining 0, reset 2.75 s later. Secondary limit: Retry-After 2 s.
    world.fake.once('GET', PULLS, {
      status: 403,
      body: RATE_LIMITED,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(now / 1000) + 3) },
    });
    world.fake.once('POST', PULLS, {
      status: 429,
      body: { message: 'You have exceeded a secondary rate limit.', documentation_url: 'https://docs.github.com' },
      headers: { 'retry-after': '2' },
    });
    const waits: number[] = [];
    const result = await world.syncWith({ sleep: async (ms) => void waits.push(ms), clock: () => now });
    assert.equal(result.outcome, 'unchanged', JSON.stringify(result));
    assert.ok('proposal' in result && result.proposal?.outcome === 'created');
    assert.deepEqual(waits, [4000, 2000], 'until the reset (2.75 s, rounded up, and a second), then Retry-After: 2');
    assert.equal(world.github.pulls.length, 1, 'created once, after the limit');
    // Neither status is in the description of these two operations: checked as GitHub's basic-error instead.
    assert.deepEqual(world.fake.undocumented, [`GET ${PULLS} → 403`, `POST ${PULLS} → 429`]);
  });

  test('a limit that resets later than maxRetryWaitSeconds fails the hub (exit 3) instead of waiting', async () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    // A primary limit with its reset an hour away, then a secondary one that asks for an hour.
    world.fake.once('GET', PULLS, {
      status: 429,
      body: RATE_LIMITED,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 3600) },
    });
    const waits: number[] = [];
    const result = await world.syncWith({ sleep: async (ms) => void waits.push(ms), clock: () => now });
    assert.equal(result.outcome, 'pull-request-failed');
    assert.match(
      'error' in result ? result.error : '',
      /GitHub rate limit \(429\) while looking for the open pull request from lynq\/customers in acme\/manifests/,
    );
    world.fake.once('GET', PULLS, {
      status: 403,
      body: { message: 'You have exceeded a secondary rate limit.', documentation_url: 'https://docs.github.com' },
      headers: { 'retry-after': '3600' },
    });
    const again = await world.syncWith({ sleep: async (ms) => void waits.push(ms), clock: () => now });
    assert.match(
      'error' in again ? again.error : '',
      /GitHub rate limit \(403\) while looking for the open pull request/,
    );
    assert.deepEqual(waits, []);
    assert.equal(exitCodeOf([result, again]), 3);
  });

  test('5xx answers are retried a bounded number of times, then fail naming what was tried', async () => {
    for (let i = 0; i < 4; i++) world.fake.once('POST', PULLS, { status: 502, body: { message: 'Server Error' } });
    const waits: number[] = [];
    const result = await world.syncWith({ sleep: async (ms) => void waits.push(ms) });
    assert.equal(result.outcome, 'pull-request-failed');
    assert.match(
      'error' in result ? result.error : '',
      /GitHub failed \(502\) while opening a pull request from lynq\/customers into main in acme\/manifests, also on every retry/,
    );
    assert.deepEqual(waits, [1000, 2000, 4000], 'three retries (maxRetries default), backing off');
    assert.equal(world.fake.requests.filter((request) => request.method === 'POST').length, 4);
    // The branch went out; the next sync finishes the job without pushing again.
    const gitRequests = world.git.requests.length;
    const next = await world.syncWith({ clock: () => Date.now() + 60_000 });
    assert.equal(exitCodeOf([next]), 0, JSON.stringify(next));
    assert.equal(pushesSince(world.git, gitRequests), 0);
    assert.equal(world.github.pulls.length, 1);
  });

  test('a bad token: exit 3, a clear error naming the repository and the call, and the token is in no output or log', async () => {
    const wrong = `ghp_wrong${'x'.repeat(24)}`;
    world.env.LYNQ_TEST_GITHUB_TOKEN = wrong;
    const result = await world.sync();
    assert.equal(result.code, 3, result.out);
    assert.match(
      result.out,
      /customers: pull-request-failed: GitHub refused the credentials \(401\) while looking for the open pull request from lynq\/customers in acme\/manifests: Bad credentials; check spec\.publish\.platform\.token/,
    );
    assert.ok(!result.out.includes(wrong) && !result.err.includes(wrong));

    // The same through a debug logger: every line the sync logs, with the token registered by the wiring.
    let logged = '';
    const destination = new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        logged += chunk.toString();
        callback();
      },
    });
    const secrets = new SecretRegistry();
    const logger = createLogger({ destination, registry: secrets, level: 'debug' });
    const again = await world.syncWith({ logger, secrets });
    assert.equal(again.outcome, 'pull-request-failed');
    assert.match(logged, /pull request failed/);
    assert.ok(!logged.includes(wrong), 'the wrong token is not logged');
    assert.ok(!logged.includes(world.gitToken), 'the git token is not logged');
    assert.ok(world.fake.requests.every((request) => request.status === 401));
  });

  test('a crash between pushing the branch and opening the pull request is finished by the next sync', async () => {
    const crash = (forge: PullRequestClient): PullRequestClient =>
      Object.assign(Object.create(forge) as PullRequestClient, {
        ensurePullRequest: () => {
          throw new Error('simulated crash: the process died here');
        },
      });
    await assert.rejects(
      world.syncWith({ wrap: (deps) => ({ ...deps, openForge: async (hub) => crash(await deps.openForge!(hub)) }) }),
      /simulated crash/,
    );
    const tip = await revParse(world.bare, BRANCH);
    assert.ok(tip !== undefined, 'the branch was pushed');
    assert.equal(world.github.pulls.length, 0, 'no pull request yet');

    const gitRequests = world.git.requests.length;
    // A minute later, so a rebuilt commit would differ from the pushed one (and a push would show).
    const result = await world.syncWith({ clock: () => Date.now() + 60_000 });
    assert.ok('proposal' in result && result.proposal?.outcome === 'created', JSON.stringify(result));
    assert.equal(pushesSince(world.git, gitRequests), 0, 'the branch already had this content: no push');
    assert.equal(await revParse(world.bare, BRANCH), tip);
    assert.equal(world.github.pull(1).headSha, tip);
  });

  test('a pull request closed by a person without merging is not opened again for the same changes', async () => {
    await world.sync();
    world.github.pull(1).state = 'closed';
    const from = world.fake.requests.length;
    const result = await world.sync();
    assert.equal(result.code, 0, result.out);
    assert.match(
      result.out,
      /pull request #1 proposing exactly these changes was closed without merging; they are not proposed again until they change/,
    );
    assert.deepEqual(world.fake.writes(from), []);
    await db.exec(`UPDATE customers SET plan = 'platinum' WHERE id = 'acme'`);
    const changed = await world.sync();
    assert.match(changed.out, /#2 created/, 'new content: a new pull request');
  });
});
