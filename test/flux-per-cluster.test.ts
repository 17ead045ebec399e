import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { validateManifest } from '../src/config/k8s-schema.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { logMessages, makeBareRepo, readTree } from './helpers/git.ts';

// One Flux per cluster (spec.gitops.flux.layout: per-cluster): each node's Kustomization in
// its cluster's path, no kubeConfig; lynq bootstrap prints one root per cluster. Through
// `lynq sync` against PostgreSQL, into a real bare repository.

const CLUSTERS = `    clusters:
      - name: eu-1
      - name: us-1
    defaultCluster: eu-1
`;

function hubFile(database: string, layout: 'per-cluster' | 'management' | undefined): string {
  const flux = layout === undefined ? '' : `    flux:\n      layout: ${layout}\n`;
  const spec = `  gitops:\n    engine: flux\n${flux}${CLUSTERS}`;
  return hubYaml({ database, port: 5432, connectTimeoutSeconds: 3, extra: { plan: 'plan' }, spec }).replace(
    '    activate: active\n',
    '    activate: active\n    cluster: region\n',
  );
}

const FORM = formYaml(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
`);

type Obj = {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
};
const docsOf = (text: string) => parseAllDocuments(text).map((doc) => doc.toJS() as Obj);

describe('one Flux per cluster (spec.gitops.flux.layout: per-cluster), through lynq sync against PostgreSQL', () => {
  let db: TestDatabase;
  let remote: Awaited<ReturnType<typeof makeBareRepo>>;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  let env: NodeJS.ProcessEnv;
  const sync = (...extra: string[]) =>
    lynq(['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir, ...extra], env);
  const writeHub = (text: string) => writeFile(path.join(files.dir, 'hubs/customers.yaml'), text);
  const appsFiles = async () =>
    [...(await readTree(remote.dir, 'main')).keys()].filter((file) => file.startsWith('apps/')).sort();

  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.exec(`DROP TABLE IF EXISTS customers;
      CREATE TABLE customers (id text, active boolean, plan text, region text);
      INSERT INTO customers VALUES ('acme', true, 'gold', 'eu-1'), ('globex', true, 'silver', 'us-1'), ('initech', true, 'bronze', NULL);`);
    remote = await makeBareRepo();
    files = await tempFiles({ 'hubs/customers.yaml': '', 'forms/web.yaml': FORM });
    env = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
  });
  afterEach(async () => {
    await remote.cleanup();
    await files.cleanup();
  });

  test("each node's Kustomization goes to its cluster's path, without kubeConfig; a move and a removal leave no file behind", async () => {
    await writeHub(hubFile(db.name, 'per-cluster'));
    const first = await sync();
    assert.equal(first.code, 0, first.err + first.out);
    assert.deepEqual(await appsFiles(), [
      'apps/customers/eu-1/web/acme.yaml',
      'apps/customers/eu-1/web/initech.yaml',
      'apps/customers/us-1/web/globex.yaml',
    ]);
    const [kustomization] = docsOf((await readTree(remote.dir, 'main')).get('apps/customers/us-1/web/globex.yaml')!);
    assert.equal(kustomization!.metadata.name, 'customers-web-globex-us-1');
    assert.equal(kustomization!.spec.path, './nodes/customers/web/globex');
    assert.equal(kustomization!.spec.kubeConfig, undefined, "the cluster's own Flux applies it where it runs");
    assert.equal(validateManifest(kustomization as unknown as Record<string, unknown>), undefined);

    await db.exec(
      `UPDATE customers SET region = 'us-1' WHERE id = 'acme'; UPDATE customers SET active = false WHERE id = 'initech'`,
    );
    const moved = await sync('--allow-deletions');
    assert.equal(moved.code, 0, moved.err + moved.out);
    assert.deepEqual(await appsFiles(), ['apps/customers/us-1/web/acme.yaml', 'apps/customers/us-1/web/globex.yaml']);
    assert.equal(
      docsOf((await readTree(remote.dir, 'main')).get('apps/customers/us-1/web/acme.yaml')!)[0]!.metadata.name,
      'customers-web-acme-us-1',
    );
    const [message] = await logMessages(remote.dir, 'main');
    assert.match(
      message!,
      /^web\/acme: updated \(columns changed: cluster; moved from cluster eu-1 to us-1: its Flux Kustomizations in cluster eu-1 removed\)/m,
    );
    assert.match(message!, /^web\/initech: removed \(row deactivated\)/m);

    // lynq history follows the node's file in each cluster's path.
    const history = await lynq(
      [
        'history',
        'customers/web/acme',
        '--hubs',
        `${files.dir}/hubs`,
        '--forms',
        `${files.dir}/forms`,
        '--repo',
        remote.dir,
        '--patch',
      ],
      env,
    );
    assert.equal(history.code, 0, history.err);
    assert.match(history.out, /apps\/customers\/eu-1\/web\/acme\.yaml/);
    assert.match(history.out, /apps\/customers\/us-1\/web\/acme\.yaml/);

    // And nothing more to do: the moved file is found where it now is.
    const again = await sync();
    assert.equal(again.code, 0, again.err + again.out);
    assert.match(again.out, /customers\s+0\s+0\s+2\s+0\s+0\s+0\s+no changes/);
  });

  test('the default layout stays the management one; switching moves every file to its cluster path in one commit', async () => {
    await writeHub(hubFile(db.name, undefined));
    assert.equal((await sync()).code, 0);
    assert.deepEqual(await appsFiles(), [
      'apps/customers/web/acme.yaml',
      'apps/customers/web/globex.yaml',
      'apps/customers/web/initech.yaml',
    ]);
    assert.deepEqual(
      docsOf((await readTree(remote.dir, 'main')).get('apps/customers/web/globex.yaml')!)[0]!.spec.kubeConfig,
      { secretRef: { name: 'us-1-kubeconfig' } },
    );
    await writeHub(hubFile(db.name, 'management'));
    const same = await sync();
    assert.match(
      same.out,
      /customers\s+0\s+0\s+3\s+0\s+0\s+0\s+no changes/,
      'layout: management is the default: no change',
    );

    // Every node leaves the management cluster's Flux: removals there, which the deletion guard holds.
    await writeHub(hubFile(db.name, 'per-cluster'));
    const held = await sync();
    assert.equal(held.code, 1, held.err + held.out);
    assert.match(
      held.out,
      /acme: held \(moved to cluster eu-1's own Flux \(flux\.layout per-cluster\): its Flux Kustomizations in the management cluster removed/,
    );
    const switched = await sync('--allow-deletions');
    assert.equal(switched.code, 0, switched.err + switched.out);
    assert.match(switched.out, /customers\s+0\s+3\s+0\s+0\s+0\s+0\s+[0-9a-f]{12}/);
    assert.deepEqual(await appsFiles(), [
      'apps/customers/eu-1/web/acme.yaml',
      'apps/customers/eu-1/web/initech.yaml',
      'apps/customers/us-1/web/globex.yaml',
    ]);
    assert.match(
      (await logMessages(remote.dir, 'main'))[0]!,
      /^web\/acme: updated \(hub customers settings changed; moved to cluster eu-1's own Flux/m,
    );
  });
});

describe('lynq bootstrap and lynq validate with one Flux per cluster', () => {
  const hub = (gitops: string) =>
    hubYaml({
      name: 'shops',
      spec: `  publish:\n    repo: https://git.example.com/manifests.git\n  gitops:\n${gitops}`,
    }).replace('    activate: active\n', '    activate: active\n    cluster: region\n');
  const form = formYaml(
    '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-{{ cluster }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n',
    { hubId: 'shops' },
  );

  test('bootstrap prints one root Kustomization per cluster, or only the one --cluster names', async () => {
    const perCluster = `    engine: flux\n    flux:\n      layout: per-cluster\n      gitRepository: {}\n${CLUSTERS}`;
    const files = await tempFiles({ 'hubs/a.yaml': hub(perCluster), 'forms/web.yaml': form });
    const dirs = ['--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`];
    try {
      const all = await lynq(['bootstrap', ...dirs]);
      assert.equal(all.code, 0, all.err);
      const objects = docsOf(all.out);
      const roots = objects.filter((object) => object.kind === 'Kustomization');
      assert.deepEqual(
        roots.map((root) => [
          root.metadata.name,
          root.spec.path,
          root.spec.prune,
          root.metadata.labels?.['lynq.sh/cluster'],
        ]),
        [
          ['lynq-shops-eu-1', './apps/shops/eu-1', true, 'eu-1'],
          ['lynq-shops-us-1', './apps/shops/us-1', true, 'us-1'],
        ],
      );
      assert.equal(
        objects.filter((object) => object.kind === 'GitRepository').length,
        2,
        "each cluster's Flux reads the repository through its own GitRepository",
      );
      for (const object of objects)
        assert.equal(validateManifest(object as unknown as Record<string, unknown>), undefined);
      assert.match(
        all.out,
        /^# Cluster eu-1: apply in that cluster, where its own Flux runs, e\.g\. `lynq bootstrap --hub shops --cluster eu-1 \| kubectl --context eu-1 apply -f -`;$/m,
      );
      assert.match(all.out, /^# it picks up the node files under apps\/shops\/us-1\/\.$/m);

      const one = await lynq(['bootstrap', ...dirs, '--cluster', 'us-1']);
      assert.equal(one.code, 0, one.err);
      assert.deepEqual(
        docsOf(one.out)
          .filter((object) => object.kind === 'Kustomization')
          .map((root) => root.metadata.name),
        ['lynq-shops-us-1'],
      );
      const unknown = await lynq(['bootstrap', ...dirs, '--cluster', 'mars']);
      assert.equal(unknown.code, 2);
      assert.match(
        unknown.err,
        /--cluster mars: no hub with spec\.gitops\.flux\.layout per-cluster lists that cluster/,
      );
      const named = await lynq(['bootstrap', ...dirs, '--hub', 'shops', '--cluster', 'mars']);
      assert.equal(named.code, 2);
      assert.match(named.err, /--cluster mars is not one of spec\.gitops\.clusters \(eu-1, us-1\)/);

      // One control plane (Argo CD, or Flux's management layout): one parent, and --cluster is refused.
      await writeFile(path.join(files.dir, 'hubs/a.yaml'), hub(`    engine: flux\n${CLUSTERS}`));
      const management = await lynq(['bootstrap', ...dirs]);
      assert.equal([...management.out.matchAll(/^kind: Kustomization$/gm)].length, 1);
      const refused = await lynq(['bootstrap', ...dirs, '--hub', 'shops', '--cluster', 'eu-1']);
      assert.equal(refused.code, 2);
      assert.match(refused.err, /--cluster eu-1: this hub has one control plane/);
    } finally {
      await files.cleanup();
    }
  });

  test('validate names layout per-cluster without clusters at its line', async () => {
    const files = await tempFiles({
      'hubs/a.yaml': hub('    engine: flux\n    flux:\n      layout: per-cluster\n').replace(
        '    cluster: region\n',
        '',
      ),
      'forms/web.yaml': form,
    });
    try {
      const validate = await lynq(['validate', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`]);
      assert.equal(validate.code, 2, validate.out + validate.err);
      assert.match(validate.out + validate.err, /spec\.gitops\.flux\.layout.*per-cluster needs spec\.gitops\.clusters/);
    } finally {
      await files.cleanup();
    }
  });
});
