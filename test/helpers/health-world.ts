import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { fixture } from './fixtures.ts';
import { lynq } from './cli.ts';
import { formYaml, hubYaml } from './config.ts';
import { createPostgresDatabase, type TestDatabase } from './db.ts';
import { tempFiles } from './files.ts';
import { git, makeBareRepo, revParse, testGitEnv } from './git.ts';
import { startKubeFake, type KubeFake, type Obj } from './kube-fake.ts';
import { setUp } from './teardown.ts';

/**
 * A hub synced for real (PostgreSQL rows → `lynq sync` → a bare repository), whose
 * LynqNodes and engine objects a test then puts into the fake Kubernetes API, built from
 * the real fixture objects with this world's names, labels and commits.
 */
export type HealthWorld = {
  dir: string;
  repo: string;
  db: TestDatabase;
  env: NodeJS.ProcessEnv;
  dirs: string[];
  kubeconfigFile: string;
  sync(args?: string[]): Promise<{ code: number; out: string; err: string }>;
  status(args?: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }>;
  head(): Promise<string>;
  /** Every LynqNode in Git at main, as the engine would create it in the cluster. */
  lynqNodes(): Promise<Obj[]>;
  writeKubeconfig(text: string): Promise<void>;
  cleanup(): Promise<void>;
};

/** `valueMappings`: more mapping lines (e.g. `    cluster: plan\n`), after `activate`. */
export function makeHealthWorld(options: {
  hub: string;
  gitops: string;
  form: string;
  rows: Array<[string, string]>;
  extraSpec?: string;
  valueMappings?: string;
}): Promise<HealthWorld> {
  return setUp(async (teardown) => {
    const db = teardown.add(await createPostgresDatabase(), (it) => it.drop());
    await db.exec('CREATE TABLE customers (id text PRIMARY KEY, active boolean NOT NULL, plan text NOT NULL)');
    for (let start = 0; start < options.rows.length; start += 1000) {
      const batch = options.rows.slice(start, start + 1000);
      await db.exec(
        `INSERT INTO customers VALUES ${batch.map(([id, plan]) => `('${id}', true, '${plan}')`).join(', ')}`,
      );
    }
    const bare = teardown.add(await makeBareRepo(), (it) => it.cleanup());
    const hub = hubYaml({
      name: options.hub,
      database: db.name,
      extra: { plan: 'plan' },
      spec: `  publish:\n    repo: ${bare.dir}\n  gitops:\n${options.gitops}${options.extraSpec ?? ''}`,
    }).replace('    activate: active\n', `    activate: active\n${options.valueMappings ?? ''}`);
    const files = teardown.add(
      await tempFiles({ 'hubs/hub.yaml': hub, 'forms/web.yaml': formYaml(options.form, { hubId: options.hub }) }),
      (it) => it.cleanup(),
    );
    const env: NodeJS.ProcessEnv = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache'), HOME: files.dir };
    const dirs = ['--hubs', path.join(files.dir, 'hubs'), '--forms', path.join(files.dir, 'forms')];
    const kubeconfigFile = path.join(files.dir, 'kubeconfig');
    return {
      dir: files.dir,
      repo: bare.dir,
      db,
      env,
      dirs,
      kubeconfigFile,
      sync: (args = []) => lynq(['sync', ...dirs, ...args], env),
      status: (args = [], extraEnv = {}) => lynq(['status', ...dirs, ...args], { ...env, ...extraEnv }),
      async head() {
        return (await revParse(bare.dir, 'main'))!;
      },
      async lynqNodes() {
        const listing = await git(bare.dir, ['ls-tree', '-r', 'main', '--', 'nodes/']);
        const ids = listing
          .split('\n')
          .filter((line) => line.endsWith('/lynqnode.yaml'))
          .map((line) => line.split(/\s+/)[2]!);
        return (await catBlobs(bare.dir, ids)).map((text) => parse(text) as Obj);
      },
      async writeKubeconfig(text) {
        await writeFile(kubeconfigFile, text);
      },
      cleanup: () => teardown.run(),
    };
  });
}

/** The engine objects a LynqNode names (spec.gitops.objects). */
export function engineRefs(node: Obj): Array<{ kind: string; name: string; namespace: string }> {
  return (
    (node.spec as { gitops?: { objects: Array<{ kind: string; name: string; namespace: string }> } }).gitops?.objects ??
    []
  );
}

type NodeResource = { id: string; apiVersion: string; kind: string; name: string; namespace?: string };

/**
 * An Argo CD Application for a node, from a real fixture: its status as the fixture has
 * it, with this node's name, labels, revision and (unless `keepResources`) its resources
 * listed with the fixture's per-resource health of the same kind (else Healthy).
 */
