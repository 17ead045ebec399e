/**
 * What the benches share: the PostgreSQL target and its seeded customers table (the demo's
 * columns), the bench hub and form as YAML documents, bare repositories, and printing.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';

const run = promisify(execFile);
export const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The bench hub's name, its own per bench process: PostgreSQL's advisory locks, which keep
 * two syncs of one hub apart, are per database and hub name, so two benches (or two
 * worktrees' benches) on the same database with the same hub name would make each other's
 * syncs skip the hub for its lock.
 */
export const HUB_NAME = `bench-${randomBytes(3).toString('hex')}`;
export const FORM_NAME = 'web';
export const ROOT = 'nodes';

export type DbTarget = { host: string; port: number; user: string; database: string };

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fail(message: string): never {
  throw new BenchFailure(message);
}

export class BenchFailure extends Error {}

export async function git(dir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd: dir,
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, LC_ALL: 'C', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
  });
  return stdout;
}

export async function remoteHead(bare: string): Promise<string | undefined> {
  try {
    return (await git(bare, 'rev-parse', '--verify', '--quiet', 'refs/heads/main')).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function newBareRepo(parent: string): Promise<string> {
  const dir = await mkdtemp(path.join(parent, 'manifests-'));
  await git(dir, 'init', '--quiet', '--bare', '--initial-branch=main');
  return dir;
}

export const mib = (bytes: number): number => bytes / 1024 / 1024;
export const fmt = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));

export async function pickDb(): Promise<DbTarget> {
  const host = process.env.PGHOST ?? '127.0.0.1';
  const port = Number(process.env.PGPORT ?? 5432);
  const database = process.env.PGDATABASE ?? 'test';
  const users = process.env.PGUSER !== undefined ? [process.env.PGUSER] : ['postgres', 'root'];
  const errors: string[] = [];
  for (const user of users) {
    const client = new pg.Client({ host, port, user, database });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return { host, port, user, database };
    } catch (error) {
      errors.push(`${user}: ${(error as Error).message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new Error(`cannot connect to PostgreSQL at ${host}:${port}/${database} (${errors.join('; ')})`);
}

export async function withClient<T>(db: DbTarget, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(db);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const PLANS = ['gold', 'silver', 'bronze'];

export function uidOf(index: number): string {
  return `c${String(index).padStart(6, '0')}`;
}

/** Create `<schema>.customers` (the demo's columns) with `size` active rows, in one INSERT … SELECT unnest(…). */
export async function seed(db: DbTarget, schema: string, size: number): Promise<number> {
  const started = performance.now();
  await withClient(db, async (client) => {
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE "${schema}".customers (
      id text PRIMARY KEY, active boolean NOT NULL, plan text NOT NULL, replicas integer NOT NULL,
      image text NOT NULL, domain text, created_at timestamp NOT NULL)`);
    const ids: string[] = [];
    const plans: string[] = [];
    const replicas: number[] = [];
    const images: string[] = [];
    const domains: Array<string | null> = [];
    const created: string[] = [];
    const epoch = Date.UTC(2024, 0, 1);
    for (let i = 0; i < size; i++) {
      const uid = uidOf(i);
      ids.push(uid);
      plans.push(PLANS[i % 3]!);
      replicas.push((i % 3) + 1);
      images.push(i % 2 === 0 ? 'nginx:1.27' : 'nginx:1.26');
      domains.push(i % 4 === 0 ? null : `${uid}.example.com`);
      created.push(new Date(epoch + i * 3_600_000).toISOString().replace('T', ' ').replace('Z', ''));
    }
    await client.query(
      `INSERT INTO "${schema}".customers (id, active, plan, replicas, image, domain, created_at)
       SELECT id, true, plan, replicas, image, domain, created_at
       FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::timestamp[]) AS t(id, plan, replicas, image, domain, created_at)`,
      [ids, plans, replicas, images, domains, created],
    );
    const { rows } = await client.query(`SELECT count(*)::int AS n FROM "${schema}".customers`);
    if (rows[0].n !== size) fail(`seeded ${rows[0].n} rows, expected ${size}`);
  });
  return performance.now() - started;
}

export function table(headers: string[], rows: string[][], align: Array<'l' | 'r'>): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w + 1)}:` : `:${'-'.repeat(w + 1)}`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

/** The bench hub: every row of `<schema>.customers`, the demo's extra columns mapped. */
export function benchHubDoc(
  db: DbTarget,
  schema: string,
  publish: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'operator.lynq.sh/v1',
    kind: 'LynqHub',
    metadata: { name: HUB_NAME, namespace: 'lynq-bench' },
    spec: {
      source: {
        type: 'postgresql',
        postgresql: {
          host: db.host,
          port: db.port,
          username: db.user,
          database: db.database,
          table: `${schema}.customers`,
        },
        syncInterval: '1m',
      },
      valueMappings: { uid: 'id', activate: 'active' },
      extraValueMappings: {
        plan: 'plan',
        replicas: 'replicas',
        image: 'image',
        domain: 'domain',
        createdAt: 'created_at',
      },
      publish: { branch: 'main', root: ROOT, ...publish },
      deletionGuard: { maxDeletePercent: 50 },
    },
  };
}

/** forms/demo-web.yaml as it is, with spec.hubId pointed at the bench hub. */
export async function benchFormDoc(): Promise<{ file: string; doc: Record<string, unknown> }> {
  const file = path.join(PROJECT, 'forms', 'demo-web.yaml');
  const doc = parseYaml(await readFile(file, 'utf8')) as { spec: { hubId: string } };
  doc.spec.hubId = HUB_NAME;
  return { file, doc };
}

/** CPU time of reaped child processes (git; Linux /proc/self/stat cutime + cstime, 10 ms ticks); NaN elsewhere. */
export function childCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return Number.NaN;
  }
}
