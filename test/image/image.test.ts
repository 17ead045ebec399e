// npm run test:image (not part of npm test): docker/Dockerfile built as it is, on the base
// scripts/image-host.sh made, and run as deploy/ runs it. Needs root, podman, PostgreSQL.
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPostgresDatabase, type TestDatabase } from '../helpers/db.ts';
import { bareRemote, hostGit, hostVolumes, type PodSpec, podOf, runOptions, type Volumes } from './pod.ts';
import { type Build, buildImage, podman, podmanExit, ROOT, removeContainer, sizeReport } from './podman.ts';

const IMAGE = `localhost/lynq-bridge:test-${process.pid}`;
const SECRET = 'lynq-bridge';

const hubYaml = (database: string): string => `apiVersion: operator.lynq.sh/v1
kind: LynqHub
metadata:
  name: image
  namespace: tenants
spec:
  source:
    type: postgresql
    postgresql:
      host: 127.0.0.1
      username: postgres
      # Read from the mounted Secret: the file must be where the pod mounts it.
      passwordRef: { name: ${SECRET}, key: db-password }
      database: ${database}
      table: customers
      connectTimeoutSeconds: 5
    # lynq serve syncs at start, then on this schedule.
    syncInterval: 2s
  valueMappings:
    uid: id
    activate: active
  publish:
    repo: /remote/manifests.git
`;

// A PodDisruptionBudget: a kind the bundle does not carry the schema of, so its validation
// loads kubernetes-models from the image's node_modules.
const FORM = `apiVersion: operator.lynq.sh/v1
kind: LynqForm
metadata:
  name: web
spec:
  hubId: image
  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          TENANT: "{{ uid }}"
  podDisruptionBudgets:
    - id: pdb
      nameTemplate: "{{ uid }}-pdb"
      spec:
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        spec:
          minAvailable: 1
          selector:
            matchLabels: { app: "{{ uid }}" }
`;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls until `url` answers 200; fails at once when the container has stopped, or after `seconds` (a bound for a slow machine, not an assertion). */
async function until200(url: string, seconds: number, container: string): Promise<void> {
  const logs = async (): Promise<string> => {
    const { stdout, stderr } = await podman(['logs', container]).catch((error: Error) => ({
      stdout: '',
      stderr: error.message,
    }));
    return stdout + stderr;
  };
  for (let i = 0; i < seconds * 4; i++) {
    const ok = await fetch(url).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) return;
    const running = (await podman(['inspect', '--format', '{{.State.Running}}', container])).stdout.trim();
    if (running !== 'true') throw new Error(`the container stopped before ${url} answered; its logs:\n${await logs()}`);
    await sleep(250);
  }
  throw new Error(`${url} did not answer 200 within ${seconds} s; container logs:\n${await logs()}`);
}

