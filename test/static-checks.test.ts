import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

// Everything that can be known wrong before a database is read: `lynq validate` reports it
// (every problem at once, exit 2), and `lynq sync` refuses to start on it (exit 2).

const REPO = 'https://github.com/acme/manifests.git';
const TOKEN = '    auth: { token: { env: GITHUB_TOKEN } }\n';

const deployment = (extra = '', list = 'deployments', kind = 'Deployment', apiVersion = 'apps/v1') => `  ${list}:
    - id: app
      nameTemplate: "{{ uid }}-app"
      spec:
        apiVersion: ${apiVersion}
        kind: ${kind}
        spec:
          replicas: "{{ replicas | int }}"
${extra}          template:
            metadata: { labels: { app: "{{ uid }}" } }
            spec:
              containers: [{ name: app, image: "nginx:{{ plan }}" }]
`;
const SELECTOR = '          selector: { matchLabels: { app: "{{ uid }}" } }\n';
const HUB = hubYaml({ extra: { plan: 'plan', replicas: 'replicas' }, spec: `  publish:\n    repo: ${REPO}\n` });

async function validate(
  files: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const dir = await tempFiles(files);
  try {
    return await lynq(['validate', '--hubs', `${dir.dir}/hubs`, '--forms', `${dir.dir}/forms`, ...args]);
  } finally {
    await dir.cleanup();
  }
}

const formOnly = (lists: string) => validate({ 'hubs/customers.yaml': HUB, 'forms/web.yaml': formYaml(lists) });

describe('lynq validate: forms, as written', () => {
  test('a valid form with templated fields passes (templates are judged per row, not here)', async () => {
    const result = await formOnly(deployment(SELECTOR));
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /^ok: 1 hubs, 1 forms, 1 resources$/m);
  });

  test('a Deployment without selector fails on the static parts, with the field and its line', async () => {
    const result = await formOnly(deployment());
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /^lynq: .*web\.yaml:13, form web, field spec\.deployments\[0\]\.spec\.spec\.selector: is required \(Deployment schema\)$/m,
    );
    assert.doesNotMatch(result.err, /replicas/, 'a templated leaf is not judged before its row');
  });

  test('a deployments entry that is a StatefulSet', async () => {
    const result = await formOnly(deployment(SELECTOR, 'deployments', 'StatefulSet'));
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /field spec\.deployments\[0\]\.spec\.kind: is in the deployments list, so its kind must be Deployment, not StatefulSet \(a StatefulSet goes in statefulSets\)/,
    );
  });

  test('a misspelt kind, and a misspelt apiVersion', async () => {
    const kind = await formOnly(deployment(SELECTOR, 'manifests', 'Deploymnet'));
    assert.equal(kind.code, 2);
    assert.match(
      kind.err,
      /field spec\.manifests\[0\]\.spec\.kind: Deploymnet is not a kind of apps\/v1 in the Kubernetes OpenAPI schema: did you mean Deployment\?/,
    );
    const apiVersion = await formOnly(deployment(SELECTOR, 'deployments', 'Deployment', 'app/v1'));
    assert.equal(apiVersion.code, 2);
    assert.match(apiVersion.err, /field spec\.deployments\[0\]\.spec\.apiVersion: Deployment is apps\/v1, not app\/v1/);
  });

  test('a manifest with neither metadata.name nor nameTemplate', async () => {
    const result = await formOnly(
      '  configMaps:\n    - id: settings\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n',
    );
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /web\.yaml:8, form web, field spec\.configMaps\[0\]: the manifest has no name: set nameTemplate or spec\.metadata\.name/,
    );
  });

  test('a plaintext Secret', async () => {
    const result = await formOnly(
      '  secrets:\n    - id: creds\n      nameTemplate: "{{ uid }}"\n      spec:\n        apiVersion: v1\n        kind: Secret\n        stringData:\n          password: hunter2\n',
    );
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /field spec\.secrets\[0\]\.spec\.stringData: is a Secret with plaintext data or stringData.*ExternalSecret/,
    );
  });

  test('every problem at once, across files', async () => {
    const result = await validate({
      'hubs/customers.yaml': HUB,
      'forms/web.yaml': formYaml(deployment()),
      'forms/other.yaml': formYaml(deployment(SELECTOR, 'deployments', 'StatefulSet'), { name: 'other' }),
    });
    assert.equal(result.code, 2);
    assert.match(result.err, /web\.yaml.*selector: is required/);
    assert.match(result.err, /other\.yaml.*not StatefulSet/);
  });
});

