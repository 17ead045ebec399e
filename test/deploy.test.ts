import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseForm, parseHub } from '../src/config/load.ts';
import { validateManifest } from '../src/config/k8s-schema.ts';

const run = promisify(execFile);

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: unknown };
type Container = {
  args: string[];
  env: Array<{ name: string; value: string }>;
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  volumeMounts: Array<{ name: string; mountPath: string; subPath?: string }>;
};
type PodSpec = {
  serviceAccountName: string;
  securityContext: { runAsNonRoot: boolean; runAsUser: number };
  containers: Container[];
  volumes: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string }; emptyDir?: object; persistentVolumeClaim?: { claimName: string } }>;
};

async function kustomize(dir: string): Promise<Doc[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((document) => document.toJS() as Doc);
}

const one = (docs: Doc[], kind: string): Doc => {
  const found = docs.filter((doc) => doc.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

/** The pod of a Deployment or CronJob: non-root, read-only root, config as folders, the cache writable, every mount backed by a volume. */
function checkPod(pod: PodSpec, docs: Doc[]): Container {
  const container = pod.containers[0]!;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory, 'resources set');
  assert.equal(pod.serviceAccountName, one(docs, 'ServiceAccount').metadata.name);
  for (const mount of container.volumeMounts) {
    assert.equal(mount.subPath, undefined, `${mount.mountPath} is a whole volume (a subPath mount never sees ConfigMap updates)`);
    assert.ok(
      pod.volumes.some((volume) => volume.name === mount.name),
      `volume ${mount.name} exists`,
    );
  }
  const env = new Map(container.env.map((item) => [item.name, item.value]));
  const cache = container.volumeMounts.find((mount) => mount.mountPath === env.get('LYNQ_CACHE_DIR'));
  assert.ok(cache !== undefined, 'the cache folder is a volume (the root filesystem is read-only)');
  assert.ok(
    container.volumeMounts.some((mount) => mount.mountPath === '/tmp'),
    '/tmp is writable',
  );
  // Hubs and forms: the folders given on the command line are ConfigMaps generated from real hub and form files.
  for (const [flag, kind] of [
    ['--hubs', 'hubs'],
    ['--forms', 'forms'],
  ] as const) {
    const dir = container.args[container.args.indexOf(flag) + 1];
    const mount = container.volumeMounts.find((item) => item.mountPath === dir);
    const configMapName = pod.volumes.find((volume) => volume.name === mount?.name)?.configMap?.name;
    const configMap = docs.find((doc) => doc.kind === 'ConfigMap' && doc.metadata.name === configMapName) as (Doc & { data: Record<string, string> }) | undefined;
    assert.ok(configMap !== undefined, `${flag} ${dir} is the ConfigMap ${configMapName}`);
    for (const [file, text] of Object.entries(configMap.data)) (kind === 'hubs' ? parseHub : parseForm)(`${dir}/${file}`, text);
  }
  const secrets = container.volumeMounts.find((mount) => mount.mountPath.startsWith(`${env.get('LYNQ_SECRETS_DIR')}/`));
  const secretName = pod.volumes.find((volume) => volume.name === secrets?.name)?.secret?.secretName;
  assert.equal(secrets?.mountPath, `${env.get('LYNQ_SECRETS_DIR')}/${secretName}`, 'the Secret sits where passwordRef { name, key } looks');
  return container;
}

describe('deploy/ (kustomize)', () => {
  for (const dir of ['deploy/base', 'deploy/cronjob', 'deploy/overlays/argocd', 'deploy/overlays/flux']) {
    test(`kubectl kustomize ${dir}: every object validates against the Kubernetes schemas`, async () => {
      const docs = await kustomize(dir);
      assert.ok(docs.length >= 6);
      for (const doc of docs) assert.equal(validateManifest(doc), undefined, `${doc.kind} ${doc.metadata.name}: ${JSON.stringify(validateManifest(doc))}`);
    });
  }

  test('the Deployment runs lynq serve with probes on /healthz and /readyz, and the Service exposes /metrics', async () => {
    const docs = await kustomize('deploy/base');
    const deployment = one(docs, 'Deployment') as Doc & { spec: { template: { spec: PodSpec } } };
    const container = checkPod(deployment.spec.template.spec, docs);
    assert.equal(container.args[0], 'serve');
    const listen = container.args[container.args.indexOf('--listen') + 1]!;
    const port = container.ports!.find((item) => item.name === 'http')!;
    assert.equal(Number(listen.split(':')[1]), port.containerPort, 'the probes reach the port serve listens on');
    assert.deepEqual(container.livenessProbe!.httpGet, { path: '/healthz', port: 'http' });
    assert.deepEqual(container.readinessProbe!.httpGet, { path: '/readyz', port: 'http' });
    const grace = Number(container.args[container.args.indexOf('--grace') + 1]);
    assert.ok((deployment.spec.template.spec as unknown as { terminationGracePeriodSeconds: number }).terminationGracePeriodSeconds > grace, 'Kubernetes waits longer than serve lets a sync finish');
    const service = one(docs, 'Service') as Doc & { metadata: { annotations: Record<string, string> }; spec: { ports: Array<{ targetPort: string }> } };
    assert.equal(service.metadata.annotations['prometheus.io/path'], '/metrics');
    assert.equal(service.spec.ports[0]!.targetPort, 'http');
  });

  test('the CronJob alternative replaces the Deployment and Service with a CronJob and its cache claim', async () => {
    const docs = await kustomize('deploy/cronjob');
    assert.equal(docs.filter((doc) => doc.kind === 'Deployment' || doc.kind === 'Service').length, 0);
    const cronJob = one(docs, 'CronJob') as Doc & { spec: { concurrencyPolicy: string; jobTemplate: { spec: { activeDeadlineSeconds?: number; template: { spec: PodSpec } } } } };
    assert.equal(cronJob.spec.concurrencyPolicy, 'Forbid');
    // With Forbid, a Job that never ends would stop every later tick: the Job has a deadline.
    assert.ok((cronJob.spec.jobTemplate.spec.activeDeadlineSeconds ?? 0) > 0, 'the Job has an activeDeadlineSeconds');
    const pod = cronJob.spec.jobTemplate.spec.template.spec;
    const container = checkPod(pod, docs);
    assert.equal(container.args[0], 'sync');
    assert.equal(pod.volumes.find((volume) => volume.name === 'cache')?.persistentVolumeClaim?.claimName, one(docs, 'PersistentVolumeClaim').metadata.name);
  });

  for (const [overlay, group, resource] of [
    ['argocd', 'argoproj.io', 'applications'],
    ['flux', 'kustomize.toolkit.fluxcd.io', 'kustomizations'],
  ] as const) {
    test(`the ${overlay} overlay: its engine's objects readable, LynqNodes and their status patchable, all in lynq-system`, async () => {
      const docs = await kustomize(`deploy/overlays/${overlay}`);
      const role = one(docs, 'ClusterRole') as Doc & { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
      const allows = (apiGroup: string, res: string, verb: string) => role.rules.some((rule) => rule.apiGroups.includes(apiGroup) && rule.resources.includes(res) && rule.verbs.includes(verb));
      for (const verb of ['list', 'watch']) assert.ok(allows(group, resource, verb), `${verb} ${resource}.${group}`);
      for (const res of ['lynqnodes', 'lynqnodes/status']) for (const verb of ['get', 'list', 'patch']) assert.ok(allows('operator.lynq.sh', res, verb), `${verb} ${res}`);
      // lynq status run in the pod reads the LynqNode CRD (the clash check): get, on that one name.
      assert.deepEqual(
        role.rules.filter((rule) => rule.apiGroups.includes('apiextensions.k8s.io')),
        [{ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: ['lynqnodes.operator.lynq.sh'], verbs: ['get'] }],
      );
      assert.ok(!role.rules.some((rule) => rule.apiGroups.includes('coordination.k8s.io')), 'no Leases: the lock is on the database');
      assert.ok(!role.rules.some((rule) => rule.verbs.includes('*') || rule.resources.includes('*')), 'no wildcards');
      const binding = one(docs, 'ClusterRoleBinding') as Doc & { subjects: Array<{ name: string; namespace: string }> };
      assert.deepEqual(
        binding.subjects.map((subject) => `${subject.namespace}/${subject.name}`),
        ['lynq-system/lynq-bridge'],
      );
      for (const doc of docs) if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(doc.kind)) assert.equal(doc.metadata.namespace, 'lynq-system', `${doc.kind} ${doc.metadata.name}`);
    });
  }

  test('the image ships only the compiled build and production dependencies', async () => {
    const dockerfile = await readFile('docker/Dockerfile', 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const runtime = stages.at(-1)!;
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    assert.match(runtime, /npm ci --omit=dev --ignore-scripts/);
    assert.match(runtime, /COPY --from=build \S+\/dist \.\/dist/);
    assert.doesNotMatch(runtime, /COPY src|tsx|typescript/);
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { dependencies: Record<string, string>; files: string[] };
    for (const dev of ['tsx', 'typescript', 'esbuild']) assert.equal(pkg.dependencies[dev], undefined, `${dev} is not a runtime dependency`);
    assert.deepEqual(
      pkg.files.filter((file) => file === 'src'),
      [],
      'a packed tarball carries dist/, not the sources',
    );
  });
});
