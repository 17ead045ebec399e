import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { TestDatabase } from './helpers/db.ts';
import { pushesSince, useWorld, worldHubYaml, type World } from './helpers/forge-world.ts';
import { installation } from './helpers/github-objects.ts';
import { revParse } from './helpers/git.ts';

const APP_ID = '4242';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

/**
 * Git borrows its token from the hub's credential provider, not from the pull-request
 * client: these hubs give git no credentials of its own, and the token-protected git
 * server accepts only the token the GitHub side holds (a PAT), or mints (an App).
 */
describe('credentials shared by the GitHub API and git', () => {
  let db: TestDatabase;
  let world: World;

  useWorld('mode: pull-request', (current) => ({ db, world } = current));

  const rewrite = (platform: string) =>
    writeFile(
      path.join(world.dir, 'hubs', 'customers.yaml'),
      worldHubYaml(
        { database: db.name, repoUrl: world.repoUrl },
        `platform:\n  apiUrl: ${world.fake.url}\n  writeIntervalMs: 0\n${platform}\nmode: pull-request`,
      ),
    );

  const mintGitToken = () => {
    world.fake.trustApp(APP_ID, PUBLIC_PEM);
    world.fake.tokens.clear();
    world.env.LYNQ_TEST_APP_KEY = PRIVATE_PEM;
    world.fake.on('GET', '/repos/{owner}/{repo}/installation', () => ({
      status: 200,
      body: installation(77, 'acme', Number(APP_ID)),
    }));
    // The installation token GitHub mints is the one the git server accepts, as github.com would.
    world.fake.on('POST', '/app/installations/{installation_id}/access_tokens', () => {
      world.fake.tokens.add(world.gitToken);
      return {
        status: 201,
        body: { token: world.gitToken, expires_at: new Date(Date.now() + 3600_000).toISOString() },
      };
    });
  };

  test('one personal access token serves the API and git: git borrows it through the provider', async () => {
    world.fake.tokens.clear();
    world.fake.tokens.add(world.gitToken);
    await rewrite('  token: { env: LYNQ_TEST_GIT_TOKEN }');
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /#1 created/);
    assert.ok(
      (await revParse(world.bare, 'lynq/customers')) !== undefined,
      'git pushed the branch with the borrowed token',
    );
    assert.ok(world.fake.requests.every((request) => request.authorization === `token ${world.gitToken}`));
  });

  test('a GitHub App: one installation token, minted once, serves the API and git; never logged', async () => {
    mintGitToken();
    await rewrite(`  app:\n    appId: ${APP_ID}\n    privateKey: { env: LYNQ_TEST_APP_KEY }`);
    const result = await world.sync();
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /#1 created/);
    const calls = world.fake.requests.map(
      (request) => `${request.method} ${request.template} ${request.authorization?.split(' ')[0]}`,
    );
    assert.deepEqual(calls.slice(0, 2), [
      'GET /repos/{owner}/{repo}/installation bearer',
      'POST /app/installations/{installation_id}/access_tokens bearer',
    ]);
    assert.equal(
      calls.filter((call) => call.includes('access_tokens')).length,
      1,
      'git and the API share the cached token',
    );
    assert.ok(calls.slice(2).every((call) => call.endsWith(' token')));
    assert.ok(!result.out.includes(world.gitToken) && !result.err.includes(world.gitToken));
  });

  test('a dry run with a GitHub App reads with the minted token and writes nothing to the repository', async () => {
    mintGitToken();
    await rewrite(`  app:\n    appId: ${APP_ID}\n    privateKey: { env: LYNQ_TEST_APP_KEY }`);
    const gitRequests = world.git.requests.length;
    const result = await world.sync('--dry-run');
    assert.equal(result.code, 0, result.out + result.err);
    assert.match(result.out, /dry run: would open a pull request from lynq\/customers into main in acme\/manifests/);
    assert.deepEqual(
      world.fake.writes().map((request) => `${request.method} ${request.template}`),
      ['POST /app/installations/{installation_id}/access_tokens'],
      'minting the token is the only request that is not a read',
    );
    assert.equal(pushesSince(world.git, gitRequests), 0);
  });
});