describe('lynq validate: hubs, as a sync needs them', () => {
  const check = (spec: string, ...args: string[]) =>
    validate(
      {
        'hubs/customers.yaml': hubYaml({ extra: { plan: 'plan', replicas: 'replicas' }, spec }),
        'forms/web.yaml': formYaml(deployment(SELECTOR)),
      },
      ...args,
    );

  test('a missing publish.repo is an error, as it is for sync and history (below), unless --repo gives one', async () => {
    const result = await check('');
    assert.equal(result.code, 2, result.out);
    assert.match(
      result.err,
      /customers\.yaml:\d+, hub customers, field spec\.publish: spec\.publish\.repo is required: .*or pass --repo$/m,
    );
    const given = await check('', '--repo', REPO);
    assert.equal(given.code, 0, given.err);
  });

  test('a root outside the repository', async () => {
    const result = await check(`  publish:\n    repo: ${REPO}\n    root: ../elsewhere\n`);
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /customers\.yaml:\d+, hub customers, field spec\.publish\.root: root "\.\.\/elsewhere" must be a folder inside the repository/,
    );
  });

  test('pull requests with a local repository, or without credentials', async () => {
    const local = await check(`  publish:\n    repo: ../manifests.git\n    mode: pull-request\n${TOKEN}`);
    assert.equal(local.code, 2);
    assert.match(
      local.err,
      /field spec\.publish\.repo: pull requests need the manifests repository as a URL on the forge \(https or ssh\); spec\.publish\.repo is the local path "\.\.\/manifests\.git"/,
    );
    const anonymous = await check(`  publish:\n    repo: ${REPO}\n    routing: { removed: pull-request }\n`);
    assert.equal(anonymous.code, 2);
    assert.match(
      anonymous.err,
      /pull requests need GitHub credentials: spec\.publish\.platform\.token, spec\.publish\.platform\.app, or spec\.publish\.auth\.token/,
    );
    assert.equal(
      (await check(`  publish:\n    repo: ${REPO}\n    mode: pull-request\n${TOKEN}`, '--files-only')).code,
      0,
    );
  });

  test('the default bot branch lynq/<hub> may not be the target branch', async () => {
    const result = await check(
      `  publish:\n    repo: ${REPO}\n    branch: lynq/customers\n    mode: pull-request\n${TOKEN}`,
    );
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      /field spec\.publish\.branch: the pull-request branch lynq\/customers \(the default, lynq\/<hub>\) is the target branch/,
    );
  });
});

describe('lynq sync refuses a hub that cannot publish before it reads the database', () => {
  let files: Awaited<ReturnType<typeof tempFiles>>;
  before(async () => {
    // Port 1: nothing answers there, so reaching the database would be a different error (exit 3).
    files = await tempFiles({
      'hubs/customers.yaml': hubYaml({ port: 1, extra: { plan: 'plan', replicas: 'replicas' } }),
      'forms/web.yaml': formYaml(deployment(SELECTOR)),
    });
  });
  after(() => files.cleanup());

  test('no publish.repo: exit 2, not 3', async () => {
    const result = await lynq(['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`]);
    assert.equal(result.code, 2, result.err + result.out);
    assert.match(result.err, /spec\.publish\.repo is required/);
    assert.equal(result.out, '');
  });
});