export function argoApp(
  node: Obj,
  file: string,
  revision: string | undefined,
  options: { resourceHealth?: Record<string, string> } = {},
): Obj {
  const ref = engineRefs(node)[0]!;
  const object = fixture('argocd', file) as Obj;
  object.metadata = { name: ref.name, namespace: ref.namespace, labels: node.metadata.labels };
  const status = (object.status ?? {}) as Record<string, unknown>;
  if (revision !== undefined && status.sync !== undefined) (status.sync as Record<string, unknown>).revision = revision;
  if (Array.isArray(status.resources)) {
    const resources = (node.spec as { resources: NodeResource[] }).resources;
    const synced = (status.sync as { status?: string } | undefined)?.status === 'Synced' ? 'Synced' : 'OutOfSync';
    status.resources = resources.map((resource) => {
      const health = options.resourceHealth?.[resource.id] ?? 'Healthy';
      const group = resource.apiVersion.includes('/') ? resource.apiVersion.split('/')[0] : '';
      return {
        group,
        version: resource.apiVersion.split('/').pop(),
        kind: resource.kind,
        name: resource.name,
        namespace: resource.namespace,
        status: synced,
        health:
          health === 'none'
            ? undefined
            : {
                status: health,
                ...(health === 'Degraded'
                  ? { message: `Deployment "${resource.name}" exceeded its progress deadline` }
                  : {}),
              },
      };
    });
  }
  return object;
}

/** A Flux Kustomization (one level of a node), from a real fixture, with this node's name, labels and revision. */
export function fluxKustomization(node: Obj, level: number, file: string, revision: string | undefined): Obj {
  const ref = engineRefs(node)[level]!;
  const object = fixture('flux', file) as Obj;
  const status = (object.status ?? {}) as Record<string, unknown>;
  const generation = typeof status.observedGeneration === 'number' ? status.observedGeneration : 1;
  const keptGeneration = (object.metadata as { generation?: number } | undefined)?.generation;
  object.metadata = {
    name: ref.name,
    namespace: ref.namespace,
    labels: node.metadata.labels,
    generation: keptGeneration ?? generation,
  };
  if (revision !== undefined && status.lastAppliedRevision !== undefined)
    status.lastAppliedRevision = `main@sha1:${revision}`;
  return object;
}

/**
 * Where most read-back tests start: an Argo CD hub `shop` of this form and these rows,
 * synced, and a fake API holding every LynqNode and, for each, a healthy Application
 * synced at the branch head (or the `application` fixture's state).
 */
export function healthyArgoWorld(
  form: string,
  rows: Array<[string, string]>,
  application = 'application-healthy-synced-op-succeeded.yaml',
): Promise<{ world: HealthWorld; fake: KubeFake }> {
  return setUp(async (teardown) => {
    const world = teardown.add(
      await makeHealthWorld({
        hub: 'shop',
        gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
        form,
        rows,
      }),
      (it) => it.cleanup(),
    );
    const synced = await world.sync();
    if (synced.code !== 0) throw new Error(`the world's first sync exited ${synced.code}:\n${synced.out}${synced.err}`);
    const fake = teardown.add(await startKubeFake(), (it) => it.close());
    await world.writeKubeconfig(fake.kubeconfig());
    const nodes = await world.lynqNodes();
    putLynqNodes(fake, nodes);
    const head = await world.head();
    for (const node of nodes) fake.put('Application', argoApp(node, application, head));
    return { world, fake };
  });
}

/** Put every LynqNode (except `skip`) into the fake. */
export function putLynqNodes(fake: KubeFake, nodes: readonly Obj[], skip: readonly string[] = []): void {
  for (const node of nodes) if (!skip.includes(node.metadata.name)) fake.put('LynqNode', node);
}

/** Blobs by id with one `git cat-file --batch` (thousands of LynqNodes in one process). */
function catBlobs(dir: string, ids: readonly string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd: dir, env: testGitEnv() });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`git cat-file --batch exited ${code}`));
      const out = Buffer.concat(chunks);
      const texts: string[] = [];
      let at = 0;
      for (let i = 0; i < ids.length; i++) {
        const newline = out.indexOf(10, at);
        const size = Number(out.subarray(at, newline).toString('utf8').split(' ')[2]);
        texts.push(out.subarray(newline + 1, newline + 1 + size).toString('utf8'));
        at = newline + 1 + size + 1;
      }
      resolve(texts);
    });
    child.stdin.end(ids.map((id) => `${id}\n`).join(''));
  });
}
