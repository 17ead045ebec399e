/**
 * The sync as a CronJob tick runs it, for the benches that time it end to end (bench/e2e.ts,
 * bench/terraform.ts): a fresh `node bin/lynq.mjs sync` per sync under GNU time, and the
 * first, no-op and one-row-change syncs each checked against the repository.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { stringify as stringifyYaml } from 'yaml';
import {
  benchFormDoc,
  benchHubDoc,
  type DbTarget,
  fail,
  FORM_NAME,
  git,
  HUB_NAME,
  newBareRepo,
  PROJECT,
  remoteHead,
  ROOT,
  uidOf,
  withClient,
} from './common.ts';

const run = promisify(execFile);
export const BIN = path.join(PROJECT, 'bin', 'lynq.mjs');
export const FILES_PER_NODE = 7;

/**
 * One timed process: wall ms from spawn to exit, its peak RSS (GNU time's %M, the largest of
 * it and the children it waited for) and its CPU (user + system, its waited-for children's included).
 */
export type Timed = { ms: number; rssMiB: number; cpuMs: number };

/**
 * A command under GNU time; fails the bench on a non-zero exit. `stdout`: a file its
 * standard output goes to (for a caller that checks what it printed); otherwise discarded.
 */
export async function timedProcess(
  command: string[],
  options: { env: NodeJS.ProcessEnv; stdin?: string; stdout?: string; cwd?: string; what: string },
): Promise<Timed> {
  const timeFile = path.join(os.tmpdir(), `lynq-bench-time-${process.pid}-${randomBytes(4).toString('hex')}`);
  const out = options.stdout === undefined ? 'ignore' : openSync(options.stdout, 'w');
  const started = performance.now();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, ...command], {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', out, 'pipe'],
    });
    if (options.stdin !== undefined) createReadStream(options.stdin).pipe(child.stdin!);
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (exitCode) => resolve({ code: exitCode, stderr: err }));
  }).finally(() => {
    if (typeof out === 'number') closeSync(out);
  });
  const ms = performance.now() - started;
  // GNU time writes "Command exited with non-zero status N" before its own line when the command fails.
  const [rssKiB, user, system] = (await readFile(timeFile, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number);
  await rm(timeFile, { force: true });
  if (process.env.BENCH_LOG_LEVEL) process.stderr.write(stderr.slice(-5000));
  if (code !== 0) {
    const printed = options.stdout === undefined ? '' : (await readFile(options.stdout, 'utf8')).slice(-3000);
    fail(`${options.what}: exited ${code}:\n${printed}${stderr.slice(-3000)}`);
  }
  return { ms, rssMiB: rssKiB! / 1024, cpuMs: (user! + system!) * 1000 };
}

export function syncEnv(cacheDir: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LYNQ_CACHE_DIR: cacheDir,
    LYNQ_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  };
}

/** One size of a bench: its rows (`<schema>.customers`, `size` of them) and its work folder, which holds `hubs/` and `forms/`. */
export type Ctx = { size: number; db: DbTarget; schema: string; dir: string };

/** `hubs/bench.yaml` (the hub HUB_NAME: every row of the ctx's table) and `forms/web.yaml` (forms/demo-web.yaml) in the ctx's folder. */
export async function writeBenchConfig(ctx: Ctx): Promise<void> {
  await mkdir(path.join(ctx.dir, 'hubs'), { recursive: true });
  await mkdir(path.join(ctx.dir, 'forms'), { recursive: true });
  await writeFile(path.join(ctx.dir, 'hubs', 'bench.yaml'), stringifyYaml(benchHubDoc(ctx.db, ctx.schema)));
  await writeFile(path.join(ctx.dir, 'forms', 'web.yaml'), stringifyYaml((await benchFormDoc()).doc));
}

/** `bin`: the `lynq` to run (another checkout's bin/lynq.mjs, for bench/compare.ts); this checkout's by default. */
export async function lynqSync(ctx: Ctx, bare: string, cacheDir: string, what: string, bin = BIN): Promise<Timed> {
  const out = path.join(ctx.dir, `sync-${process.pid}.out`);
  const timed = await timedProcess(
    [
      process.execPath,
      bin,
      'sync',
      '--hubs',
      path.join(ctx.dir, 'hubs'),
      '--forms',
      path.join(ctx.dir, 'forms'),
      '--repo',
      bare,
    ],
    {
      env: syncEnv(cacheDir),
      stdout: out,
      what,
    },
  );
  // A sync that found its hub's lock held did nothing: timing it would time nothing.
  const printed = await readFile(out, 'utf8');
  if (printed.includes('skipped, sync lock held')) fail(`${what}: ${printed.trim()}`);
  return timed;
}

