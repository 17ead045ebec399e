import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { commitCount, logMessages, makeBareRepo, readTree } from './helpers/git.ts';

// A cluster per row: spec.valueMappings.cluster names a column, spec.gitops.clusters the
// clusters it may name. Through `lynq sync` against PostgreSQL, into a real bare repository.

const CLUSTERS = `    clusters:
      - name: eu-1
        server: https://eu-1.example.com:6443
      - name: us-1
`;

function hubFile(
  database: string,
  options: { engine: 'argocd' | 'flux'; defaultCluster?: string; maxDeletePercent?: number; mapped?: boolean },
): string {
  const engine =
    options.engine === 'argocd'
      ? '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n'
      : '    engine: flux\n';
  const spec = `  gitops:\n${engine}${options.mapped === false ? '' : CLUSTERS}${options.defaultCluster === undefined ? '' : `    defaultCluster: ${options.defaultCluster}\n`}${
    options.maxDeletePercent === undefined
      ? ''
      : `  deletionGuard:\n    maxDeletePercent: ${options.maxDeletePercent}\n`
  }`;
  const hub = hubYaml({ database, port: 5432, connectTimeoutSeconds: 3, extra: { plan: 'plan' }, spec });
  return options.mapped === false
    ? hub
    : hub.replace('    activate: active\n', '    activate: active\n    cluster: region\n');
}

const FORM = formYaml(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
          CLUSTER: "{{ cluster }}"
`);

const FORM_WITHOUT_CLUSTER = formYaml(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
`);

type Obj = { metadata: { name: string }; spec: Record<string, unknown> };

