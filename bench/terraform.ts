/**
 * `npm run bench:terraform` (and the end of `npm run bench` with BENCH_TERRAFORM=1): the
 * bridge beside Terraform doing the same job the Terraform way, in the same run, on the same
 * rows, in two layouts (bench/terraform-layouts.ts): a root module with `for_each` over the
 * rows, and one `module` block per tenant row. The rows are exported from PostgreSQL to a JSON
 * file; one `terraform_data` (the built-in `terraform` provider: no plugin to download, no API
 * to call) per row and resource, its `input` that resource's manifest as the bridge renders
 * it; local state.
 *
 * Per size: the bridge's first sync and each layout's first apply (once each, setup), then,
 * interleaved run by run so all see the same load: the bridge's no-op sync, each layout's
 * no-change plan (`-refresh=true`, the default, and `-refresh=false`), the bridge's one-row
 * change and each layout's apply of the same row's change. Every result is checked (a
 * no-change plan that plans anything, or a one-row apply that touches anything but that row's
 * Deployment, fails the bench: exit 1); times are reported, never asserted.
 *
 * Environment (all optional): BENCH_TERRAFORM_SIZES=100,200 (Terraform's time grows faster than
 * linearly with the resources: 400 rows' first apply is minutes)  BENCH_TERRAFORM_RUNS=3
 * BENCH_TERRAFORM_LAYOUTS=for_each,module  BENCH_TERRAFORM_FIRST=apply|state (state: no first
 * apply; the state file it would have written is written by the bench, and checked by the plan
 * and apply after it: how sizes whose first apply would take hours are reached)
 * BENCH_TERRAFORM_STEPS=plan,plan-no-refresh,apply (which of the timed Terraform runs after the
 * first are made; the bridge's no-op and one-row change always are)  PGHOST PGPORT PGUSER
 * PGDATABASE.
 * `--from-bench` (how `npm run bench` calls it): skip unless BENCH_TERRAFORM=1.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config/load.ts';
import { defaultSecretEnv } from '../src/config/secrets.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { formHash, renderNode } from '../src/plan/node.ts';
import { templateVariables } from '../src/plan/render-hub.ts';
import { checkRoot } from '../src/render/paths.ts';
import { TemplateEngine } from '../src/render/template.ts';
import { readHubRows } from '../src/sources/factory.ts';
import { BRIDGE_VERSION } from '../src/version.ts';
import { BenchFailure, type DbTarget, fail, fmt, median, pickDb, seed, table, withClient } from './common.ts';
import {
  build,
  changedUid,
  type Ctx,
  firstSync,
  noopSync,
  oneRowSync,
  type Timed,
  timedProcess,
  writeBenchConfig,
  lynqSync,
} from './lynq-process.ts';
import { deploymentAddress, LAYOUTS, type Layout, layoutFiles, writeState } from './terraform-layouts.ts';

const run = promisify(execFile);

type Series = { label: string; runs: Timed[] };
/** One layout's Terraform runs at one size. */
type LayoutSeries = { apply: Series; plan: Series; planNoRefresh: Series; oneRow: Series };
type SizeReport = {
  size: number;
  resources: number;
  lynqFirst: Series;
  lynqNoop: Series;
  lynqOneRow: Series;
  terraform: Map<Layout, LayoutSeries>;
  /** Rendering every row into nodes.json, in the bench process: what a Terraform user's export would do; in none of Terraform's figures. */
  exportMs: number[];
};

type Nodes = Record<string, Record<string, string>>;

/** `terraform version`'s first line, or undefined when there is no terraform on PATH. */
async function terraformVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('terraform', ['version'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
    });
    return stdout.split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

/**
 * Every active row's rendered resources, as `{ uid: { resourceId: manifest as JSON } }`: the
 * bridge's own renderer (as `lynq render` runs it) on the rows the bridge reads, each
 * manifest parsed back from the YAML file the bridge commits; and the resource ids in the
 * form's order.
 */
