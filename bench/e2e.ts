/**
 * `npm run bench`, first part: the sync as a CronJob tick runs it. Every sync is a fresh
 * `node bin/lynq.mjs sync` process (start-up included: the compiled dist/, as the image runs
 * it, built first), timed from spawn to exit, its peak RSS read by GNU time. Beside it, in the same run
 * and on the same rows: the fast-import floor (the same files written by one `git
 * fast-import` process into an empty repository, from a stream prepared beforehand), and the
 * `lynq serve` tick (a webhook-triggered sync in a running service: no start-up).
 *
 * Per size: first sync (fresh bare repo and cache each run), no-op sync, one-row change; all
 * checked against the repository (a wrong result fails the bench, exit 1); times reported,
 * never asserted.
 *
 * With more than one size it also prints how each figure grows from one size to the next
 * (`BENCH_SIZES=1000,10000 BENCH_100K=1`: 1,000 → 10,000 → 100,000 rows).
 *
 * Environment (all optional): BENCH_SIZES=1000,10000 (BENCH_100K=1 adds 100000)
 * BENCH_RUNS=5,5,3  BENCH_SERVE=0 (skip the serve tick)  BENCH_FLOOR_MAX=10000 (no floor above
 * this many rows)  PGHOST PGPORT PGUSER PGDATABASE.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { stringify as stringifyYaml } from 'yaml';
import {
  BenchFailure,
  benchHubDoc,
  type DbTarget,
  fail,
  fmt,
  HUB_NAME,
  median,
  newBareRepo,
  pickDb,
  remoteHead,
  seed,
  table,
  withClient,
} from './common.ts';
import {
  build,
  countFiles,
  type Ctx,
  FILES_PER_NODE,
  firstSync,
  lynqSync,
  noopSync,
  oneRowSync,
  syncEnv,
  BIN,
  type Timed,
  timedProcess,
  writeBenchConfig,
} from './lynq-process.ts';

const run = promisify(execFile);
const FLOOR_MAX = Number(process.env.BENCH_FLOOR_MAX ?? 10_000);

type Series = { label: string; runs: Timed[] };
type SizeReport = { size: number; series: Series[]; serve?: { noop: number[]; oneRow: number[] } };

/**
 * The floor: the first sync's files, as one `git fast-import` stream (one commit, paths in
 * the order git lists them), written to a file beforehand so that producing it costs
 * nothing; each run imports it into a fresh empty bare repository.
 */