describe('a cluster per row (spec.valueMappings.cluster), through lynq sync against PostgreSQL', () => {
  let db: TestDatabase;
  let remote: Awaited<ReturnType<typeof makeBareRepo>>;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  let env: NodeJS.ProcessEnv;
  const dirs = () => ['--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`];
  const sync = (...extra: string[]) => lynq(['sync', ...dirs(), '--repo', remote.dir, ...extra], env);
  const writeHub = (text: string) => writeFile(path.join(files.dir, 'hubs/customers.yaml'), text);
  const appOf = async (uid: string): Promise<Obj[] | undefined> => {
    const text = (await readTree(remote.dir, 'main')).get(`apps/customers/web/${uid}.yaml`);
    return text === undefined ? undefined : parseAllDocuments(text).map((doc) => doc.toJS() as Obj);
  };
  const lynqNodeOf = async (uid: string) =>
    parse((await readTree(remote.dir, 'main')).get(`nodes/customers/web/${uid}/lynqnode.yaml`)!) as {
      spec: { gitops: { cluster?: string; objects: Array<{ name: string }> } };
    };

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

  test('Argo CD: each Application goes to its row cluster (server when the hub gives one, else the name); an empty column takes the default', async () => {
    await writeHub(hubFile(db.name, { engine: 'argocd', defaultCluster: 'eu-1' }));
    const result = await sync();
    assert.equal(result.code, 0, result.err + result.out);
    const [acme] = (await appOf('acme'))!;
    assert.equal(
      acme!.metadata.name,
      'customers-web-acme-eu-1',
      'the cluster is part of the name: a move makes a new Application',
    );
    assert.deepEqual(acme!.spec.destination, { namespace: 'tenants', server: 'https://eu-1.example.com:6443' });
    const [globex] = (await appOf('globex'))!;
    assert.equal(globex!.metadata.name, 'customers-web-globex-us-1');
    assert.deepEqual(globex!.spec.destination, { name: 'us-1', namespace: 'tenants' });
    const [initech] = (await appOf('initech'))!;
    assert.equal(initech!.metadata.name, 'customers-web-initech-eu-1', 'no value: the default cluster');
    assert.deepEqual(initech!.spec.destination, { namespace: 'tenants', server: 'https://eu-1.example.com:6443' });
    assert.match(
      (await readTree(remote.dir, 'main')).get('nodes/customers/web/initech/settings.yaml')!,
      /CLUSTER: eu-1/,
      'cluster is a template variable, the default filled in',
    );
    const record = await lynqNodeOf('globex');
    assert.equal(record.spec.gitops.cluster, 'us-1');
    assert.deepEqual(
      record.spec.gitops.objects.map((object) => object.name),
      ['customers-web-globex-us-1'],
      'the LynqNode records the name health read-back looks for',
    );
  });

  test('Flux: each Kustomization reaches its row cluster through that cluster kubeconfig Secret', async () => {
    await writeHub(
      hubFile(db.name, { engine: 'flux', defaultCluster: 'us-1' }).replace(
        '      - name: us-1\n',
        '      - name: us-1\n        kubeConfigSecret: us-east-kubeconfig\n',
      ),
    );
    const result = await sync();
    assert.equal(result.code, 0, result.err + result.out);
    const [acme] = (await appOf('acme'))!;
    assert.equal(acme!.metadata.name, 'customers-web-acme-eu-1');
    assert.deepEqual(acme!.spec.kubeConfig, { secretRef: { name: 'eu-1-kubeconfig' } });
    const [globex] = (await appOf('globex'))!;
    assert.deepEqual(globex!.spec.kubeConfig, { secretRef: { name: 'us-east-kubeconfig' } });
    const [initech] = (await appOf('initech'))!;
    assert.equal(initech!.metadata.name, 'customers-web-initech-us-1');
    assert.deepEqual(initech!.spec.kubeConfig, { secretRef: { name: 'us-east-kubeconfig' } });
  });

  test('a row without a cluster and no default, or naming an unknown cluster, fails named; the others sync', async () => {
    await db.exec(`INSERT INTO customers VALUES ('umbrella', true, 'tin', 'mars')`);
    await writeHub(hubFile(db.name, { engine: 'argocd' }));
    const result = await sync();
    assert.equal(result.code, 1, result.err + result.out);
    const text = result.err + result.out;
    assert.match(
      text,
      /hub customers, form web, uid "?initech"?, field spec\.valueMappings\.cluster: the row names no cluster \(its cluster column is empty\) and the hub has no spec\.gitops\.defaultCluster: set the row's cluster to one of eu-1, us-1, or set spec\.gitops\.defaultCluster/,
    );
    assert.match(
      text,
      /hub customers, form web, uid "?umbrella"?, field spec\.valueMappings\.cluster: the row's cluster "mars" is not one of spec\.gitops\.clusters \(eu-1, us-1\): fix the row, or add the cluster to spec\.gitops\.clusters/,
    );
    assert.ok((await appOf('acme')) !== undefined);
    assert.equal(await appOf('initech'), undefined);
  });

  test('a row moving cluster: the old Application goes, the new one comes, the deletion guard counts it, the commit says moved', async () => {
    await writeHub(hubFile(db.name, { engine: 'argocd', defaultCluster: 'eu-1', maxDeletePercent: 10 }));
    assert.equal((await sync()).code, 0);
    await db.exec(`UPDATE customers SET region = 'us-1' WHERE id = 'acme'`);
    const held = await sync();
    assert.equal(held.code, 1, held.err + held.out);
    assert.match(
      held.out,
      /customers\/web\/acme: held \(moved from cluster eu-1 to us-1: .*held back by the deletion guard: 1 of 3 nodes would be removed \(limit 10%\)/,
    );
    assert.equal(
      (await appOf('acme'))![0]!.metadata.name,
      'customers-web-acme-eu-1',
      'held: Git keeps the Application in eu-1',
    );
    assert.equal(await commitCount(remote.dir, 'main'), 1);

    const moved = await sync('--allow-deletions');
    assert.equal(moved.code, 0, moved.err + moved.out);
    const [app] = (await appOf('acme'))!;
    assert.equal(
      app!.metadata.name,
      'customers-web-acme-us-1',
      'the old Application (customers-web-acme-eu-1) is gone: the parent prunes it',
    );
    assert.deepEqual(app!.spec.destination, { name: 'us-1', namespace: 'tenants' });
    assert.match((await readTree(remote.dir, 'main')).get('nodes/customers/web/acme/settings.yaml')!, /CLUSTER: us-1/);
    assert.equal((await lynqNodeOf('acme')).spec.gitops.cluster, 'us-1');
    const [message] = await logMessages(remote.dir, 'main');
    assert.match(
      message!,
      /^web\/acme: updated \(columns changed: cluster; moved from cluster eu-1 to us-1: its Argo CD Application in cluster eu-1 removed\) \[settings\]$/m,
    );
    assert.match(moved.out, /moved from cluster eu-1 to us-1/);
  });

  test('Flux: a moved node gets a new Kustomization for the new cluster, the old one goes', async () => {
    await writeHub(hubFile(db.name, { engine: 'flux', defaultCluster: 'eu-1' }));
    assert.equal((await sync()).code, 0);
    await db.exec(`UPDATE customers SET region = 'us-1' WHERE id = 'acme'`);
    const moved = await sync();
    assert.equal(moved.code, 0, moved.err + moved.out);
    const [kustomization] = (await appOf('acme'))!;
    assert.equal(kustomization!.metadata.name, 'customers-web-acme-us-1');
    assert.deepEqual(kustomization!.spec.kubeConfig, { secretRef: { name: 'us-1-kubeconfig' } });
    assert.match(
      (await logMessages(remote.dir, 'main'))[0]!,
      /moved from cluster eu-1 to us-1: its Flux Kustomizations in cluster eu-1 removed/,
    );
  });

  test('a hub gaining the cluster column moves its nodes off the hub destination, as removals', async () => {
    await writeFile(path.join(files.dir, 'forms/web.yaml'), FORM_WITHOUT_CLUSTER);
    await writeHub(hubFile(db.name, { engine: 'argocd', mapped: false }));
    assert.equal((await sync()).code, 0);
    assert.equal((await appOf('acme'))![0]!.metadata.name, 'customers-web-acme');
    await writeHub(hubFile(db.name, { engine: 'argocd', defaultCluster: 'eu-1' }));
    const held = await sync();
    assert.equal(held.code, 1, held.err + held.out);
    assert.match(
      held.out,
      /acme: held \(moved from the hub's destination to cluster eu-1/,
      'every node moves: the guard holds them all',
    );
    const moved = await sync('--allow-deletions');
    assert.equal(moved.code, 0, moved.err + moved.out);
    assert.equal((await appOf('acme'))![0]!.metadata.name, 'customers-web-acme-eu-1');
  });
});

describe('lynq bootstrap and lynq validate with a cluster per row', () => {
  const hub = (gitops: string, mapping = '    cluster: region\n') =>
    hubYaml({
      name: 'shops',
      spec: `  publish:\n    repo: https://git.example.com/manifests.git\n  gitops:\n${gitops}`,
    }).replace('    activate: active\n', `    activate: active\n${mapping}`);
  const form = formYaml(
    '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-{{ cluster }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n',
    { hubId: 'shops' },
  );

  test('bootstrap prints the one parent of the control plane and what each cluster needs', async () => {
    const files = await tempFiles({
      'hubs/a.yaml': hub(`    engine: argocd\n${CLUSTERS}    defaultCluster: eu-1\n`),
      'forms/web.yaml': form,
    });
    const dirs = ['--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`];
    try {
      const argo = await lynq(['bootstrap', ...dirs]);
      assert.equal(argo.code, 0, argo.err);
      assert.equal(
        argo.out.slice(0, argo.out.indexOf('apiVersion')),
        `# Hub shops (Argo CD): apply once, e.g. \`lynq bootstrap --hub shops | kubectl apply -f -\`;
# it picks up every node file under apps/shops/.
# Its rows name clusters: their Applications, all in this Argo CD, deploy to
#   eu-1: destination.server https://eu-1.example.com:6443 (registered in Argo CD: argocd cluster add CONTEXT)
#   us-1: destination.name us-1 (registered in Argo CD under that name: argocd cluster add CONTEXT --name us-1)
`,
      );
      assert.equal(
        [...argo.out.matchAll(/^kind: Application$/gm)].length,
        1,
        'one app-of-apps: the node Applications carry their destinations',
      );
      assert.match(argo.out, /^    path: apps\/shops$/m);

      await writeFile(path.join(files.dir, 'hubs/a.yaml'), hub(`    engine: flux\n${CLUSTERS}`));
      const flux = await lynq(['bootstrap', ...dirs]);
      assert.equal(flux.code, 0, flux.err);
      assert.match(
        flux.out,
        /^# Its rows name clusters: their Kustomizations, all in this cluster's Flux, apply to\n# {3}eu-1: kubeConfig\.secretRef eu-1-kubeconfig \(a Secret in flux-system holding the cluster's kubeconfig\)\n# {3}us-1: kubeConfig\.secretRef us-1-kubeconfig/m,
      );
      assert.equal([...flux.out.matchAll(/^kind: Kustomization$/gm)].length, 1);
      assert.doesNotMatch(flux.out, /server: https:\/\/eu-1/, "Flux's output names no Argo CD server");
    } finally {
      await files.cleanup();
    }
  });

  test('validate accepts the mapping and names each bad setting at its file and line', async () => {
    const files = await tempFiles({
      'hubs/a.yaml': hub(`    engine: argocd\n${CLUSTERS}    defaultCluster: eu-1\n`),
      'forms/web.yaml': form,
    });
    const validate = () => lynq(['validate', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`]);
    const hubPath = path.join(files.dir, 'hubs/a.yaml');
    const lineOf = (text: string, needle: string) => text.split('\n').findIndex((line) => line.includes(needle)) + 1;
    try {
      const ok = await validate();
      assert.equal(ok.code, 0, ok.err);
      assert.match(ok.out, /^ok: 1 hubs, 1 forms, 1 resources/m);

      const cases: Array<{ text: string; needle: string; message: RegExp }> = [
        {
          text: hub(`    engine: argocd\n${CLUSTERS}    defaultCluster: mars\n`),
          needle: 'defaultCluster',
          message: /field spec\.gitops\.defaultCluster: must be one of spec\.gitops\.clusters \(eu-1, us-1\)/,
        },
        {
          text: hub(`    engine: argocd\n${CLUSTERS.replace('https://eu-1.example.com:6443', 'eu-1.example.com')}`),
          needle: 'server: eu-1',
          message: /field spec\.gitops\.clusters\[0\]\.server: must be the cluster API server URL/,
        },
        {
          text: hub(`    engine: argocd\n${CLUSTERS.replace('name: us-1', 'name: Us_1')}`),
          needle: 'Us_1',
          message: /field spec\.gitops\.clusters\[1\]\.name:/,
        },
        {
          text: hub('    engine: argocd\n'),
          needle: 'gitops:',
          message: /field spec\.gitops\.clusters: is required with valueMappings\.cluster/,
        },
        {
          text: hub(`    engine: argocd\n${CLUSTERS}`, ''),
          needle: 'valueMappings:',
          message: /field spec\.valueMappings\.cluster: is required with spec\.gitops\.clusters/,
        },
      ];
      for (const { text, needle, message } of cases) {
        await writeFile(hubPath, text);
        const bad = await validate();
        assert.equal(bad.code, 2, `${needle}: ${bad.out}`);
        assert.ok(bad.err.includes(`${hubPath}:${lineOf(text, needle)}, `), `${needle} at its line: ${bad.err}`);
        assert.match(bad.err, message);
      }
    } finally {
      await files.cleanup();
    }
  });
});
