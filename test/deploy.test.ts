import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
  image: string;
  securityContext: {
    readOnlyRootFilesystem: boolean;
    allowPrivilegeEscalation: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts: Array<{ name: string; mountPath: string; subPath?: string }>;
};
type PodSpec = {
  serviceAccountName: string;
  securityContext: {
    runAsNonRoot: boolean;
    runAsUser: number;
    runAsGroup: number;
    fsGroup: number;
    seccompProfile?: { type: string };
  };
  containers: Container[];
  volumes: Array<{
    name: string;
    configMap?: { name: string };
    secret?: { secretName: string };
    emptyDir?: object;
    persistentVolumeClaim?: { claimName: string };
  }>;
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
  assert.equal(pod.securityContext.seccompProfile?.type, 'RuntimeDefault');
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities?.drop, ['ALL']);
  assert.ok(
    container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory,
    'resources set',
  );
  assert.equal(pod.serviceAccountName, one(docs, 'ServiceAccount').metadata.name);
  for (const mount of container.volumeMounts) {
    assert.equal(
      mount.subPath,
      undefined,
      `${mount.mountPath} is a whole volume (a subPath mount never sees ConfigMap updates)`,
    );
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
    const configMap = docs.find((doc) => doc.kind === 'ConfigMap' && doc.metadata.name === configMapName) as
      | (Doc & { data: Record<string, string> })
      | undefined;
    assert.ok(configMap !== undefined, `${flag} ${dir} is the ConfigMap ${configMapName}`);
    for (const [file, text] of Object.entries(configMap.data))
      (kind === 'hubs' ? parseHub : parseForm)(`${dir}/${file}`, text);
  }
  const secrets = container.volumeMounts.find((mount) => mount.mountPath.startsWith(`${env.get('LYNQ_SECRETS_DIR')}/`));
  const secretName = pod.volumes.find((volume) => volume.name === secrets?.name)?.secret?.secretName;
  assert.equal(
    secrets?.mountPath,
    `${env.get('LYNQ_SECRETS_DIR')}/${secretName}`,
    'the Secret sits where passwordRef { name, key } looks',
  );
  return container;
}

/** Every folder under deploy/ with a kustomization.yaml, by kind: what kubectl kustomize builds, and the components overlays add. */
async function kustomizations(): Promise<{ overlays: string[]; components: string[] }> {
  const overlays: string[] = [];
  const components: string[] = [];
  for (const entry of await readdir('deploy', { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name !== 'kustomization.yaml') continue;
    const dir = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, '');
    const kind = (parseAllDocuments(await readFile(path.join(dir, entry.name), 'utf8'))[0]!.toJS() as { kind: string })
      .kind;
    (kind === 'Component' ? components : overlays).push(dir);
  }
  return { overlays: overlays.sort(), components: components.sort() };
}