describe('the image: docker/Dockerfile built with podman and run as deploy/ runs it', { concurrency: false }, () => {
  let build: Build;
  let db: TestDatabase;
  const started: string[] = [];
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    build = await buildImage(IMAGE);
    console.log(`image: built in ${build.seconds.toFixed(0)} s (version ${build.version}, commit ${build.revision})`);
    console.log((await sizeReport(IMAGE)).text);
    db = await createPostgresDatabase();
    cleanups.push(() => db.drop());
    await db.exec(
      `CREATE TABLE customers (id text PRIMARY KEY, active boolean); INSERT INTO customers VALUES ('acme', true), ('globex', true), ('initech', false);`,
    );
  });

  after(async () => {
    for (const name of started) await removeContainer(name);
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: Error) => console.error(`cleanup: ${error.message}`));
    await podman(['rmi', '--force', IMAGE]).catch(() => undefined);
  });

  test('lynq --version prints the version, then the commit the image was built from', async () => {
    const { stdout } = await podman(['run', '--rm', '--pull=never', IMAGE, '--version']);
    assert.equal(stdout, `${build.version}\ncommit ${build.revision}\n`);
  });

  test('the image carries the OCI labels, runs as uid 1000, and its cache folder is the one the bridge reads', async () => {
    const [inspect] = JSON.parse((await podman(['image', 'inspect', IMAGE])).stdout) as Array<{
      Config: { Labels: Record<string, string>; User: string; Env: string[] };
    }>;
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { license: string };
    const labels = inspect!.Config.Labels;
    assert.equal(labels['org.opencontainers.image.version'], build.version);
    assert.equal(labels['org.opencontainers.image.revision'], build.revision);
    assert.equal(labels['org.opencontainers.image.source'], build.source);
    assert.equal(labels['org.opencontainers.image.licenses'], pkg.license);
    assert.equal(inspect!.Config.User, '1000:1000');
    assert.ok(inspect!.Config.Env.includes('LYNQ_CACHE_DIR=/cache'), inspect!.Config.Env.join(' '));
  });

  test('only what runs: no TypeScript sources, no dev dependencies, no npm cache, no pglite (the demo database)', async () => {
    const script = [
      'find /opt/lynq /work -name "*.ts" -not -name "*.d.ts" | head -5',
      'for p in typescript tsx esbuild @biomejs dependency-cruiser @electric-sql/pglite @types; do [ -e /opt/lynq/node_modules/$p ] && echo "node_modules/$p"; done',
      'for d in /root/.npm /home/node/.npm /tmp/.npm; do [ -e $d ] && echo "$d"; done',
      'ls /opt/lynq',
    ].join('; ');
    const { stdout } = await podman([
      'run',
      '--rm',
      '--pull=never',
      '--user',
      '0',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      `${script}; true`,
    ]);
    assert.deepEqual(stdout.trim().split('\n'), ['bin', 'dist', 'node_modules', 'package.json']);
    // Without the demo's files and database, lynq demo says where to run it instead.
    const demo = await podmanExit(['run', '--rm', '--pull=never', IMAGE, 'demo', '--dir', '/tmp/demo']);
    assert.equal(demo.code, 2);
    assert.match(demo.stderr, /lynq demo needs its hub and form files .* run the demo from the npm package/);
  });

  test('lynq sync as the CronJob runs it (deploy/overlays/argocd-cronjob): the commit arrives in the bare repository, pushed by uid 1000, read-only root, only the cache written', async () => {
    const pod = await podOf('deploy/overlays/argocd-cronjob', 'CronJob');
    const volumes = await hostVolumes(pod, {
      'lynq-hubs': { 'image.yaml': hubYaml(db.name) },
      'lynq-forms': { 'web.yaml': FORM },
      [SECRET]: { 'db-password': 'not-needed-by-trust-auth' },
    });
    cleanups.push(volumes.cleanup);
    const remote = await bareRemote(pod);
    cleanups.push(remote.cleanup);
    const name = `lynq-image-sync-${process.pid}`;
    started.push(name);
    const args = [
      'run',
      '--name',
      name,
      ...runOptions(pod, volumes),
      '--volume',
      `${remote.dir}:/remote/manifests.git:rw`,
      IMAGE,
      ...pod.containers[0]!.args,
    ];
    const result = await podmanExit(args);
    assert.equal(result.code, 0, `lynq sync exited ${result.code}:\n${result.stderr}`);

    const files = (await hostGit(remote.dir, ['ls-tree', '-r', '--name-only', 'main'])).trim().split('\n');
    for (const uid of ['acme', 'globex'])
      assert.ok(
        files.some((file) => file.includes(`/${uid}/`)),
        `${uid} is in the commit: ${files.join(', ')}`,
      );
    assert.ok(!files.some((file) => file.includes('/initech/')), 'the inactive row is not');
    assert.match(
      await hostGit(remote.dir, [
        'show',
        `main:${files.find((file) => file.includes('/acme/') && file.includes('pdb'))!}`,
      ]),
      /kind: PodDisruptionBudget/,
    );
    const objects = await readdir(path.join(remote.dir, 'objects'));
    const pushed = objects.find((entry) => /^[0-9a-f]{2}$/.test(entry) || entry === 'pack');
    assert.equal(
      (await stat(path.join(remote.dir, 'objects', pushed!))).uid,
      pod.securityContext.runAsUser,
      'the push was made by the pod user',
    );
    await assertOnlyCacheWritten(name, volumes, pod);
  });

  test('lynq serve as the Deployment runs it (deploy/overlays/argocd): /healthz and /metrics answer, and podman stop ends it cleanly within its grace', async () => {
    const pod = await podOf('deploy/overlays/argocd', 'Deployment');
    const volumes = await hostVolumes(pod, {
      'lynq-hubs': { 'image.yaml': hubYaml(db.name) },
      'lynq-forms': { 'web.yaml': FORM },
      [SECRET]: { 'db-password': 'not-needed-by-trust-auth' },
    });
    cleanups.push(volumes.cleanup);
    const remote = await bareRemote(pod);
    cleanups.push(remote.cleanup);
    const container = pod.containers[0]!;
    const listen = container.args.indexOf('--listen');
    const port = await freePort();
    // The manifest's arguments, listening on loopback at a free port (the host's network is shared).
    const args = container.args.map((arg, index) => (index === listen + 1 ? `127.0.0.1:${port}` : arg));
    const name = `lynq-image-serve-${process.pid}`;
    started.push(name);
    await podman([
      'run',
      '--detach',
      '--name',
      name,
      ...runOptions(pod, volumes),
      '--volume',
      `${remote.dir}:/remote/manifests.git:rw`,
      IMAGE,
      ...args,
    ]);
    await until200(`http://127.0.0.1:${port}/healthz`, 60, name);
    // Its first tick syncs the hub: the commit arrives, and /metrics counts it.
    const pushed = () => hostGit(remote.dir, ['rev-parse', '--verify', '--quiet', 'main']).then(Boolean, () => false);
    for (let i = 0; i < 240 && !(await pushed()); i++) await sleep(250);
    if (!(await pushed()))
      assert.fail(`no commit from lynq serve within 60 s; its logs:\n${(await podman(['logs', name])).stderr}`);
    const files = await hostGit(remote.dir, ['ls-tree', '-r', '--name-only', 'main']);
    assert.match(files, /\/acme\//);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^lynq_commits_total\{hub="image"\} 1$/m);

    const grace = pod.terminationGracePeriodSeconds ?? 30;
    await podman(['stop', '--time', String(grace), name], { timeoutMs: (grace + 30) * 1000 });
    const [state] = JSON.parse((await podman(['inspect', name])).stdout) as Array<{
      State: { ExitCode: number; Status: string };
    }>;
    const { stderr } = await podman(['logs', name]);
    assert.equal(
      state!.State.ExitCode,
      0,
      `serve exited ${state!.State.ExitCode} (137: killed after the grace period):\n${stderr}`,
    );
    assert.match(stderr, /"msg":"stopped"/);
  });
});

/** The container's root filesystem was mounted read-only (so the sync wrote nothing there), and its writable mounts are the cache, /tmp (an emptyDir) and the remote; the cache got the clone. */
async function assertOnlyCacheWritten(container: string, volumes: Volumes, pod: PodSpec): Promise<void> {
  const [inspect] = JSON.parse((await podman(['inspect', container])).stdout) as Array<{
    HostConfig: { ReadonlyRootfs: boolean };
    Mounts: Array<{ Destination: string; RW: boolean }>;
  }>;
  assert.equal(inspect!.HostConfig.ReadonlyRootfs, true);
  const writable = inspect!.Mounts.filter((mount) => mount.RW).map((mount) => mount.Destination);
  assert.deepEqual(writable.sort(), ['/cache', '/remote/manifests.git', '/tmp']);
  const cacheMount = pod.containers[0]!.volumeMounts.find((mount) => mount.mountPath === '/cache')!;
  const cache = await readdir(volumes.byName.get(cacheMount.name)!);
  assert.ok(cache.length > 0, 'the cache volume holds the clone');
}