export async function countFiles(bare: string, commit: string): Promise<number> {
  // A pipe through wc: at 100,000 nodes the listing is 700,000 lines.
  const { stdout } = await run('sh', ['-c', `git -C '${bare}' ls-tree -r --name-only '${commit}' | wc -l`]);
  return Number(stdout.trim());
}

export async function firstSync(
  ctx: Ctx,
  i: number,
  bin = BIN,
): Promise<Timed & { bare: string; cacheDir: string; runDir: string }> {
  const runDir = await mkdtemp(path.join(ctx.dir, 'first-'));
  const bare = await newBareRepo(runDir);
  const cacheDir = path.join(runDir, 'cache');
  const timed = await lynqSync(ctx, bare, cacheDir, `first sync, run ${i + 1}`, bin);
  const head = await remoteHead(bare);
  if (head === undefined) fail(`first sync, run ${i + 1}: no commit on main`);
  const files = await countFiles(bare, head);
  if (files !== ctx.size * FILES_PER_NODE)
    fail(`first sync, run ${i + 1}: ${files} files on main, expected ${ctx.size * FILES_PER_NODE}`);
  return { ...timed, bare, cacheDir, runDir };
}

export async function noopSync(ctx: Ctx, bare: string, cacheDir: string, i: number, bin = BIN): Promise<Timed> {
  const before = await remoteHead(bare);
  const timed = await lynqSync(ctx, bare, cacheDir, `no-op sync, run ${i + 1}`, bin);
  const after = await remoteHead(bare);
  if (after !== before) fail(`no-op sync, run ${i + 1}: main moved from ${before} to ${after}`);
  return timed;
}

/** The row the `i`th one-row change updates: spread over the table, a different one each run. */
export function changedUid(size: number, i: number): string {
  return uidOf(((i + 1) * Math.floor(size / 11)) % size);
}

/** UPDATE one row's replicas; exactly that node's web.yaml and lynqnode.yaml change, in one commit on the old head. */
export async function oneRowSync(ctx: Ctx, bare: string, i: number, change: () => Promise<Timed>): Promise<Timed> {
  await changeRow(ctx, i);
  const before = await remoteHead(bare);
  const timed = await change();
  await checkOneRowCommit(ctx, bare, before, i);
  return timed;
}

/** The `i`th one-row change's UPDATE (replicas + 10 of changedUid's row). */
export async function changeRow(ctx: Ctx, i: number): Promise<void> {
  await withClient(ctx.db, (client) =>
    client.query(`UPDATE "${ctx.schema}".customers SET replicas = replicas + 10 WHERE id = $1`, [
      changedUid(ctx.size, i),
    ]),
  );
}

/** The sync after changeRow made one commit on `before` that changes exactly that node's web.yaml and lynqnode.yaml. */
export async function checkOneRowCommit(ctx: Ctx, bare: string, before: string | undefined, i: number): Promise<void> {
  const uid = changedUid(ctx.size, i);
  const after = await remoteHead(bare);
  const what = `one-row change (${uid}), run ${i + 1}`;
  if (after === before || after === undefined) fail(`${what}: no commit`);
  const parent = (await git(bare, 'rev-parse', `${after}^`)).trim();
  if (parent !== before) fail(`${what}: the commit's parent is ${parent}, expected ${before}`);
  const changed = (await git(bare, 'diff-tree', '-r', '--name-only', '--no-commit-id', before!, after))
    .split('\n')
    .filter(Boolean);
  const dir = `${ROOT}/${HUB_NAME}/${FORM_NAME}/${uid}/`;
  if (changed.join(',') !== `${dir}lynqnode.yaml,${dir}web.yaml`) fail(`${what}: changed ${JSON.stringify(changed)}`);
}

/** The image runs dist/: build it (esbuild, about a second), so bin/lynq.mjs runs what the sources say, compiled. */
export async function build(): Promise<string> {
  await run('npm', ['run', 'build'], { cwd: PROJECT });
  return 'compiled dist/';
}