async function floorStream(ctx: Ctx, bare: string): Promise<string> {
  const file = path.join(ctx.dir, 'floor.stream');
  const out = createWriteStream(file);
  const write = (chunk: string | Buffer): Promise<void> =>
    out.write(chunk) ? Promise.resolve() : new Promise((resolve) => out.once('drain', () => resolve()));
  await write('commit refs/heads/main\ncommitter Bench <bench@example.com> 1700000000 +0000\ndata 5\nfloor\n');
  // cat-file --batch-all-objects would miss the paths: read the tree, then the blobs in that order.
  const listing = (await run('git', ['-C', bare, 'ls-tree', '-r', 'HEAD'], { maxBuffer: 1 << 30 })).stdout
    .split('\n')
    .filter(Boolean);
  const entries = listing.map((line) => {
    const tab = line.indexOf('\t');
    return { id: line.slice(0, tab).split(' ')[2]!, path: line.slice(tab + 1) };
  });
  const contents = await catBlobs(
    bare,
    entries.map((entry) => entry.id),
  );
  for (const [index, entry] of entries.entries()) {
    const body = contents[index]!;
    await write(`M 100644 inline ${entry.path}\ndata ${body.length}\n`);
    await write(body);
    await write('\n');
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return file;
}

async function catBlobs(bare: string, ids: string[]): Promise<Buffer[]> {
  const child = spawn('git', ['-C', bare, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise((resolve) => child.on('exit', resolve));
  child.stdin.end(`${ids.join('\n')}\n`);
  await done;
  const all = Buffer.concat(chunks);
  const out: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < ids.length; i++) {
    const eol = all.indexOf(10, at);
    const size = Number(all.subarray(at, eol).toString().split(' ')[2]);
    out.push(all.subarray(eol + 1, eol + 1 + size));
    at = eol + 1 + size + 1;
  }
  return out;
}

async function floorRun(ctx: Ctx, stream: string, i: number): Promise<Timed> {
  const runDir = await mkdtemp(path.join(ctx.dir, 'floor-'));
  const bare = await newBareRepo(runDir);
  const timed = await timedProcess(['git', '-C', bare, 'fast-import', '--quiet'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdin: stream,
    what: `fast-import floor, run ${i + 1}`,
  });
  const files = await countFiles(bare, 'refs/heads/main');
  if (files !== ctx.size * FILES_PER_NODE)
    fail(`fast-import floor, run ${i + 1}: ${files} files, expected ${ctx.size * FILES_PER_NODE}`);
  await rm(runDir, { recursive: true, force: true });
  return timed;
}

/**
 * The service's tick: `lynq serve` on the synced repository, each sync asked for by the
 * webhook; the figure is the sync's own time as the service logs it ("sync finished", ms).
 */
async function serveTicks(
  ctx: Ctx,
  bare: string,
  cacheDir: string,
  runs: number,
): Promise<{ noop: number[]; oneRow: number[] }> {
  const token = randomBytes(24).toString('hex');
  // serve has no --repo: its hub names the repository itself.
  const hubs = path.join(ctx.dir, 'serve-hubs');
  await mkdir(hubs);
  await writeFile(path.join(hubs, 'bench.yaml'), stringifyYaml(benchHubDoc(ctx.db, ctx.schema, { repo: bare })));
  const serve = spawn(
    process.execPath,
    [BIN, 'serve', '--hubs', hubs, '--forms', path.join(ctx.dir, 'forms'), '--listen', '127.0.0.1:0'],
    {
      env: { ...syncEnv(cacheDir), LYNQ_LOG_LEVEL: 'info', LYNQ_WEBHOOK_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  serve.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const finished = (): string[] => log.split('\n').filter((line) => line.includes('"msg":"sync finished"'));
  const waitFor = async (count: number): Promise<number> => {
    const deadline = performance.now() + 600_000;
    while (finished().length < count) {
      if (serve.exitCode !== null) fail(`lynq serve exited ${serve.exitCode}:\n${log.slice(-3000)}`);
      if (performance.now() > deadline) fail(`lynq serve: sync ${count} did not finish:\n${log.slice(-3000)}`);
      await sleep(10);
    }
    return Number(/"ms":(\d+)/.exec(finished()[count - 1]!)?.[1]);
  };
  try {
    await waitFor(1); // the sync it runs at start
    const address = /"address":"([^"]+)"/.exec(log)?.[1];
    if (address === undefined) fail(`lynq serve: no listening address logged:\n${log.slice(-2000)}`);
    const tick = async (): Promise<number> => {
      const count = finished().length;
      const response = await fetch(`http://${address}/hooks/sync/${HUB_NAME}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      if (response.status !== 202) fail(`webhook answered ${response.status}`);
      return waitFor(count + 1);
    };
    const noop: number[] = [];
    const oneRow: number[] = [];
    for (let i = 0; i < runs; i++) {
      const before = await remoteHead(bare);
      noop.push(await tick());
      if ((await remoteHead(bare)) !== before) fail(`serve no-op tick ${i + 1}: main moved`);
    }
    for (let i = 0; i < runs; i++) {
      let ms = 0;
      await oneRowSync(ctx, bare, i + runs, async () => {
        ms = await tick();
        return { ms, rssMiB: 0, cpuMs: Number.NaN };
      });
      oneRow.push(ms);
    }
    return { noop, oneRow };
  } finally {
    serve.kill('SIGTERM');
    if (serve.exitCode === null) await new Promise((resolve) => serve.once('exit', resolve));
  }
}

async function benchSize(db: DbTarget, size: number, runs: number, workRoot: string): Promise<SizeReport> {
  const schema = `lynq_e2e_${size}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dir = path.join(workRoot, String(size));
  const ctx: Ctx = { size, db, schema, dir };
  const log = (text: string): void => void process.stderr.write(`  [${size}] ${text}\n`);
  try {
    log(`seeding ${size} rows`);
    await seed(db, schema, size);
    await writeBenchConfig(ctx);
    const series = (label: string): Series => ({ label, runs: [] });
    const record = (into: Series, timed: Timed, i: number): void => {
      into.runs.push(timed);
      log(`${into.label} ${i + 1}/${runs}: ${fmt(timed.ms)} ms, peak RSS ${timed.rssMiB.toFixed(0)} MiB`);
    };

    const first = series('lynq sync: first (all added)');
    let kept: { bare: string; cacheDir: string } | undefined;
    for (let i = 0; i < runs; i++) {
      const outcome = await firstSync(ctx, i);
      record(first, outcome, i);
      if (kept === undefined) kept = outcome;
      else await rm(outcome.runDir, { recursive: true, force: true });
    }
    const floor = series('fast-import floor (same files)');
    // The floor writes every file into its folder one by one, and fast-import scans a folder per entry it
    // adds: past FLOOR_MAX nodes that scan (quadratic in the form folder's width) is all it measures.
    if (size <= FLOOR_MAX) {
      const stream = await floorStream(ctx, kept!.bare);
      for (let i = 0; i < runs; i++) record(floor, await floorRun(ctx, stream, i), i);
      await rm(stream);
    } else log(`no fast-import floor above ${FLOOR_MAX} rows (BENCH_FLOOR_MAX)`);

    const noop = series('lynq sync: no-op');
    for (let i = 0; i < runs; i++) record(noop, await noopSync(ctx, kept!.bare, kept!.cacheDir, i), i);
    const oneRow = series('lynq sync: one-row change');
    for (let i = 0; i < runs; i++)
      record(
        oneRow,
        await oneRowSync(ctx, kept!.bare, i, () =>
          lynqSync(ctx, kept!.bare, kept!.cacheDir, `one-row change, run ${i + 1}`),
        ),
        i,
      );

    const report: SizeReport = { size, series: [first, floor, noop, oneRow] };
    if (process.env.BENCH_SERVE !== '0') {
      log('lynq serve ticks');
      report.serve = await serveTicks(ctx, kept!.bare, kept!.cacheDir, runs);
    }
    return report;
  } finally {
    await withClient(db, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

function print(reports: SizeReport[], distUsed: string): void {
  const out: string[] = [''];
  out.push(
    `End to end, a fresh process per sync (${distUsed}) — node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${new Date().toISOString().slice(0, 10)}`,
  );
  out.push(
    `One form (forms/demo-web.yaml: 5 resources → 7 files per node). Medians; load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}.`,
    '',
  );
  const rows: string[][] = [];
  for (const report of reports) {
    const floor = report.series[1]!.runs.length > 0 ? median(report.series[1]!.runs.map((r) => r.ms)) : Number.NaN;
    for (const s of report.series) {
      const times = s.runs.map((r) => r.ms);
      if (times.length === 0) continue;
      const med = median(times);
      rows.push([
        report.size.toLocaleString('en-US'),
        s.label,
        String(times.length),
        fmt(med),
        `${fmt(Math.min(...times))}–${fmt(Math.max(...times))}`,
        (med / report.size).toFixed(3),
        `${median(s.runs.map((r) => r.rssMiB)).toFixed(0)} MiB`,
        s.label.startsWith('fast-import') ? '1.00×' : Number.isNaN(floor) ? '-' : `${(med / floor).toFixed(2)}×`,
      ]);
    }
    if (report.serve !== undefined) {
      for (const [label, times] of [
        ['lynq serve tick: no-op (no start-up)', report.serve.noop],
        ['lynq serve tick: one-row change', report.serve.oneRow],
      ] as const) {
        const med = median(times);
        rows.push([
          report.size.toLocaleString('en-US'),
          label,
          String(times.length),
          fmt(med),
          `${fmt(Math.min(...times))}–${fmt(Math.max(...times))}`,
          (med / report.size).toFixed(3),
          '-',
          Number.isNaN(floor) ? '-' : `${(med / floor).toFixed(2)}×`,
        ]);
      }
    }
  }
  out.push(
    table(['rows', 'what', 'runs', 'median ms', 'min–max ms', 'ms/node', 'peak RSS', 'vs floor'], rows, [
      'r',
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
      'r',
    ]),
    '',
  );
  if (reports.length > 1) out.push(growth(reports), '');
  out.push(
    '  lynq sync: `node bin/lynq.mjs sync` spawned → exited (start-up, database, render, git, push); peak RSS by GNU time (%M).',
    '  fast-import floor: the first sync’s files as one prepared fast-import stream, imported by one `git fast-import` into an empty repository.',
    '  serve tick: a webhook-triggered sync in a running `lynq serve`, its own time as logged (lock to push, no start-up).',
    '',
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Each figure's medians per size, in the order of the sizes (NaN where a size has none). */
function figures(reports: SizeReport[]): Array<{ label: string; unit: 'ms' | 'MiB'; values: number[] }> {
  const series = (index: number, pick: (t: Timed) => number) =>
    reports.map((r) => (r.series[index]!.runs.length > 0 ? median(r.series[index]!.runs.map(pick)) : Number.NaN));
  const serve = (pick: (s: NonNullable<SizeReport['serve']>) => number[]) =>
    reports.map((r) => (r.serve === undefined ? Number.NaN : median(pick(r.serve))));
  return [
    { label: 'lynq sync: first (all added)', unit: 'ms', values: series(0, (t) => t.ms) },
    { label: 'fast-import floor', unit: 'ms', values: series(1, (t) => t.ms) },
    { label: 'lynq sync: no-op', unit: 'ms', values: series(2, (t) => t.ms) },
    { label: 'lynq sync: one-row change', unit: 'ms', values: series(3, (t) => t.ms) },
    { label: 'lynq serve tick: no-op', unit: 'ms', values: serve((s) => s.noop) },
    { label: 'lynq serve tick: one-row change', unit: 'ms', values: serve((s) => s.oneRow) },
    { label: 'peak RSS: first sync', unit: 'MiB', values: series(0, (t) => t.rssMiB) },
    { label: 'peak RSS: no-op', unit: 'MiB', values: series(2, (t) => t.rssMiB) },
    { label: 'peak RSS: one-row change', unit: 'MiB', values: series(3, (t) => t.rssMiB) },
  ];
}

/**
 * How each figure grows from one size to the next: its median at each size, and the ratio
 * of each size's to the one before beside the ratio of the rows (growing like the rows is
 * a ratio equal to theirs; a fixed cost, such as start-up, keeps it lower).
 */
function growth(reports: SizeReport[]): string {
  const sizes = reports.map((r) => r.size);
  const steps = sizes.slice(1).map((size, i) => ({
    from: i,
    to: i + 1,
    label: `${sizes[i]!.toLocaleString('en-US')} → ${size.toLocaleString('en-US')} (rows ×${(size / sizes[i]!).toFixed(0)})`,
  }));
  const shown = (value: number, unit: 'ms' | 'MiB'): string =>
    Number.isNaN(value) ? '-' : unit === 'ms' ? `${fmt(value)} ms` : `${value.toFixed(0)} MiB`;
  const rows = figures(reports).map((figure) => [
    figure.label,
    ...figure.values.map((value) => shown(value, figure.unit)),
    ...steps.map((step) => {
      const ratio = figure.values[step.to]! / figure.values[step.from]!;
      return Number.isNaN(ratio) ? '-' : `×${ratio.toFixed(2)}`;
    }),
  ]);
  return [
    'How each figure grows with the rows (medians; growth = the larger size ÷ the smaller):',
    '',
    table(
      ['what', ...sizes.map((size) => `${size.toLocaleString('en-US')} rows`), ...steps.map((step) => step.label)],
      rows,
      ['l', ...sizes.map(() => 'r' as const), ...steps.map(() => 'r' as const)],
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const sizes = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
  if (process.env.BENCH_100K === '1' && !sizes.includes(100_000)) sizes.push(100_000);
  const runsList = (process.env.BENCH_RUNS ?? '5,5,3').split(',').map(Number);
  const distUsed = await build();
  const db = await pickDb();
  const workRoot = await mkdtemp(path.join(os.tmpdir(), 'lynq-bench-e2e-'));
  const reports: SizeReport[] = [];
  let failed = false;
  try {
    for (const [index, size] of sizes.entries()) {
      const runs = runsList[index] ?? runsList.at(-1) ?? 3;
      process.stderr.write(`bench e2e: ${size} rows, ${runs} runs each\n`);
      try {
        reports.push(await benchSize(db, size, runs, workRoot));
      } catch (error) {
        failed = true;
        process.stderr.write(
          `bench e2e: FAILED at ${size} rows: ${error instanceof BenchFailure ? `wrong result: ${error.message}` : ((error as Error).stack ?? String(error))}\n`,
        );
      }
    }
  } finally {
    await rm(workRoot, { recursive: true, force: true });
  }
  if (reports.length > 0) print(reports, distUsed);
  if (failed) process.exitCode = 1;
}

await main();