async function exportNodes(ctx: Ctx): Promise<{ nodes: Nodes; resourceIds: string[] }> {
  const config = await loadConfig({ hubsDir: path.join(ctx.dir, 'hubs'), formsDir: path.join(ctx.dir, 'forms') });
  const [hub] = [...config.hubs.values()];
  const form = config.forms[0]!;
  const rows = await readHubRows(hub!, { secretEnv: defaultSecretEnv(new SecretRegistry()), logger: silentLogger() });
  const root = checkRoot(hub!.spec.publish.root, { hub: hub!.name, file: hub!.file, field: 'spec.publish.root' });
  const context = {
    hub: hub!,
    form,
    formHash: formHash(form),
    engine: new TemplateEngine(templateVariables(hub!)),
    root,
    bridgeVersion: BRIDGE_VERSION,
  };
  const nodes: Nodes = {};
  for (const row of rows) {
    if (!row.active) continue;
    const rendered = renderNode(context, row);
    const byName = new Map(rendered.files.map((f) => [f.name, f.content]));
    const manifests: Record<string, string> = {};
    // As JSON text, decoded per instance in HCL: a map of strings keeps for_each's collection small (terraform-layouts.ts).
    for (const resource of rendered.resources)
      manifests[resource.id] = JSON.stringify(parseYaml(byName.get(resource.file)!));
    nodes[row.uid] = manifests;
  }
  if (Object.keys(nodes).length !== ctx.size) fail(`export: ${Object.keys(nodes).length} nodes, expected ${ctx.size}`);
  return { nodes, resourceIds: form.resources.map((resource) => resource.id) };
}

type Terraform = { dir: string; env: NodeJS.ProcessEnv };

function terraform(tf: Terraform, args: string[], what: string, stdout: string): Promise<Timed> {
  return timedProcess(['terraform', ...args, '-input=false', '-no-color'], { cwd: tf.dir, env: tf.env, stdout, what });
}

/** Terraform's summary line ("Resources: 0 added, 1 changed, 0 destroyed.") and the addresses it created, modified or destroyed. */
async function applied(stdout: string): Promise<{ summary: string; touched: string[] }> {
  const text = await readFile(stdout, 'utf8');
  const summary =
    /Apply complete! Resources: ([^\n]*)/.exec(text)?.[1] ?? `no "Apply complete!" line in:\n${text.slice(-2000)}`;
  const touched = [...text.matchAll(/^(\S+): (?:Creating|Modifying|Destroying)\.\.\./gm)].map((match) => match[1]!);
  return { summary, touched };
}

/** How Terraform's state comes to hold every row before the timed runs: its own first apply (timed), or the bench writing the state that apply leaves. */
type Setup = { first: 'apply' | 'state'; version: string; steps: ReadonlySet<Step>; layouts: readonly Layout[] };

/** The timed Terraform runs after the first: each takes most of an hour at 10,000 rows, so a run can take some of them. */
const STEPS = ['plan', 'plan-no-refresh', 'apply'] as const;
type Step = (typeof STEPS)[number];

const LAYOUT_LABEL: Record<Layout, string> = { for_each: 'for_each', module: 'module per tenant' };

function layoutSeries(layout: Layout): LayoutSeries {
  const label = (what: string): Series => ({ label: `terraform (${LAYOUT_LABEL[layout]}) ${what}`, runs: [] });
  return {
    apply: label('apply: first (all created)'),
    plan: label('plan: no change (-refresh=true)'),
    planNoRefresh: label('plan: no change (-refresh=false)'),
    oneRow: label('apply: one-row change'),
  };
}

/** One layout's Terraform folder: its configuration and `nodes.json` written, `terraform init` run. */
type LayoutRun = { layout: Layout; tf: Terraform; out: string; series: LayoutSeries };

async function prepareLayout(
  layout: Layout,
  dir: string,
  exported: { nodes: Nodes; resourceIds: string[] },
  env: NodeJS.ProcessEnv,
): Promise<LayoutRun> {
  const tf: Terraform = { dir: path.join(dir, `terraform-${layout}`), env };
  const files = layoutFiles(layout, exported.resourceIds, Object.keys(exported.nodes));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(tf.dir, name)), { recursive: true });
    await writeFile(path.join(tf.dir, name), text);
  }
  await writeFile(path.join(tf.dir, 'nodes.json'), JSON.stringify(exported.nodes));
  const out = path.join(dir, `terraform-${layout}.out`);
  await terraform(tf, ['init'], `terraform init (${layout})`, out);
  return { layout, tf, out, series: layoutSeries(layout) };
}

