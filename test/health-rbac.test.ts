import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { validateManifest } from '../src/config/k8s-schema.ts';
import { argoApp, makeHealthWorld, putLynqNodes, type HealthWorld } from './helpers/health-world.ts';
import { startKubeFake, type KubeFake } from './helpers/kube-fake.ts';

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
type Doc = { kind: string; metadata: { name: string; namespace?: string }; rules?: Rule[]; roleRef?: { name: string }; subjects?: Array<{ kind: string; name: string; namespace: string }> };

async function documents(file: string): Promise<Doc[]> {
  return parseAllDocuments(await readFile(file, 'utf8')).map((document) => document.toJS() as Doc);
}

/** Every (namespace, verb, group/resource) the Roles grant. */
function grants(docs: readonly Doc[]): Set<string> {
  const out = new Set<string>();
  for (const doc of docs) {
    if (doc.kind !== 'Role') continue;
    for (const rule of doc.rules ?? [])
      for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) out.add(`${doc.metadata.namespace} ${verb} ${group}/${resource}`);
  }
  return out;
}

/** What a recorded request needs, in RBAC terms. */
function needed(request: { method: string; path: string }): string {
  const match = /^\/apis\/([^/]+)\/[^/]+\/namespaces\/([^/]+)\/([^/]+)(\/[^/]+)?(\/status)?$/.exec(request.path)!;
  const [, group, namespace, plural, name, status] = match;
  const verb = request.method === 'PATCH' ? 'patch' : name === undefined ? 'list' : 'get';
  return `${namespace} ${verb} ${group}/${plural}${status ?? ''}`;
}

let world: HealthWorld;
let fake: KubeFake;

before(async () => {
  world = await makeHealthWorld({
    hub: 'shop',
    gitops: '    engine: argocd\n    refresh: true\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
    form: '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n',
    rows: [
      ['acme', 'gold'],
      ['globex', 'gold'],
    ],
  });
  fake = await startKubeFake();
  await world.writeKubeconfig(fake.kubeconfig());
});
after(async () => {
  await fake?.close();
  await world?.cleanup();
});

test('docker/rbac.yaml grants exactly what the read-back does (rbac-refresh.yaml the nudge), and the CronJob runs as its account', async () => {
  const rbac = await documents('docker/rbac.yaml');
  const refresh = await documents('docker/rbac-refresh.yaml');
  for (const doc of [...rbac, ...refresh]) assert.equal(validateManifest(doc as unknown as Record<string, unknown>), undefined, `${doc.kind} ${doc.metadata.name} validates`);
  assert.deepEqual([...grants(rbac)].sort(), [
    'argocd list argoproj.io/applications',
    'argocd watch argoproj.io/applications',
    'flux-system list kustomize.toolkit.fluxcd.io/kustomizations',
    'flux-system watch kustomize.toolkit.fluxcd.io/kustomizations',
    'tenants get operator.lynq.sh/lynqnodes',
    'tenants get operator.lynq.sh/lynqnodes/status',
    'tenants list operator.lynq.sh/lynqnodes',
    'tenants patch operator.lynq.sh/lynqnodes/status',
  ]);
  assert.deepEqual([...grants(refresh)].sort(), ['argocd patch argoproj.io/applications', 'flux-system patch kustomize.toolkit.fluxcd.io/kustomizations']);
  // Every Role is bound to the bridge's account, and nothing is cluster-wide.
  for (const docs of [rbac, refresh]) {
    const roles = docs.filter((doc) => doc.kind === 'Role').map((doc) => doc.metadata.name);
    const bound = docs.filter((doc) => doc.kind === 'RoleBinding').map((doc) => [doc.roleRef!.name, doc.subjects]);
    assert.deepEqual(
      bound.map(([name]) => name),
      roles,
    );
    for (const [, subjects] of bound) assert.deepEqual(subjects, [{ kind: 'ServiceAccount', name: 'lynq-bridge', namespace: 'lynq' }]);
    assert.ok(!docs.some((doc) => doc.kind.startsWith('Cluster')));
  }
  const cronJob = (await documents('docker/cronjob.yaml')).find((doc) => doc.kind === 'CronJob') as unknown as {
    spec: { jobTemplate: { spec: { template: { spec: { serviceAccountName: string } } } } };
  };
  assert.equal(cronJob.spec.jobTemplate.spec.template.spec.serviceAccountName, 'lynq-bridge');

  // A real sync with read-back, refresh and a 409: every request it makes is granted.
  assert.equal((await world.sync()).code, 0);
  const nodes = await world.lynqNodes();
  putLynqNodes(fake, nodes);
  for (const node of nodes) fake.put('Application', argoApp(node, 'application-healthy-synced-op-succeeded.yaml', await world.head()));
  await world.db.exec("UPDATE customers SET plan = 'silver' WHERE id = 'acme'");
  fake.failNext('PATCH', '/lynqnodes/acme-web/status', 409);
  const synced = await world.sync(['--kubeconfig', world.kubeconfigFile]);
  assert.equal(synced.code, 0, synced.err);
  assert.match(synced.out, /1 engine object\(s\) nudged/);
  const used = new Set(fake.requests.map(needed));
  assert.deepEqual([...used].sort(), [
    'argocd list argoproj.io/applications',
    'argocd patch argoproj.io/applications',
    'tenants get operator.lynq.sh/lynqnodes',
    'tenants list operator.lynq.sh/lynqnodes',
    'tenants patch operator.lynq.sh/lynqnodes/status',
  ]);
  const granted = new Set([...grants(rbac), ...grants(refresh)]);
  for (const need of used) assert.ok(granted.has(need), `${need} is granted`);
  fake.assertClean();
});
