/**
 * `npm run bench:triggers`: row insert → commit on the remote, end to end, through a real
 * `lynq serve` child process, at BENCH_ROWS (default 10,000) rows × the demo form:
 *
 * - NOTIFY: a PostgreSQL hub with notifyChannel and the trigger SQL of docs/notify-trigger.sql;
 *   the clock starts before the INSERT (the trigger does the rest).
 * - webhook: a hub on a table without a trigger; the clock starts before the INSERT, then
 *   `POST /hooks/sync/<hub>`.
 *
 * Each hub has its own bare remote; the clock stops when the remote's `main` moves (polled
 * every 20 ms, so figures are up to 20 ms late). Medians of BENCH_RUNS (default 5) after one
 * warm-up; reported, never asserted (the target is under 2 s). Needs PostgreSQL at
 * 127.0.0.1:5432 (user postgres, trust) and creates and drops its own database.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';

const run = promisify(execFile);
const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const PG = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
};
const TOKEN = randomBytes(24).toString('hex');
const NEVER = '0 0 1 1 *';

const hubYaml = (name: string, database: string, table: string, repo: string, notifyChannel?: string) =>
  stringifyYaml({
    apiVersion: 'operator.lynq.sh/v1',
    kind: 'LynqHub',
    metadata: { name, namespace: 'lynq-bench' },
    spec: {
      source: {
        type: 'postgresql',
        syncInterval: NEVER,
        postgresql: {
          host: PG.host,
          port: PG.port,
          username: PG.user,
          database,
          table,
          ...(notifyChannel === undefined ? {} : { notifyChannel }),
        },
      },
      valueMappings: { uid: 'id', activate: 'active' },
      extraValueMappings: {
        plan: 'plan',
        replicas: 'replicas',
        image: 'image',
        domain: 'domain',
        createdAt: 'created_at',
      },
      publish: { repo, branch: 'main' },
    },
  });

async function head(repo: string): Promise<string | undefined> {
  try {
    return (await run('git', ['rev-parse', '--verify', '--quiet', 'refs/heads/main'], { cwd: repo })).stdout.trim();
  } catch {
    return undefined;
  }
}

async function waitForMove(repo: string, from: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await head(repo)) === from) {
    if (Date.now() > deadline) throw new Error(`${repo}: no commit within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const database = `lynq_bench_triggers_${process.pid}_${randomBytes(3).toString('hex')}`;
const admin = new pg.Client({ ...PG, database: 'postgres' });
await admin.connect();
await admin.query(`CREATE DATABASE "${database}"`);
const client = new pg.Client({ ...PG, database });
await client.connect();
const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-bench-triggers-'));
let serve: ReturnType<typeof spawn> | undefined;
try {
  for (const table of ['notified', 'hooked']) {
    await client.query(
      `CREATE TABLE ${table} (id text PRIMARY KEY, active boolean NOT NULL, plan text NOT NULL, replicas integer NOT NULL, image text NOT NULL, domain text, created_at timestamp NOT NULL)`,
    );
    await client.query(
      `INSERT INTO ${table} SELECT 'c' || lpad(g::text, 6, '0'), true, (ARRAY['basic','pro','enterprise'])[g % 3 + 1], g % 3 + 1, 'nginx:1.27', 'c' || g || '.example.com', timestamp '2024-01-01' + g * interval '1 hour' FROM generate_series(1, $1) g`,
      [ROWS],
    );
  }
  const triggerSql = (await readFile('docs/notify-trigger.sql', 'utf8'))
    .replaceAll('lynq_customers', 'bench_notified')
    .replaceAll(' ON customers', ' ON notified');
  await client.query(triggerSql);

  await mkdir(path.join(dir, 'hubs'));
  await mkdir(path.join(dir, 'forms'));
  const form = parseYaml(await readFile('forms/demo-web.yaml', 'utf8')) as {
    metadata: { name: string };
    spec: { hubId: string };
  };
  const remotes: Record<string, string> = {};
  for (const [hub, table, channel] of [
    ['notified', 'notified', 'bench_notified'],
    ['hooked', 'hooked', undefined],
  ] as const) {
    remotes[hub] = path.join(dir, `${hub}.git`);
    await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', remotes[hub]]);
    await writeFile(path.join(dir, 'hubs', `${hub}.yaml`), hubYaml(hub, database, table, remotes[hub], channel));
    await writeFile(
      path.join(dir, 'forms', `${hub}.yaml`),
      stringifyYaml({
        ...form,
        metadata: { ...form.metadata, name: `web-${hub}` },
        spec: { ...form.spec, hubId: hub },
      }),
    );
  }

  serve = spawn(
    process.execPath,
    [
      'bin/lynq.mjs',
      'serve',
      '--hubs',
      path.join(dir, 'hubs'),
      '--forms',
      path.join(dir, 'forms'),
      '--listen',
      '127.0.0.1:0',
    ],
    {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LYNQ_CACHE_DIR: path.join(dir, 'cache'),
        LYNQ_LOG_LEVEL: 'debug',
        LYNQ_WEBHOOK_TOKEN: TOKEN,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  serve.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const started = performance.now();
  while (
    !/"msg":"serving"/.test(log) ||
    (log.match(/"msg":"sync finished"/g) ?? []).length < 2 ||
    !/listening for notifications/.test(log)
  ) {
    if (serve.exitCode !== null) throw new Error(`serve exited:\n${log}`);
    if (performance.now() - started > 600_000) throw new Error(`the first syncs did not finish:\n${log.slice(-2000)}`);
    await sleep(100);
  }
  const address = /"address":"([^"]+)","webhook"/.exec(log)![1]!;
  console.log(
    `${ROWS} rows × forms/demo-web.yaml; first syncs of both hubs took ${((performance.now() - started) / 1000).toFixed(1)} s (serve start included)`,
  );

  let next = 0;
  /** The last sync of a hub, as serve logged it: how much of the end-to-end time was the sync itself. */
  const lastSyncMs = (hub: string): number => {
    const lines = log
      .split('\n')
      .filter((line) => line.includes('"msg":"sync finished"') && line.includes(`"hub":"${hub}"`));
    return Number(/"ms":(\d+)/.exec(lines.at(-1) ?? '')?.[1]);
  };
  const syncTimes: Record<string, number[]> = { notified: [], hooked: [] };
  const measure = async (hub: 'notified' | 'hooked'): Promise<number> => {
    const before = await head(remotes[hub]!);
    const t0 = performance.now();
    await client.query(`INSERT INTO ${hub} VALUES ($1, true, 'pro', 2, 'nginx:1.27', NULL, timestamp '2025-01-01')`, [
      `new${String(next++).padStart(4, '0')}`,
    ]);
    if (hub === 'hooked') {
      const response = await fetch(`http://${address}/hooks/sync/hooked`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      if (response.status !== 202) throw new Error(`webhook answered ${response.status}`);
    }
    await waitForMove(remotes[hub]!, before, 60_000);
    const ms = performance.now() - t0;
    // Let the service settle (the sync's own end after the push) before the next insert.
    await sleep(300);
    syncTimes[hub]!.push(lastSyncMs(hub));
    return ms;
  };
  for (const [hub, name] of [
    ['notified', 'NOTIFY '],
    ['hooked', 'webhook'],
  ] as const) {
    await measure(hub);
    const times: number[] = [];
    syncTimes[hub] = [];
    for (let i = 0; i < RUNS; i++) times.push(await measure(hub));
    console.log(
      `${name} insert → commit on the remote: median ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}; ${RUNS} runs; target < 2000 ms); the sync itself (lock to push): median ${median(syncTimes[hub]!).toFixed(0)} ms`,
    );
  }
} finally {
  serve?.kill('SIGTERM');
  if (serve !== undefined && serve.exitCode === null) await new Promise((resolve) => serve!.once('exit', resolve));
  await client.end();
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}
