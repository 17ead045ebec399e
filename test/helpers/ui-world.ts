import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { lynq } from './cli.ts';
import { formYaml, hubYaml } from './config.ts';
import { createPostgresDatabase, type TestDatabase } from './db.ts';
import { tempFiles } from './files.ts';
import { git, makeBareRepo, revParse } from './git.ts';
import { argoApp, putLynqNodes } from './health-world.ts';
import { startKubeFake, type KubeFake, type Obj } from './kube-fake.ts';
import { type LynqProcess, startLynq } from './serve.ts';
import { setUp, type Teardown } from './teardown.ts';
import { parse } from 'yaml';

/** Row values that would run script if a page put them into HTML as markup. */
export const HOSTILE = ['<script>window.__pwned=1</script>', '"><img src=x onerror="window.__pwned=1">'] as const;
export const SECRET_VALUE = 'sk-live-0123456789abcdef';
export const UI_TOKEN = 'ui-token-0123456789abcdef';
export const WEBHOOK_TOKEN = 'hook-token-0123456789abcdef';
export const DEGRADED = 'globex';
const UIDS = ['acme', 'globex', 'initech', 'hooli', 'umbrella', 'evil-script', 'evil-img'];

/** The form: a ConfigMap of the row's values, and a SealedSecret whose template names `apikey` (so the view masks it); paced by maxSkew 1. */
export function uiForm(label: string): string {
  return formYaml(
    `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      labelsTemplate: { release: "${label}" }
      spec:
        apiVersion: v1
        kind: ConfigMap
        data: { plan: "{{ plan }}", note: "{{ note }}" }
  manifests:
    - id: api-key
      nameTemplate: "{{ uid }}-api"
      spec:
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        spec:
          encryptedData: { key: "{{ apikey | sha1sum }}" }
  rollout:
    maxSkew: 1
`,
    { hubId: 'shop' },
  );
}

export type UiWorld = {
  dir: string;
  repo: string;
  db: TestDatabase;
  fake: KubeFake;
  serve: LynqProcess;
  url: string;
  nodes(): Promise<Obj[]>;
  head(): Promise<string>;
  formFile: string;
  cleanup(): Promise<void>;
};

/**
 * A hub `shop` of PostgreSQL rows (two of them with hostile values, one with a secret-mapped
 * column), synced for real into a bare repository, its LynqNodes and Argo CD Applications in
 * the fake Kubernetes API (globex Degraded, the rest healthy), and `lynq serve --ui` on
 * loopback with a token, reading it back every second.
 */
export function makeUiWorld(options: { serveArgs?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<UiWorld> {
  return setUp(async (teardown: Teardown) => {
    const db = teardown.add(await createPostgresDatabase(), (it) => it.drop());
    await db.exec(
      'CREATE TABLE customers (id text PRIMARY KEY, active boolean NOT NULL, plan text NOT NULL, note text NOT NULL, apikey text NOT NULL)',
    );
    const note = (uid: string): string =>
      uid === 'evil-script' ? HOSTILE[0] : uid === 'evil-img' ? HOSTILE[1] : `customer ${uid}`;
    await db.exec(
      `INSERT INTO customers VALUES ${UIDS.map((uid, i) => `('${uid}', true, '${i % 2 === 0 ? 'gold' : 'silver'}', $v$${note(uid)}$v$, '${SECRET_VALUE}')`).join(', ')}`,
    );
    const bare = teardown.add(await makeBareRepo(), (it) => it.cleanup());
    const hub = hubYaml({
      name: 'shop',
      database: db.name,
      extra: { plan: 'plan', note: 'note', apikey: 'apikey' },
      spec: `  publish:\n    repo: ${bare.dir}\n  gitops:\n    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n`,
    });
    const files = teardown.add(await tempFiles({ 'hubs/hub.yaml': hub, 'forms/web.yaml': uiForm('1') }), (it) =>
      it.cleanup(),
    );
    const env: NodeJS.ProcessEnv = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache'), HOME: files.dir };
    const dirs = ['--hubs', path.join(files.dir, 'hubs'), '--forms', path.join(files.dir, 'forms')];
    const synced = await lynq(['sync', ...dirs], env);
    if (synced.code !== 0) throw new Error(`the first sync exited ${synced.code}: ${synced.out}${synced.err}`);
    const fake = teardown.add(await startKubeFake(), (it) => it.close());
    const kubeconfig = path.join(files.dir, 'kubeconfig');
    await writeFile(kubeconfig, fake.kubeconfig());
    const head = async (): Promise<string> => (await revParse(bare.dir, 'main'))!;
    const nodes = async (): Promise<Obj[]> => {
      const listing = await git(bare.dir, ['ls-tree', '-r', '--name-only', 'main', '--', 'nodes/']);
      const out: Obj[] = [];
      for (const file of listing.split('\n').filter((line) => line.endsWith('/lynqnode.yaml')))
        out.push(parse(await git(bare.dir, ['show', `main:${file}`])) as Obj);
      return out;
    };
    const lynqNodes = await nodes();
    putLynqNodes(fake, lynqNodes);
    const at = await head();
    for (const node of lynqNodes) {
      const degraded = node.metadata.name === `${DEGRADED}-web`;
      fake.put(
        'Application',
        argoApp(
          node,
          degraded ? 'application-degraded-synced.yaml' : 'application-healthy-synced-op-succeeded.yaml',
          at,
        ),
      );
    }
    const serve = teardown.add(
      startLynq(
        [
          'serve',
          ...dirs,
          '--listen',
          '127.0.0.1:0',
          '--read-back-interval',
          '1',
          '--no-watch',
          '--ui',
          ...(options.serveArgs ?? []),
        ],
        {
          ...env,
          KUBECONFIG: kubeconfig,
          LYNQ_UI_TOKEN: UI_TOKEN,
          LYNQ_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
          ...options.env,
        },
      ),
      async (it) => {
        it.child.kill('SIGTERM');
        await it.exited;
      },
    );
    const url = await serve.url();
    await serve.waitForLog(
      (logs) => logs.some((line) => line.msg === 'read back' && line.after === 'sync'),
      'the read-back after the first sync',
    );
    return {
      dir: files.dir,
      repo: bare.dir,
      db,
      fake,
      serve,
      url,
      nodes,
      head,
      formFile: path.join(files.dir, 'forms', 'web.yaml'),
      cleanup: () => teardown.run(),
    };
  });
}
