// @slow: a real Prometheus (Debian's) scraping lynq serve, about a minute
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { closedPort, createPostgresDatabase, POSTGRES } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { makeBareRepo, readTree, revParse } from './helpers/git.ts';
import { argoApp } from './helpers/health-world.ts';
import { type KubeFake, type Obj, startKubeFake } from './helpers/kube-fake.ts';
import { type LynqProcess, startLynq } from './helpers/serve.ts';
import { form, serveHubYaml } from './helpers/serve-world.ts';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.ts';
import { setUp, type Teardown } from './helpers/teardown.ts';

// Prometheus itself, on loopback, scraping a running lynq serve every second with the
// bridge's own alert rules (deploy/monitoring/lynq-rules.yaml), their windows and `for:`
// shortened to seconds so a test can watch an alert go pending, fire and resolve. The hub's
// database is "stopped" by a proxy in front of it (the shared server is never stopped).

const RULES = readFileSync(path.join(import.meta.dirname, '..', 'deploy', 'monitoring', 'lynq-rules.yaml'), 'utf8');

/** The real rules with minutes made seconds: the same expressions, on a test's clock. */
function quickRules(): string {
  return RULES.replace(/\[(\d+)m\]/g, (_, minutes: string) => `[${Math.max(15, Number(minutes) * 1.5)}s]`).replace(
    /for: \d+m/g,
    'for: 3s',
  );
}

type Alert = { labels: Record<string, string>; state: 'pending' | 'firing' };

describe('a real Prometheus scraping lynq serve, with the bridge alert rules', () => {
  let teardown: Teardown;
  let proxy: TcpProxy;
  let fake: KubeFake;
  let serve: LynqProcess;
  let repo: string;
  let prometheusUrl: string;

  before(async () => {
    ({ teardown, proxy, fake, serve, repo, prometheusUrl } = await setUp(async (started) => {
      const db = started.add(await createPostgresDatabase(), (it) => it.drop());
      await db.exec(
        "CREATE TABLE flaky (id text, active boolean); INSERT INTO flaky VALUES ('acme', true), ('globex', true);",
      );
      const proxy = started.add(await startTcpProxy({ host: POSTGRES.host, port: POSTGRES.port }), (it) => it.close());
      const bare = started.add(await makeBareRepo(), (it) => it.cleanup());
      const fake = started.add(await startKubeFake(), (it) => it.close());
      const hub = `${serveHubYaml({ name: 'flaky', type: 'postgresql', database: db.name, repo: bare.dir, interval: '1s', table: 'flaky', port: proxy.port })}  gitops:\n    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n`;
      const files = started.add(
        await tempFiles({
          'hubs/flaky.yaml': hub,
          'forms/flaky-web.yaml': form('flaky'),
          kubeconfig: fake.kubeconfig(),
        }),
        (it) => it.cleanup(),
      );
      const serve = started.add(
        startLynq(
          [
            'serve',
            '--hubs',
            path.join(files.dir, 'hubs'),
            '--forms',
            path.join(files.dir, 'forms'),
            '--listen',
            '127.0.0.1:0',
            '--read-back-interval',
            '1',
            '--no-watch',
          ],
          {
            LYNQ_CACHE_DIR: path.join(files.dir, 'cache'),
            KUBECONFIG: path.join(files.dir, 'kubeconfig'),
          },
        ),
        async (it) => {
          it.child.kill('SIGTERM');
          await it.exited;
        },
      );
      const target = new URL(await serve.url()).host;
      const webPort = await closedPort();
      await writeFile(path.join(files.dir, 'rules.yaml'), quickRules());
      await writeFile(
        path.join(files.dir, 'prometheus.yml'),
        `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yaml]\nscrape_configs:\n  - job_name: lynq\n    static_configs:\n      - targets: ['${target}']\n`,
      );
      const prometheus = started.add(
        spawn(
          'prometheus',
          [
            `--config.file=${path.join(files.dir, 'prometheus.yml')}`,
            `--storage.tsdb.path=${path.join(files.dir, 'tsdb')}`,
            `--web.listen-address=127.0.0.1:${webPort}`,
          ],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        ),
        stopProcess,
      );
      let log = '';
      prometheus.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
      const prometheusUrl = `http://127.0.0.1:${webPort}`;
      await until(
        async () => (await fetch(`${prometheusUrl}/-/ready`).catch(() => undefined))?.status === 200,
        () => `Prometheus ready\n${log}`,
      );
      return { teardown: started, proxy, fake, serve, repo: bare.dir, prometheusUrl };
    }));
  });
  after(() => teardown?.run());

  const query = async (expr: string): Promise<number | undefined> => {
    const body = (await (await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as {
      data: { result: Array<{ value: [number, string] }> };
    };
    const value = body.data.result[0]?.value[1];
    return value === undefined ? undefined : Number(value);
  };
  const alerts = async (): Promise<Alert[]> =>
    ((await (await fetch(`${prometheusUrl}/api/v1/alerts`)).json()) as { data: { alerts: Alert[] } }).data.alerts;

  test('Prometheus scrapes the syncs, and the node health the read-back found in the fake API', async () => {
    await until(
      async () => ((await query('lynq_syncs_total{hub="flaky",outcome="published"}')) ?? 0) >= 1,
      () => 'a published sync, scraped',
    );
    // The engine's side: each node's LynqNode and a healthy Application at the branch head.
    const tree = await readTree(repo, 'main');
    const commit = (await revParse(repo, 'main'))!;
    for (const [file, text] of tree) {
      if (!file.endsWith('/lynqnode.yaml')) continue;
      const node = parse(text) as Obj;
      fake.put('LynqNode', node);
      fake.put('Application', argoApp(node, 'application-healthy-synced-op-succeeded.yaml', commit));
    }
    await until(
      async () => (await query('sum(lynq_node_health{hub="flaky",phase="Ready"})')) === 2,
      () => 'both nodes Ready in Prometheus',
    );
    assert.deepEqual(
      (await alerts()).filter((alert) => alert.labels.hub === 'flaky'),
      [],
      'no alert while the hub syncs',
    );
  });

  test("the hub's database stops: LynqHubSyncsFailing goes pending, then firing; it resolves when the database is back", async () => {
    await proxy.stop();
    const seen: string[] = [];
    const failing = async () =>
      (await alerts()).find((alert) => alert.labels.alertname === 'LynqHubSyncsFailing' && alert.labels.hub === 'flaky')
        ?.state;
    await until(
      async () => {
        const state = await failing();
        if (state !== undefined && seen.at(-1) !== state) seen.push(state);
        return state === 'firing';
      },
      () => `the alert firing (seen: ${seen.join(', ') || 'nothing'}); serve logs: ${serve.stderr().slice(-1500)}`,
      120_000,
    );
    assert.deepEqual(seen, ['pending', 'firing']);
    assert.ok(((await query('sum(lynq_sync_errors_total{hub="flaky",kind="source"})')) ?? 0) > 0);
    await proxy.start();
    await until(
      async () => (await failing()) === undefined,
      () => 'the alert resolved',
      120_000,
    );
  });
});

/** Polls `check` every 200 ms; a bound for a slow machine, not an assertion on time. */
async function until(check: () => Promise<boolean>, what: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(200);
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
}