async function benchSize(
  db: DbTarget,
  size: number,
  runs: number,
  setup: Setup,
  workRoot: string,
): Promise<SizeReport> {
  const schema = `lynq_tf_${size}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dir = path.join(workRoot, String(size));
  const ctx: Ctx = { size, db, schema, dir };
  const log = (text: string): void => void process.stderr.write(`  [${size}] ${text}\n`);
  // No CLI configuration and no update check (no network here, and it is not what is measured); output for automation.
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    TF_CLI_CONFIG_FILE: '/dev/null',
  };
  const series = (label: string): Series => ({ label, runs: [] });
  const report: SizeReport = {
    size,
    resources: 0,
    lynqFirst: series('lynq sync: first (all added)'),
    lynqNoop: series('lynq sync: no-op'),
    lynqOneRow: series('lynq sync: one-row change'),
    terraform: new Map(),
    exportMs: [],
  };
  const record = (into: Series, timed: Timed, i: number): void => {
    into.runs.push(timed);
    log(
      `${into.label} ${i + 1}: ${fmt(timed.ms)} ms, ${fmt(timed.cpuMs)} ms CPU, peak RSS ${timed.rssMiB.toFixed(0)} MiB`,
    );
  };
  const exportRows = async (): Promise<{ nodes: Nodes; resourceIds: string[] }> => {
    const started = performance.now();
    const exported = await exportNodes(ctx);
    report.exportMs.push(performance.now() - started);
    return exported;
  };
  await mkdir(dir, { recursive: true });
  try {
    log(`seeding ${size} rows`);
    await seed(db, schema, size);
    await writeBenchConfig(ctx);

    const first = await firstSync(ctx, 0);
    record(report.lynqFirst, first, 0);
    const exported = await exportRows();
    report.resources = exported.resourceIds.length;
    const all = size * exported.resourceIds.length;
    const layouts: LayoutRun[] = [];
    for (const layout of setup.layouts) {
      const prepared = await prepareLayout(layout, dir, exported, env);
      layouts.push(prepared);
      report.terraform.set(layout, prepared.series);
      if (setup.first === 'state') {
        const started = performance.now();
        await writeState({
          layout,
          file: path.join(prepared.tf.dir, 'terraform.tfstate'),
          nodes: exported.nodes,
          resourceIds: exported.resourceIds,
          version: setup.version,
        });
        log(
          `terraform.tfstate (${layout}) of ${all} resources written, not applied (BENCH_TERRAFORM_FIRST=state): ${fmt(performance.now() - started)} ms`,
        );
        continue;
      }
      log(`terraform apply (${layout}) of ${all} resources`);
      record(
        prepared.series.apply,
        await terraform(prepared.tf, ['apply', '-auto-approve'], `terraform apply (${layout}, first)`, prepared.out),
        0,
      );
      const created = await applied(prepared.out);
      if (created.summary !== `${all} added, 0 changed, 0 destroyed.`)
        fail(`terraform apply (${layout}, first): ${created.summary}`);
    }

    for (let i = 0; i < runs; i++) {
      record(report.lynqNoop, await noopSync(ctx, first.bare, first.cacheDir, i), i);
      for (const { layout, tf, out, series: s } of layouts) {
        // -detailed-exitcode: 0 no changes, 2 changes planned (a failure here: nothing changed), 1 an error.
        if (setup.steps.has('plan'))
          record(
            s.plan,
            await terraform(
              tf,
              ['plan', '-detailed-exitcode', '-refresh=true'],
              `terraform plan (${layout}, no change), run ${i + 1}`,
              out,
            ),
            i,
          );
        if (setup.steps.has('plan-no-refresh')) {
          record(
            s.planNoRefresh,
            await terraform(
              tf,
              ['plan', '-detailed-exitcode', '-refresh=false'],
              `terraform plan -refresh=false (${layout}, no change), run ${i + 1}`,
              out,
            ),
            i,
          );
        }
      }
    }
    for (let i = 0; i < runs; i++) {
      // The bridge's change first (it UPDATEs the row), then the same change the Terraform way: export, apply.
      record(
        report.lynqOneRow,
        await oneRowSync(ctx, first.bare, i, () =>
          lynqSync(ctx, first.bare, first.cacheDir, `one-row change, run ${i + 1}`),
        ),
        i,
      );
      if (!setup.steps.has('apply')) continue;
      const changedNodes = JSON.stringify((await exportRows()).nodes);
      const uid = changedUid(size, i);
      for (const { layout, tf, out, series: s } of layouts) {
        await writeFile(path.join(tf.dir, 'nodes.json'), changedNodes);
        record(
          s.oneRow,
          await terraform(
            tf,
            ['apply', '-auto-approve'],
            `terraform apply (${layout}, one-row change ${uid}), run ${i + 1}`,
            out,
          ),
          i,
        );
        const changed = await applied(out);
        const expected = deploymentAddress(layout, uid);
        if (changed.summary !== '0 added, 1 changed, 0 destroyed.' || changed.touched.join(',') !== expected) {
          fail(
            `terraform apply (${layout}, one-row change ${uid}), run ${i + 1}: ${changed.summary}; touched ${JSON.stringify(changed.touched)}, expected only ${expected}`,
          );
        }
      }
    }
    return report;
  } finally {
    await withClient(db, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

const medianMs = (s: Series): number => median(s.runs.map((t) => t.ms));
const medianCpu = (s: Series): number => median(s.runs.map((t) => t.cpuMs));

function seriesRow(r: SizeReport, s: Series, why: string): string[] {
  const resources = (r.size * r.resources).toLocaleString('en-US');
  if (s.runs.length === 0)
    return [r.size.toLocaleString('en-US'), resources, `${s.label}: not run (${why})`, '0', '', '', '', ''];
  const times = s.runs.map((t) => t.ms);
  return [
    r.size.toLocaleString('en-US'),
    resources,
    s.label,
    String(times.length),
    fmt(median(times)),
    `${fmt(Math.min(...times))}–${fmt(Math.max(...times))}`,
    fmt(medianCpu(s)),
    `${median(s.runs.map((t) => t.rssMiB)).toFixed(0)} MiB`,
  ];
}

/** "wall× / CPU×" of Terraform's median over the bridge's, or "-" when either was not run. */
function ratioCell(tf: Series | undefined, lynq: Series): string {
  if (tf === undefined || tf.runs.length === 0 || lynq.runs.length === 0) return '-';
  return `${(medianMs(tf) / medianMs(lynq)).toFixed(1)}× / ${(medianCpu(tf) / medianCpu(lynq)).toFixed(1)}×`;
}

function print(reports: SizeReport[], version: string, layouts: readonly Layout[]): void {
  const out: string[] = [''];
  out.push(
    `The bridge beside Terraform (${version}), same run, same rows — node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}`,
  );
  out.push(
    `One form (forms/demo-web.yaml: 5 resources per row). Medians; load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}.`,
    '',
  );
  const rows: string[][] = [];
  const ratios: string[][] = [];
  for (const r of reports) {
    rows.push(seriesRow(r, r.lynqFirst, ''), seriesRow(r, r.lynqNoop, ''), seriesRow(r, r.lynqOneRow, ''));
    for (const layout of layouts) {
      const s = r.terraform.get(layout)!;
      rows.push(seriesRow(r, s.apply, 'state written by the bench'));
      for (const step of [s.plan, s.planNoRefresh, s.oneRow])
        rows.push(seriesRow(r, step, 'not in BENCH_TERRAFORM_STEPS'));
    }
    const ratio = (label: string, pick: (s: LayoutSeries) => Series, lynq: Series): string[] => [
      r.size.toLocaleString('en-US'),
      label,
      ...layouts.map((layout) => ratioCell(pick(r.terraform.get(layout)!), lynq)),
    ];
    ratios.push(
      ratio('first: terraform apply / lynq sync (one run each)', (s) => s.apply, r.lynqFirst),
      ratio('no-op: terraform plan (refresh) / lynq sync', (s) => s.plan, r.lynqNoop),
      ratio('no-op: terraform plan -refresh=false / lynq sync', (s) => s.planNoRefresh, r.lynqNoop),
      ratio('one-row change: terraform apply / lynq sync', (s) => s.oneRow, r.lynqOneRow),
      // How issue 16's table counts a change: against the no-change plan, what a CronJob running `terraform plan` pays every tick.
      ratio('one-row change: terraform plan (refresh, no change) / lynq sync', (s) => s.plan, r.lynqOneRow),
    );
    out.push(
      `  [${r.size}] export of the rows to nodes.json (bridge renderer, in-process; in no Terraform figure): median ${fmt(median(r.exportMs))} ms`,
    );
  }
  out.push(
    '',
    table(['rows', 'resources', 'what', 'runs', 'median ms', 'min–max ms', 'CPU ms', 'peak RSS'], rows, [
      'r',
      'r',
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
    ]),
    '',
  );
  out.push(
    'How many times faster the bridge is (Terraform ÷ lynq, medians, wall / CPU), each layout side by side:',
    '',
    table(['rows', 'what', ...layouts.map((layout) => LAYOUT_LABEL[layout])], ratios, [
      'r',
      'l',
      ...layouts.map(() => 'r' as const),
    ]),
    '',
  );
  out.push(
    '  lynq sync: `node bin/lynq.mjs sync` spawned → exited (start-up, database, render, git, push). terraform: the CLI spawned → exited',
    '  (TF_IN_AUTOMATION=1, -input=false, default -parallelism, local state). CPU = user + system of the process and the children it waited for (GNU time).',
    '  for_each: one root module, a terraform_data block per resource with for_each over the rows; module per tenant: one module block per row.',
    '  Terraform refreshes terraform_data without any API call, so its figures are a lower bound for a real provider (bench/README.md, "Terraform").',
    '',
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

/** BENCH_TERRAFORM_* read and checked. */
function setupFromEnv(version: string): Setup {
  const first = process.env.BENCH_TERRAFORM_FIRST ?? 'apply';
  if (first !== 'apply' && first !== 'state')
    throw new Error(`BENCH_TERRAFORM_FIRST=${first}: expected apply or state`);
  // Set and empty: none (the bridge's figures alone, on the same setup).
  const steps = (process.env.BENCH_TERRAFORM_STEPS ?? STEPS.join(',')).split(',').filter((step) => step !== '');
  const unknown = steps.filter((step) => !(STEPS as readonly string[]).includes(step));
  if (unknown.length > 0)
    throw new Error(`BENCH_TERRAFORM_STEPS: unknown ${unknown.join(', ')}; expected some of ${STEPS.join(',')}`);
  const layouts = (process.env.BENCH_TERRAFORM_LAYOUTS ?? LAYOUTS.join(','))
    .split(',')
    .filter((layout) => layout !== '');
  const unknownLayouts = layouts.filter((layout) => !(LAYOUTS as readonly string[]).includes(layout));
  if (unknownLayouts.length > 0)
    throw new Error(
      `BENCH_TERRAFORM_LAYOUTS: unknown ${unknownLayouts.join(', ')}; expected some of ${LAYOUTS.join(',')}`,
    );
  return { first, version, steps: new Set(steps as Step[]), layouts: layouts as Layout[] };
}

async function main(): Promise<void> {
  if (process.argv.includes('--from-bench') && process.env.BENCH_TERRAFORM !== '1') {
    process.stdout.write(
      'bench terraform: skipped (set BENCH_TERRAFORM=1 to compare with Terraform in the same run, or run `npm run bench:terraform`)\n',
    );
    return;
  }
  const version = await terraformVersion();
  if (version === undefined) {
    process.stdout.write(
      'bench terraform: skipped: no `terraform` on PATH (install Terraform ≥ 1.4, which has terraform_data, to compare)\n',
    );
    return;
  }
  const sizes = (process.env.BENCH_TERRAFORM_SIZES ?? '100,200').split(',').map(Number);
  const runs = Number(process.env.BENCH_TERRAFORM_RUNS ?? 3);
  const setup = setupFromEnv(version);
  await build();
  const db = await pickDb();
  const workRoot = await mkdtemp(path.join(os.tmpdir(), 'lynq-bench-terraform-'));
  const reports: SizeReport[] = [];
  let failed = false;
  try {
    for (const size of sizes) {
      process.stderr.write(
        `bench terraform: ${size} rows, ${runs} runs each, layouts ${setup.layouts.join(', ')} (${version})\n`,
      );
      try {
        reports.push(await benchSize(db, size, runs, setup, workRoot));
      } catch (error) {
        failed = true;
        process.stderr.write(
          `bench terraform: FAILED at ${size} rows: ${error instanceof BenchFailure ? `wrong result: ${error.message}` : ((error as Error).stack ?? String(error))}\n`,
        );
      }
    }
  } finally {
    await rm(workRoot, { recursive: true, force: true });
  }
  if (reports.length > 0) print(reports, version, setup.layouts);
  if (failed) process.exitCode = 1;
}

await main();
