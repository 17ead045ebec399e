/**
 * `npm run bench:compare`: this checkout's `lynq sync` against another build of it (the code
 * before a change), end to end and in the same run: each build gets its own first sync into
 * its own bare repository and cache folder from the same rows, then their no-op syncs and
 * their syncs of the same one-row change alternate run by run (which goes first alternates
 * too), so both see the same load. Every result is checked as bench/e2e.ts checks it; times
 * are reported, never asserted.
 *
 * Environment: BENCH_BASE=<folder> (required: a checkout of the code to compare against, its
 * dist/ built, e.g. `git archive main | tar -x -C /tmp/base && cd /tmp/base && npm ci`)
 * BENCH_COMPARE_SIZE=10000  BENCH_COMPARE_RUNS=9  PGHOST PGPORT PGUSER PGDATABASE.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fmt, median, pickDb, remoteHead, seed, table, withClient } from './common.ts';
import {
  BIN,
  build,
  changeRow,
  checkOneRowCommit,
  type Ctx,
  firstSync,
  lynqSync,
  noopSync,
  type Timed,
  writeBenchConfig,
} from './lynq-process.ts';

type Build = {
  name: string;
  bin: string;
  bare: string;
  cacheDir: string;
  first: Timed;
  noop: Timed[];
  oneRow: Timed[];
};

const loadavg = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function main(): Promise<void> {
  const base = process.env.BENCH_BASE;
  if (base === undefined || !existsSync(path.join(base, 'dist', 'cli', 'lynq.cjs'))) {
    throw new Error(
      'BENCH_BASE must name a checkout with dist/ built (the code to compare against): see bench/README.md, "Before and after"',
    );
  }
  const size = Number(process.env.BENCH_COMPARE_SIZE ?? 10_000);
  const runs = Number(process.env.BENCH_COMPARE_RUNS ?? 9);
  await build();
  const db = await pickDb();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-bench-compare-'));
  const ctx: Ctx = { size, db, schema: `lynq_compare_${size}_${process.pid}_${randomBytes(3).toString('hex')}`, dir };
  const log = (text: string): void => void process.stderr.write(`  [${size}] ${text}\n`);
  const loadStart = loadavg();
  try {
    await seed(db, ctx.schema, size);
    await writeBenchConfig(ctx);
    const builds: Build[] = [];
    for (const [name, bin] of [
      ['before (BENCH_BASE)', path.join(path.resolve(base), 'bin', 'lynq.mjs')],
      ['after (this checkout)', BIN],
    ] as const) {
      const first = await firstSync(ctx, 0, bin);
      log(`${name}: first sync ${fmt(first.ms)} ms`);
      builds.push({ name, bin, bare: first.bare, cacheDir: first.cacheDir, first, noop: [], oneRow: [] });
    }
    // Which build goes first alternates run by run: a drift in the machine's load falls on both alike.
    const inTurn = (i: number): Build[] => (i % 2 === 0 ? builds : [...builds].reverse());
    for (let i = 0; i < runs; i++) {
      for (const b of inTurn(i)) {
        b.noop.push(await noopSync(ctx, b.bare, b.cacheDir, i, b.bin));
        log(`${b.name}: no-op ${i + 1}: ${fmt(b.noop.at(-1)!.ms)} ms, ${fmt(b.noop.at(-1)!.cpuMs)} ms CPU`);
      }
    }
    for (let i = 0; i < runs; i++) {
      await changeRow(ctx, i);
      for (const b of inTurn(i)) {
        const before = await remoteHead(b.bare);
        b.oneRow.push(await lynqSync(ctx, b.bare, b.cacheDir, `one-row change, run ${i + 1}`, b.bin));
        await checkOneRowCommit(ctx, b.bare, before, i);
        log(
          `${b.name}: one-row change ${i + 1}: ${fmt(b.oneRow.at(-1)!.ms)} ms, ${fmt(b.oneRow.at(-1)!.cpuMs)} ms CPU`,
        );
      }
    }
    print(builds, size, runs, loadStart);
  } finally {
    await withClient(db, (client) => client.query(`DROP SCHEMA IF EXISTS "${ctx.schema}" CASCADE`)).catch(
      () => undefined,
    );
    await rm(dir, { recursive: true, force: true });
  }
}

function print(builds: Build[], size: number, runs: number, loadStart: string): void {
  const [before, after] = builds as [Build, Build];
  const rows: string[][] = [];
  const cell = (timed: Timed[], pick: (t: Timed) => number): string => {
    const values = timed.map(pick);
    return `${fmt(median(values))} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
  };
  for (const [what, pickRuns] of [
    ['no-op', (b: Build) => b.noop],
    ['one-row change', (b: Build) => b.oneRow],
  ] as const) {
    for (const [measure, pick] of [
      ['wall ms', (t: Timed) => t.ms],
      ['CPU ms', (t: Timed) => t.cpuMs],
      ['peak RSS MiB', (t: Timed) => t.rssMiB],
    ] as const) {
      const ratio = median(pickRuns(after).map(pick)) / median(pickRuns(before).map(pick));
      rows.push([
        size.toLocaleString('en-US'),
        what,
        measure,
        cell(pickRuns(before), pick),
        cell(pickRuns(after), pick),
        `${ratio.toFixed(2)}×`,
      ]);
    }
  }
  const out = [
    '',
    `Before and after, end to end, same run, alternating — node ${process.version}, ${os.cpus().length} CPUs, ${new Date().toISOString()}; load average ${loadStart} at the start, ${loadavg()} at the end.`,
    `Medians of ${runs} (min–max). First syncs (one each, setup): before ${fmt(before.first.ms)} ms, after ${fmt(after.first.ms)} ms.`,
    '',
    table(['rows', 'sync', 'measure', 'before', 'after', 'after ÷ before'], rows, ['r', 'l', 'l', 'r', 'r', 'r']),
    '',
    '  Each sync a fresh `node bin/lynq.mjs sync` (compiled dist/), spawn → exit; CPU = user + system with its git children (GNU time).',
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

await main();
