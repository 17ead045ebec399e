import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { validateManifest } from '../src/config/k8s-schema.ts';
import { argoApp, makeHealthWorld, putLynqNodes, type HealthWorld } from './helpers/health-world.ts';
import { startKubeFake, type KubeFake } from './helpers/kube-fake.ts';

const run = promisify(execFile);

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
type Doc = {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: Rule[];
  roleRef?: { name: string };
  subjects?: Array<{ kind: string; name: string; namespace: string }>;
};

async function documents(file: string): Promise<Doc[]> {
  return parseAllDocuments(await readFile(file, 'utf8')).map((document) => document.toJS() as Doc);
}

/**
 * Every (namespace, verb, group/resource) the Roles grant; a ClusterRole's as namespace
 * `cluster`. A rule with resourceNames grants `group/resource/name` per name, and only that.
 */
function grants(docs: readonly Doc[]): Set<string> {
  const out = new Set<string>();
  for (const doc of docs) {
    if (doc.kind !== 'Role' && doc.kind !== 'ClusterRole') continue;
    const scope = doc.kind === 'ClusterRole' ? 'cluster' : doc.metadata.namespace;
    for (const rule of doc.rules ?? [])
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of rule.verbs)
            for (const name of rule.resourceNames ?? [undefined])
              out.add(`${scope} ${verb} ${group}/${resource}${name === undefined ? '' : `/${name}`}`);
  }
  return out;
}

/** What a recorded request needs, in RBAC terms (a GET of a cluster-scoped object by name: `cluster get group/resource/name`). */
function needed(request: { method: string; path: string }): string {
  const clusterScoped = /^\/apis\/([^/]+)\/[^/]+\/([^/]+)\/([^/]+)$/.exec(request.path);
  if (clusterScoped !== null && request.method === 'GET')
    return `cluster get ${clusterScoped[1]}/${clusterScoped[2]}/${clusterScoped[3]}`;
  const match = /^\/apis\/([^/]+)\/[^/]+\/namespaces\/([^/]+)\/([^/]+)(\/[^/]+)?(\/status)?$/.exec(request.path)!;
  const [, group, namespace, plural, name, status] = match;
  const verb =
    request.method === 'PATCH' ? 'patch' : request.method === 'POST' ? 'create' : name === undefined ? 'list' : 'get';
  return `${namespace} ${verb} ${group}/${plural}${status ?? ''}`;
}

/** Whether a need is granted: exactly, or by a rule for every name of that resource. */
function isGranted(granted: ReadonlySet<string>, need: string): boolean {
  return granted.has(need) || (need.startsWith('cluster get ') && granted.has(need.slice(0, need.lastIndexOf('/'))));
}

let world: HealthWorld;
let fake: KubeFake;