/** A component built the way a user adds it: an overlay of `resources`, with it under `components`. */
async function withComponent(resources: string, component: string): Promise<Doc[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-kustomize-'));
  try {
    const relative = (to: string) => path.relative(dir, path.resolve(to));
    await writeFile(
      path.join(dir, 'kustomization.yaml'),
      `resources: [${relative(resources)}]\ncomponents: [${relative(component)}]\n`,
    );
    return await kustomize(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const validates = (docs: Doc[]): void => {
  for (const doc of docs)
    assert.equal(
      validateManifest(doc),
      undefined,
      `${doc.kind} ${doc.metadata.name}: ${JSON.stringify(validateManifest(doc))}`,
    );
};

describe('deploy/ (kustomize)', () => {
  test('kubectl kustomize builds every kustomization under deploy/, and every object validates against its Kubernetes schema', async () => {
    const { overlays, components } = await kustomizations();
    assert.ok(overlays.length >= 4 && components.length >= 3, `${overlays.join(', ')}; ${components.join(', ')}`);
    for (const dir of overlays) {
      const docs = await kustomize(dir);
      assert.ok(docs.length >= 6, dir);
      validates(docs);
    }
    // Each component, in the overlay its comment names (the cronjob component in each engine's overlay).
    for (const component of components) {
      const engine = /refresh-(\w+)/.exec(component)?.[1];
      for (const overlay of engine === undefined
        ? ['deploy/overlays/argocd', 'deploy/overlays/flux']
        : [`deploy/overlays/${engine}`])
        validates(await withComponent(overlay, component));
    }
  });

  test('deploy/monitoring as a component: a ServiceMonitor that selects the Service and scrapes its /metrics port, and the alert rules', async () => {
    // As the overlay's comment says: components: [../../monitoring] in the overlay itself (its namespace then applies).
    const root = await mkdtemp(path.join(os.tmpdir(), 'lynq-monitoring-'));
    let docs: Doc[];
    try {
      await cp('deploy', path.join(root, 'deploy'), { recursive: true });
      const overlay = path.join(root, 'deploy/overlays/argocd/kustomization.yaml');
      await writeFile(overlay, `${await readFile(overlay, 'utf8')}components:\n  - ../../monitoring\n`);
      docs = await kustomize(path.join(root, 'deploy/overlays/argocd'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
    const service = one(docs, 'Service') as Doc & {
      metadata: { labels: Record<string, string> };
      spec: { ports: Array<{ name: string }> };
    };
    const monitor = one(docs, 'ServiceMonitor') as Doc & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
    };
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels))
      assert.equal(service.metadata.labels[key], value, `the ServiceMonitor selects ${key}=${value}`);
    assert.ok(service.spec.ports.some((port) => port.name === monitor.spec.endpoints[0]!.port));
    assert.equal(monitor.spec.endpoints[0]!.path, '/metrics');
    assert.equal(monitor.metadata.namespace, 'lynq-system');
    assert.equal(one(docs, 'PrometheusRule').metadata.namespace, 'lynq-system');
  });

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
    assert.ok(
      (deployment.spec.template.spec as unknown as { terminationGracePeriodSeconds: number })
        .terminationGracePeriodSeconds > grace,
      'Kubernetes waits longer than serve lets a sync finish',
    );
    const service = one(docs, 'Service') as Doc & {
      metadata: { annotations: Record<string, string> };
      spec: { ports: Array<{ targetPort: string }> };
    };
    assert.equal(service.metadata.annotations['prometheus.io/path'], '/metrics');
    assert.equal(service.spec.ports[0]!.targetPort, 'http');
  });

  test('the CronJob alternative replaces the Deployment and Service with a CronJob and its cache claim, and a hung run cannot hold the schedule', async () => {
    const docs = await kustomize('deploy/overlays/argocd-cronjob');
    assert.equal(docs.filter((doc) => doc.kind === 'Deployment' || doc.kind === 'Service').length, 0);
    const cronJob = one(docs, 'CronJob') as Doc & {
      spec: {
        concurrencyPolicy: string;
        jobTemplate: { spec: { activeDeadlineSeconds?: number; backoffLimit: number; template: { spec: PodSpec } } };
      };
    };
    assert.equal(cronJob.spec.concurrencyPolicy, 'Forbid');
    const deadline = cronJob.spec.jobTemplate.spec.activeDeadlineSeconds;
    assert.ok(
      deadline !== undefined && deadline > 60 && deadline <= 3600,
      `activeDeadlineSeconds ${deadline}: longer than a tick, and bounded`,
    );
    const pod = cronJob.spec.jobTemplate.spec.template.spec;
    const container = checkPod(pod, docs);
    assert.equal(container.args[0], 'sync');
    assert.equal(
      pod.volumes.find((volume) => volume.name === 'cache')?.persistentVolumeClaim?.claimName,
      one(docs, 'PersistentVolumeClaim').metadata.name,
    );
  });

  for (const [overlay, group, resource] of [
    ['argocd', 'argoproj.io', 'applications'],
    ['flux', 'kustomize.toolkit.fluxcd.io', 'kustomizations'],
  ] as const) {
    test(`the ${overlay} overlay: its engine's objects readable, LynqNodes and their status patchable, all in lynq-system`, async () => {
      const docs = await kustomize(`deploy/overlays/${overlay}`);
      const role = one(docs, 'ClusterRole') as Doc & {
        rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
      };
      const allows = (apiGroup: string, res: string, verb: string) =>
        role.rules.some(
          (rule) => rule.apiGroups.includes(apiGroup) && rule.resources.includes(res) && rule.verbs.includes(verb),
        );
      for (const verb of ['list', 'watch']) assert.ok(allows(group, resource, verb), `${verb} ${resource}.${group}`);
      for (const res of ['lynqnodes', 'lynqnodes/status'])
        for (const verb of ['get', 'list', 'patch']) assert.ok(allows('operator.lynq.sh', res, verb), `${verb} ${res}`);
      for (const verb of ['create', 'get', 'patch'])
        assert.ok(allows('events.k8s.io', 'events', verb), `${verb} events`);
      // lynq status run in the pod reads the LynqNode CRD (the clash check): get, on that one name.
      assert.deepEqual(
        role.rules.filter((rule) => rule.apiGroups.includes('apiextensions.k8s.io')),
        [
          {
            apiGroups: ['apiextensions.k8s.io'],
            resources: ['customresourcedefinitions'],
            resourceNames: ['lynqnodes.operator.lynq.sh'],
            verbs: ['get'],
          },
        ],
      );
      assert.ok(
        !role.rules.some((rule) => rule.apiGroups.includes('coordination.k8s.io')),
        'no Leases: the lock is on the database',
      );
      assert.ok(!role.rules.some((rule) => rule.verbs.includes('*') || rule.resources.includes('*')), 'no wildcards');
      const binding = one(docs, 'ClusterRoleBinding') as Doc & { subjects: Array<{ name: string; namespace: string }> };
      assert.deepEqual(
        binding.subjects.map((subject) => `${subject.namespace}/${subject.name}`),
        ['lynq-system/lynq-bridge'],
      );
      for (const doc of docs)
        if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(doc.kind))
          assert.equal(doc.metadata.namespace, 'lynq-system', `${doc.kind} ${doc.metadata.name}`);
    });
  }

  test('the manifests and the image agree: the user id, the environment the bridge reads, the cache and HOME folders, the port, the image name', async () => {
    const image = await imageFacts();
    const bridgeReads = await bridgeEnv();
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    const workloads: Array<[string, PodSpec]> = [];
    for (const overlay of ['deploy/overlays/argocd', 'deploy/overlays/flux']) {
      const docs = await withComponent(overlay, 'deploy/components/webhook');
      workloads.push([
        overlay,
        (one(docs, 'Deployment') as Doc & { spec: { template: { spec: PodSpec } } }).spec.template.spec,
      ]);
    }
    const cron = one(await kustomize('deploy/overlays/argocd-cronjob'), 'CronJob') as Doc & {
      spec: { jobTemplate: { spec: { template: { spec: PodSpec } } } };
    };
    workloads.push(['deploy/overlays/argocd-cronjob', cron.spec.jobTemplate.spec.template.spec]);
    for (const [where, pod] of workloads) {
      const container = pod.containers[0]!;
      assert.deepEqual(
        [pod.securityContext.runAsUser, pod.securityContext.runAsGroup, pod.securityContext.fsGroup],
        [image.uid, image.gid, image.gid],
        `${where}: the image's user (USER ${image.uid}:${image.gid})`,
      );
      const env = new Map(container.env.map((item) => [item.name, item.value]));
      for (const name of env.keys())
        assert.ok(bridgeReads.has(name), `${where}: ${name} is read by the bridge (src/, bin/)`);
      assert.equal(
        env.get('LYNQ_CACHE_DIR'),
        image.env.get('LYNQ_CACHE_DIR'),
        `${where}: the cache folder is the image's`,
      );
      assert.equal(env.get('HOME'), image.env.get('HOME'), `${where}: HOME is the image's`);
      for (const folder of [env.get('LYNQ_CACHE_DIR'), env.get('HOME')])
        assert.ok(
          container.volumeMounts.some((mount) => mount.mountPath === folder && !('readOnly' in mount)),
          `${where}: ${folder} is a writable volume`,
        );
      assert.equal(
        env.get('LYNQ_SECRETS_DIR') ?? SECRETS_DIR_DEFAULT,
        SECRETS_DIR_DEFAULT,
        `${where}: the Secret is where the bridge looks by default`,
      );
      const token = env.get('LYNQ_WEBHOOK_TOKEN_FILE');
      if (token !== undefined)
        assert.ok(
          container.volumeMounts.some(
            (mount) =>
              token.startsWith(`${mount.mountPath}/`) &&
              pod.volumes.find((volume) => volume.name === mount.name)?.secret !== undefined,
          ),
          `${where}: the webhook token file is in a mounted Secret`,
        );
      assert.equal(
        container.image,
        `registry.example.com/lynq/lynq-bridge:${pkg.version}`,
        `${where}: the image is named by the overlay's images: at the package version`,
      );
      if (container.ports !== undefined)
        assert.deepEqual(
          container.ports.map((port) => port.containerPort),
          [image.port],
          `${where}: the port the image exposes`,
        );
    }
  });

  test('the kustomization docs/image-and-deploy.md shows builds, validates, and runs the image it names', async () => {
    const page = await readFile('docs/image-and-deploy.md', 'utf8');
    const shown = /```yaml\n(# my-lynq\/kustomization\.yaml[^\n]*\n[\s\S]*?)```/.exec(page)?.[1];
    assert.ok(shown !== undefined, 'the page shows my-lynq/kustomization.yaml');
    const root = await mkdtemp(path.join(os.tmpdir(), 'lynq-docs-kustomize-'));
    try {
      await cp('deploy', path.join(root, 'deploy'), { recursive: true });
      const mine = path.join(root, 'my-lynq');
      await mkdir(path.join(mine, 'hubs'), { recursive: true });
      await mkdir(path.join(mine, 'forms'));
      await cp('deploy/overlays/argocd/namespace.yaml', path.join(mine, 'namespace.yaml'));
      await cp('deploy/base/config/hubs/customers.yaml', path.join(mine, 'hubs/customers.yaml'));
      await cp('deploy/base/config/forms/web.yaml', path.join(mine, 'forms/web.yaml'));
      await writeFile(path.join(mine, 'kustomization.yaml'), shown);
      const docs = await kustomize(mine);
      validates(docs);
      const cronJob = one(docs, 'CronJob') as Doc & {
        metadata: { namespace: string };
        spec: { jobTemplate: { spec: { template: { spec: PodSpec } } } };
      };
      assert.equal(cronJob.metadata.namespace, 'lynq-system');
      assert.match(
        cronJob.spec.jobTemplate.spec.template.spec.containers[0]!.image,
        /^registry\.example\.com\/lynq\/lynq-bridge:\d+\.\d+\.\d+$/,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('the base leaves the image name to the overlays, and the webhook off (serve stops on a token file it cannot read)', async () => {
    const deployment = one(await kustomize('deploy/base'), 'Deployment') as Doc & {
      spec: { template: { spec: PodSpec } };
    };
    const container = deployment.spec.template.spec.containers[0]!;
    assert.equal(container.image, 'lynq-bridge');
    assert.ok(!container.env.some((item) => item.name.startsWith('LYNQ_WEBHOOK_TOKEN')));
  });

  test('the image ships only the compiled build and the packages the bundle leaves to run time', async () => {
    const dockerfile = await readFile('docker/Dockerfile', 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    const runtime = stages.at(-1)!;
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    assert.match(stages[0]!, /scripts\/runtime-modules\.ts \/opt\/runtime/);
    assert.match(runtime, /COPY --from=build \S+\/dist \.\/dist/);
    assert.match(runtime, /COPY --from=build \/opt\/runtime\/node_modules \.\/node_modules/);
    assert.doesNotMatch(runtime, /COPY src|tsx|typescript|npm (ci|install)/);
    // Both stages on the same pinned base: Node's major and a Debian release by name.
    const bases = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((match) => match[1]!);
    assert.ok(
      bases.every((base) => /^node:24\.\d+\.\d+-trixie-slim$/.test(base)),
      bases.join(', '),
    );
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
      files: string[];
    };
    for (const dev of ['tsx', 'typescript', 'esbuild'])
      assert.equal(pkg.dependencies[dev], undefined, `${dev} is not a runtime dependency`);
    assert.deepEqual(
      pkg.files.filter((file) => file === 'src'),
      [],
      'a packed tarball carries dist/, not the sources',
    );
  });
});

const SECRETS_DIR_DEFAULT = '/var/run/secrets/lynq';

/** What docker/Dockerfile's runtime stage gives a container: its user, environment and port. */
async function imageFacts(): Promise<{ uid: number; gid: number; env: Map<string, string>; port: number }> {
  const runtime = (await readFile('docker/Dockerfile', 'utf8')).split(/^FROM /m).at(-1)!;
  const user = /^USER (\d+):(\d+)$/m.exec(runtime);
  assert.ok(user !== null, 'the runtime stage names its user by number (runAsNonRoot can check only a number)');
  const env = new Map<string, string>();
  for (const line of runtime.matchAll(/^ENV (.+)$/gm))
    for (const pair of line[1]!.trim().split(/\s+/)) {
      const [name, value] = pair.split('=');
      env.set(name!, value!);
    }
  return { uid: Number(user[1]), gid: Number(user[2]), env, port: Number(/^EXPOSE (\d+)$/m.exec(runtime)?.[1]) };
}

/** The environment variables the bridge reads: every LYNQ_ name in src/ and bin/, and HOME (git's, the kubeconfig's). */
async function bridgeEnv(): Promise<Set<string>> {
  const names = new Set(['HOME']);
  for (const dir of ['src', 'bin'])
    for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !/\.(ts|mjs)$/.test(entry.name)) continue;
      const text = await readFile(
        path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name),
        'utf8',
      );
      for (const match of text.matchAll(/\bLYNQ_[A-Z_]+[A-Z]\b/g)) names.add(match[0]);
    }
  assert.ok(names.has('LYNQ_CACHE_DIR') && names.has('LYNQ_SECRETS_DIR'));
  return names;
}
