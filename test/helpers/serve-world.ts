import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { formYaml } from './config.ts';
import { MARIADB, POSTGRES } from './db.ts';
import { tempFiles } from './files.ts';
import { git, readTree } from './git.ts';
import { parsePrometheusText, startLynq, type LynqProcess } from './serve.ts';

/** Never fires during a test: the hub runs only when serve starts and when triggered. */
export const NEVER = '0 0 1 1 *';

export type ServeHub = {
  name: string;
  type: 'postgresql' | 'mysql';
  database: string;
  repo: string;
  interval: string;
  table?: string;
  query?: string;
  notifyChannel?: string;
  port?: number;
  queryTimeoutSeconds?: number;
};

export function serveHubYaml(hub: ServeHub): string {
  const server = hub.type === 'postgresql' ? POSTGRES : MARIADB;
  const read = hub.query !== undefined ? `query: ${JSON.stringify(hub.query)}` : `table: ${hub.table ?? 'customers'}`;
  return `apiVersion: operator.lynq.sh/v1
kind: LynqHub
metadata:
  name: ${hub.name}
spec:
  source:
    type: ${hub.type}
    syncInterval: ${JSON.stringify(hub.interval)}
    ${hub.type}:
      host: 127.0.0.1
      port: ${hub.port ?? server.port}
      username: ${server.user}
      database: ${hub.database}
      ${read}
      connectTimeoutSeconds: 3
${hub.queryTimeoutSeconds === undefined ? '' : `      queryTimeoutSeconds: ${hub.queryTimeoutSeconds}\n`}${hub.notifyChannel === undefined ? '' : `      notifyChannel: ${hub.notifyChannel}\n`}  valueMappings:
    uid: id
    activate: active
  publish:
    repo: ${hub.repo}
`;
}

export const form = (hubId: string, name = `${hubId}-web`) =>
  formYaml(
    '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data:\n          UID: "{{ uid }}"\n',
    {
      name,
      hubId,
    },
  );

export type World = { dir: string; hubsDir: string; formsDir: string; cleanup(): Promise<void> };

export async function world(hubs: ServeHub[]): Promise<World> {
  const files: Record<string, string> = {};
  for (const hub of hubs) {
    files[`hubs/${hub.name}.yaml`] = serveHubYaml(hub);
    files[`forms/${hub.name}-web.yaml`] = form(hub.name);
  }
  const temp = await tempFiles(files);
  return {
    dir: temp.dir,
    hubsDir: path.join(temp.dir, 'hubs'),
    formsDir: path.join(temp.dir, 'forms'),
    cleanup: temp.cleanup,
  };
}

export function serve(w: World, env: NodeJS.ProcessEnv = {}, extra: string[] = [], cache = 'cache'): LynqProcess {
  return startLynq(['serve', '--hubs', w.hubsDir, '--forms', w.formsDir, '--listen', '127.0.0.1:0', ...extra], {
    LYNQ_CACHE_DIR: path.join(w.dir, cache),
    ...env,
  });
}

export async function nodesIn(remote: string, hub: string): Promise<string[]> {
  const tree = await readTree(remote, 'main').catch(() => new Map<string, string>());
  return [...tree.keys()]
    .filter((file) => file.startsWith(`nodes/${hub}/`) && file.endsWith('/lynqnode.yaml'))
    .map((file) => file.split('/')[3]!)
    .sort();
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function metricsOf(proc: LynqProcess): Promise<ReturnType<typeof parsePrometheusText>> {
  const response = await fetch(`${await proc.url()}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

export const sampleValue = (
  families: ReturnType<typeof parsePrometheusText>,
  name: string,
  labels: Record<string, string>,
): number | undefined =>
  families
    .get(name)
    ?.samples.find(
      (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )?.value;

/** Both the remote and the cache clone pass a full fsck. */
export async function assertSound(remote: string, cacheDir: string): Promise<void> {
  await git(remote, ['fsck', '--full', '--strict']);
  for (const clone of await readdir(path.join(cacheDir, 'repos')).catch(() => []))
    await git(path.join(cacheDir, 'repos', clone), ['fsck', '--full']);
}