before(async () => {
  world = await makeHealthWorld({
    hub: 'shop',
    gitops:
      '    engine: argocd\n    refresh: true\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
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

test('deploy/rbac-namespaced/rbac.yaml grants exactly what the read-back does (rbac-refresh.yaml the nudge), and the CronJob runs as its account', async () => {
  const rbac = await documents('deploy/rbac-namespaced/rbac.yaml');
  const refresh = await documents('deploy/rbac-namespaced/rbac-refresh.yaml');
  for (const doc of [...rbac, ...refresh])
    assert.equal(
      validateManifest(doc as unknown as Record<string, unknown>),
      undefined,
      `${doc.kind} ${doc.metadata.name} validates`,
    );
  assert.deepEqual([...grants(rbac)].sort(), [
    'argocd list argoproj.io/applications',
    'argocd watch argoproj.io/applications',
    'flux-system list kustomize.toolkit.fluxcd.io/kustomizations',
    'flux-system watch kustomize.toolkit.fluxcd.io/kustomizations',
    'tenants create events.k8s.io/events',
    'tenants get events.k8s.io/events',
    'tenants get operator.lynq.sh/lynqnodes',
    'tenants get operator.lynq.sh/lynqnodes/status',
    'tenants list operator.lynq.sh/lynqnodes',
    'tenants patch events.k8s.io/events',
    'tenants patch operator.lynq.sh/lynqnodes/status',
  ]);
  assert.deepEqual([...grants(refresh)].sort(), [
    'argocd patch argoproj.io/applications',
    'flux-system patch kustomize.toolkit.fluxcd.io/kustomizations',
  ]);
  // Every Role is bound to the bridge's account, and nothing is cluster-wide.
  for (const docs of [rbac, refresh]) {
    const roles = docs.filter((doc) => doc.kind === 'Role').map((doc) => doc.metadata.name);
    const bound = docs.filter((doc) => doc.kind === 'RoleBinding').map((doc) => [doc.roleRef!.name, doc.subjects]);
    assert.deepEqual(
      bound.map(([name]) => name),
      roles,
    );
    for (const [, subjects] of bound)
      assert.deepEqual(subjects, [{ kind: 'ServiceAccount', name: 'lynq-bridge', namespace: 'lynq-system' }]);
    assert.ok(!docs.some((doc) => doc.kind.startsWith('Cluster')));
  }
  // deploy/'s CronJob runs as that account, in the namespace the bindings name.
  const built = (await run('kubectl', ['kustomize', 'deploy/overlays/argocd-cronjob'], { maxBuffer: 16 * 1024 * 1024 }))
    .stdout;
  const cronJob = parseAllDocuments(built)
    .map((document) => document.toJS() as Doc)
    .find((doc) => doc.kind === 'CronJob') as unknown as Doc & {
    spec: { jobTemplate: { spec: { template: { spec: { serviceAccountName: string } } } } };
  };
  assert.equal(cronJob.spec.jobTemplate.spec.template.spec.serviceAccountName, 'lynq-bridge');
  assert.equal(cronJob.metadata.namespace, 'lynq-system');

  // A real sync with read-back, refresh and a 409: every request it makes is granted.
  assert.equal((await world.sync()).code, 0);
  const nodes = await world.lynqNodes();
  putLynqNodes(fake, nodes);
  for (const node of nodes)
    fake.put('Application', argoApp(node, 'application-healthy-synced-op-succeeded.yaml', await world.head()));
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
  for (const need of used) assert.ok(isGranted(granted, need), `${need} is granted`);
  fake.assertClean();
});

test('deploy/rbac-namespaced/rbac-crd-check.yaml grants exactly the one CRD GET lynq status adds, cluster-wide by necessity and by name only', async () => {
  const rbac = await documents('deploy/rbac-namespaced/rbac.yaml');
  const crdCheck = await documents('deploy/rbac-namespaced/rbac-crd-check.yaml');
  for (const doc of crdCheck)
    assert.equal(
      validateManifest(doc as unknown as Record<string, unknown>),
      undefined,
      `${doc.kind} ${doc.metadata.name} validates`,
    );
  // CRDs are cluster-scoped, so a ClusterRole, bound to the bridge's account: get, on the LynqNode CRD's name, nothing else.
  assert.deepEqual(
    [...grants(crdCheck)],
    ['cluster get apiextensions.k8s.io/customresourcedefinitions/lynqnodes.operator.lynq.sh'],
  );
  assert.deepEqual(
    crdCheck.map((doc) => doc.kind),
    ['ClusterRole', 'ClusterRoleBinding'],
  );
  const binding = crdCheck[1]!;
  assert.equal(binding.roleRef!.name, crdCheck[0]!.metadata.name);
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'lynq-bridge', namespace: 'lynq-system' }]);

  // A real lynq status: every request it makes is granted by rbac.yaml and rbac-crd-check.yaml, and the CRD GET by the latter only.
  const from = fake.requests.length;
  const status = await world.status(['--kubeconfig', world.kubeconfigFile]);
  assert.equal(status.code, 0, status.err);
  const used = new Set(fake.requests.slice(from).map(needed));
  assert.deepEqual([...used].sort(), [
    'argocd list argoproj.io/applications',
    'cluster get apiextensions.k8s.io/customresourcedefinitions/lynqnodes.operator.lynq.sh',
    'tenants list operator.lynq.sh/lynqnodes',
  ]);
  const granted = new Set([...grants(rbac), ...grants(crdCheck)]);
  for (const need of used) assert.ok(isGranted(granted, need), `${need} is granted`);
  assert.ok(
    !isGranted(grants(rbac), 'cluster get apiextensions.k8s.io/customresourcedefinitions/lynqnodes.operator.lynq.sh'),
    'rbac.yaml alone does not grant it',
  );
  fake.assertClean();
});

test('spec.gitops.pauseFromLynqNode adds one request, a LIST of the hub LynqNodes, which rbac.yaml grants already', async () => {
  const rbac = await documents('deploy/rbac-namespaced/rbac.yaml');
  const hubFile = path.join(world.dir, 'hubs', 'hub.yaml');
  await writeFile(
    hubFile,
    (await readFile(hubFile, 'utf8')).replace(
      '    engine: argocd\n',
      '    engine: argocd\n    pauseFromLynqNode: true\n',
    ),
  );
  const from = fake.requests.length;
  // A dry run: the sync's own requests, without the read-back's.
  const planned = await world.sync(['--kubeconfig', world.kubeconfigFile, '--dry-run']);
  assert.equal(planned.code, 0, planned.err);
  const used = fake.requests.slice(from).map(needed);
  assert.deepEqual(used, ['tenants list operator.lynq.sh/lynqnodes']);
  for (const need of used) assert.ok(isGranted(grants(rbac), need), `${need} is granted`);
  fake.assertClean();
});
