/**
 * `npm run bench:terraform` (and the end of `npm run bench` with BENCH_TERRAFORM=1): the
 * bridge beside Terraform doing the same job the Terraform way, in the same run, on the same
 * rows. Terraform's "one set of resources per tenant row" is a root module with `for_each`
 * over the rows, exported from PostgreSQL to a JSON file; one `terraform_data` (the built-in
 * `terraform` provider: no plugin to download, no API to call) per row and resource, its
 * `input` that resource's manifest as the bridge renders it; local state.
 *
 * Per size: the bridge's first sync and Terraform's first apply (once each, setup), then,
 * interleaved run by run so both see the same load: the bridge's no-op sync, Terraform's
 * no-change plan (`-refresh=true`, the default, and `-refresh=false`), the bridge's one-row
 * change and Terraform's apply of the same row's change. Every result is checked (a no-change
 * plan that plans anything, or a one-row apply that touches anything but that row's
 * Deployment, fails the bench: exit 1); times are reported, never asserted.
 *
 * Environment (all optional): BENCH_TERRAFORM_SIZES=100,200 (Terraform's time grows faster than
 * linearly with the resources: 400 rows' first apply is minutes)  BENCH_TERRAFORM_RUNS=3
 * BENCH_TERRAFORM_FIRST=apply|state (state: no first apply; the state file it would have
 * written is written by the bench, and checked by the plan and apply after it: how sizes whose
 * first apply would take hours are reached)  BENCH_TERRAFORM_STEPS=plan,plan-no-refresh,apply
 * (which of the timed Terraform runs after the first are made; the bridge's no-op and one-row
 * change always are)  PGHOST PGPORT PGUSER PGDATABASE.
 * `--from-bench` (how `npm run bench` calls it): skip unless BENCH_TERRAFORM=1.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
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
import { build, changedUid, type Ctx, firstSync, noopSync, oneRowSync, type Timed, timedProcess, writeBenchConfig, lynqSync } from './lynq-process.ts';

const run = promisify(execFile);

type Series = { label: string; runs: Timed[] };
type SizeReport = {
  size: number;
  resources: number;
  lynqFirst: Series;
  tfApply: Series;
  lynqNoop: Series;
  tfPlan: Series;
  tfPlanNoRefresh: Series;
  lynqOneRow: Series;
  tfOneRow: Series;
  /** Rendering every row into nodes.json, in the bench process: what a Terraform user's export would do; in none of Terraform's figures. */
  exportMs: number[];
};

/** `terraform version`'s first line, or undefined when there is no terraform on PATH. */
async function terraformVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await run('terraform', ['version'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' } });
    return stdout.split('\n')[0]!.trim();
  } catch {
    return undefined;
  }
}

/**
 * Every active row's rendered resources, as `{ uid: { resourceId: manifest as JSON } }`: the
 * bridge's own renderer (as `lynq render` runs it) on the rows the bridge reads, each
 * manifest parsed back from the YAML file the bridge commits. Returns the resource ids in
 * the form's order.
 */
async function exportNodes(ctx: Ctx, file: string): Promise<string[]> {
  const config = await loadConfig({ hubsDir: path.join(ctx.dir, 'hubs'), formsDir: path.join(ctx.dir, 'forms') });
  const [hub] = [...config.hubs.values()];
  const form = config.forms[0]!;
  const rows = await readHubRows(hub!, { secretEnv: defaultSecretEnv(new SecretRegistry()), logger: silentLogger() });
  const root = checkRoot(hub!.spec.publish.root, { hub: hub!.name, file: hub!.file, field: 'spec.publish.root' });
  const context = { hub: hub!, form, formHash: formHash(form), engine: new TemplateEngine(templateVariables(hub!)), root, bridgeVersion: BRIDGE_VERSION };
  const nodes: Record<string, Record<string, string>> = {};
  for (const row of rows) {
    if (!row.active) continue;
    const rendered = renderNode(context, row);
    const byName = new Map(rendered.files.map((f) => [f.name, f.content]));
    const manifests: Record<string, string> = {};
    // As JSON text, decoded per instance in HCL: a map of strings keeps for_each's collection small (see rootModule).
    for (const resource of rendered.resources) manifests[resource.id] = JSON.stringify(parseYaml(byName.get(resource.file)!));
    nodes[row.uid] = manifests;
  }
  if (Object.keys(nodes).length !== ctx.size) fail(`export: ${Object.keys(nodes).length} nodes, expected ${ctx.size}`);
  await writeFile(file, JSON.stringify(nodes));
  return form.resources.map((resource) => resource.id);
}

/**
 * The root module: per resource of the form, one `terraform_data` block with `for_each` over
 * the exported rows, its input the manifest decoded. The collection is a map of JSON strings:
 * Terraform's time per instance grew with the size of the value for_each iterates over, and
 * the same manifests as nested objects (one object value of every row's manifests) made a
 * no-change plan of 100 rows (500 resources) cost 10.0–11.7 s of CPU instead of 2.0–2.4
 * (bench/README.md, "Terraform"): the form here is the faster one for Terraform.
 */
function rootModule(resourceIds: string[]): string {
  const blocks = resourceIds.map((id) => `resource "terraform_data" "${id}" {\n  for_each = local.nodes\n  input    = jsondecode(each.value["${id}"])\n}\n`);
  return `# Written by bench/terraform.ts: one terraform_data per row and resource of forms/demo-web.yaml.
locals {
  nodes = tomap(jsondecode(file("\${path.module}/nodes.json")))
}

${blocks.join('\n')}`;
}

/**
 * A JSON value's type as Terraform's state records a dynamic attribute's (cty's JSON type
 * encoding): what `jsondecode` gives, so objects are object types and arrays tuples, and
 * `null` is `dynamic`.
 */
function ctyType(value: unknown): unknown {
  if (value === null) return 'dynamic';
  if (Array.isArray(value)) return ['tuple', value.map(ctyType)];
  if (typeof value === 'object') {
    const attributes: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) attributes[key] = ctyType((value as Record<string, unknown>)[key]);
    return ['object', attributes];
  }
  if (typeof value === 'boolean') return 'bool';
  return typeof value === 'number' ? 'number' : 'string';
}

/**
 * terraform.tfstate as the first `terraform apply` of rootModule leaves it (format 4, checked
 * against one such apply): per block, one instance per row whose `input` and `output` are the
 * decoded manifest with its type, its `id` a fresh UUID. Written instance by instance: at
 * 10,000 rows it is larger than one string can be. Proven, not trusted: the no-change plan
 * fails the bench unless Terraform finds every instance present and unchanged, and so does a
 * one-row apply that changes anything but that row's Deployment.
 */
async function writeState(tf: Terraform, nodesFile: string, resourceIds: string[], version: string): Promise<void> {
  const nodes = JSON.parse(await readFile(nodesFile, 'utf8')) as Record<string, Record<string, string>>;
  const out = createWriteStream(path.join(tf.dir, 'terraform.tfstate'));
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const terraformVersion = /v(\d+\.\d+\.\d+)/.exec(version)?.[1] ?? fail(`no version in "${version}"`);
  await write(`{"version":4,"terraform_version":${JSON.stringify(terraformVersion)},"serial":1,"lineage":"${randomUUID()}","outputs":{},"resources":[`);
  for (const [r, id] of resourceIds.entries()) {
    await write(`${r > 0 ? ',' : ''}{"mode":"managed","type":"terraform_data","name":${JSON.stringify(id)},"provider":"provider[\\"terraform.io/builtin/terraform\\"]","instances":[`);
    let first = true;
    for (const [uid, manifests] of Object.entries(nodes)) {
      const value = JSON.parse(manifests[id]!) as unknown;
      const typed = JSON.stringify({ value, type: ctyType(value) });
      await write(
        `${first ? '' : ','}{"index_key":${JSON.stringify(uid)},"schema_version":0,"attributes":{"id":"${randomUUID()}","input":${typed},"output":${typed},"triggers_replace":null},"sensitive_attributes":[]}`,
      );
      first = false;
    }
    await write(']}');
  }
  await write('],"check_results":null}\n');
  out.end();
  await once(out, 'finish');
}

type Terraform = { dir: string; env: NodeJS.ProcessEnv };

function terraform(tf: Terraform, args: string[], what: string, stdout: string): Promise<Timed> {
  return timedProcess(['terraform', ...args, '-input=false', '-no-color'], { cwd: tf.dir, env: tf.env, stdout, what });
}

/** Terraform's summary line ("Resources: 0 added, 1 changed, 0 destroyed.") and the addresses it created, modified or destroyed. */
async function applied(stdout: string): Promise<{ summary: string; touched: string[] }> {
  const text = await readFile(stdout, 'utf8');
  const summary = /Apply complete! Resources: ([^\n]*)/.exec(text)?.[1] ?? `no "Apply complete!" line in:\n${text.slice(-2000)}`;
  const touched = [...text.matchAll(/^(\S+): (?:Creating|Modifying|Destroying)\.\.\./gm)].map((match) => match[1]!);
  return { summary, touched };
}

/** How Terraform's state comes to hold every row before the timed runs: its own first apply (timed), or the bench writing the state that apply leaves. */
type Setup = { first: 'apply' | 'state'; version: string; steps: ReadonlySet<Step> };

/** The timed Terraform runs after the first: each takes most of an hour at 10,000 rows, so a run can take some of them. */
const STEPS = ['plan', 'plan-no-refresh', 'apply'] as const;
type Step = (typeof STEPS)[number];

async function benchSize(db: DbTarget, size: number, runs: number, setup: Setup, workRoot: string): Promise<SizeReport> {
  const schema = `lynq_tf_${size}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const dir = path.join(workRoot, String(size));
  const ctx: Ctx = { size, db, schema, dir };
  const log = (text: string): void => void process.stderr.write(`  [${size}] ${text}\n`);
  const tf: Terraform = {
    dir: path.join(dir, 'terraform'),
    // No CLI configuration and no update check (no network here, and it is not what is measured); output for automation.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null' },
  };
  const out = path.join(dir, 'terraform.out');
  const series = (label: string): Series => ({ label, runs: [] });
  const report: SizeReport = {
    size,
    resources: 0,
    lynqFirst: series('lynq sync: first (all added)'),
    tfApply: series('terraform apply: first (all created)'),
    lynqNoop: series('lynq sync: no-op'),
    tfPlan: series('terraform plan: no change (-refresh=true)'),
    tfPlanNoRefresh: series('terraform plan: no change (-refresh=false)'),
    lynqOneRow: series('lynq sync: one-row change'),
    tfOneRow: series('terraform apply: one-row change'),
    exportMs: [],
  };
  const record = (into: Series, timed: Timed, i: number): void => {
    into.runs.push(timed);
    log(`${into.label} ${i + 1}: ${fmt(timed.ms)} ms, ${fmt(timed.cpuMs)} ms CPU, peak RSS ${timed.rssMiB.toFixed(0)} MiB`);
  };
  const exportRows = async (): Promise<string[]> => {
    const started = performance.now();
    const ids = await exportNodes(ctx, path.join(tf.dir, 'nodes.json'));
    report.exportMs.push(performance.now() - started);
    return ids;
  };
  await mkdir(tf.dir, { recursive: true });
  try {
    log(`seeding ${size} rows`);
    await seed(db, schema, size);
    await writeBenchConfig(ctx);

    const first = await firstSync(ctx, 0);
    record(report.lynqFirst, first, 0);
    const ids = await exportRows();
    report.resources = ids.length;
    await writeFile(path.join(tf.dir, 'main.tf'), rootModule(ids));
    await terraform(tf, ['init'], 'terraform init', out);
    if (setup.first === 'state') {
      const started = performance.now();
      await writeState(tf, path.join(tf.dir, 'nodes.json'), ids, setup.version);
      log(`terraform.tfstate of ${size * ids.length} resources written, not applied (BENCH_TERRAFORM_FIRST=state): ${fmt(performance.now() - started)} ms`);
    } else {
      log(`terraform apply of ${size * ids.length} resources`);
      record(report.tfApply, await terraform(tf, ['apply', '-auto-approve'], 'terraform apply (first)', out), 0);
      const created = await applied(out);
      if (created.summary !== `${size * ids.length} added, 0 changed, 0 destroyed.`) fail(`terraform apply (first): ${created.summary}`);
    }

    for (let i = 0; i < runs; i++) {
      record(report.lynqNoop, await noopSync(ctx, first.bare, first.cacheDir, i), i);
      // -detailed-exitcode: 0 no changes, 2 changes planned (a failure here: nothing changed), 1 an error.
      if (setup.steps.has('plan')) record(report.tfPlan, await terraform(tf, ['plan', '-detailed-exitcode', '-refresh=true'], `terraform plan (no change), run ${i + 1}`, out), i);
      if (setup.steps.has('plan-no-refresh')) {
        record(report.tfPlanNoRefresh, await terraform(tf, ['plan', '-detailed-exitcode', '-refresh=false'], `terraform plan -refresh=false (no change), run ${i + 1}`, out), i);
      }
    }
    for (let i = 0; i < runs; i++) {
      // The bridge's change first (it UPDATEs the row), then the same change the Terraform way: export, apply.
      record(report.lynqOneRow, await oneRowSync(ctx, first.bare, i, () => lynqSync(ctx, first.bare, first.cacheDir, `one-row change, run ${i + 1}`)), i);
      if (!setup.steps.has('apply')) continue;
      await exportRows();
      const uid = changedUid(size, i);
      record(report.tfOneRow, await terraform(tf, ['apply', '-auto-approve'], `terraform apply (one-row change ${uid}), run ${i + 1}`, out), i);
      const changed = await applied(out);
      const expected = `terraform_data.web["${uid}"]`;
      if (changed.summary !== '0 added, 1 changed, 0 destroyed.' || changed.touched.join(',') !== expected) {
        fail(`terraform apply (one-row change ${uid}), run ${i + 1}: ${changed.summary}; touched ${JSON.stringify(changed.touched)}, expected only ${expected}`);
      }
    }
    return report;
  } finally {
    await withClient(db, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

function print(reports: SizeReport[], version: string): void {
  const out: string[] = [''];
  out.push(`The bridge beside Terraform (${version}), same run, same rows — node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}`);
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
    const resources = (r.size * r.resources).toLocaleString('en-US');
    for (const s of [r.lynqFirst, r.tfApply, r.lynqNoop, r.tfPlan, r.tfPlanNoRefresh, r.lynqOneRow, r.tfOneRow]) {
      const times = s.runs.map((t) => t.ms);
      if (times.length === 0) {
        const why = s === r.tfApply ? 'state written by the bench' : 'not in BENCH_TERRAFORM_STEPS';
        rows.push([r.size.toLocaleString('en-US'), resources, `${s.label}: not run (${why})`, '0', '', '', '', '']);
        continue;
      }
      rows.push([
        r.size.toLocaleString('en-US'),
        resources,
        s.label,
        String(times.length),
        fmt(median(times)),
        `${fmt(Math.min(...times))}–${fmt(Math.max(...times))}`,
        fmt(median(s.runs.map((t) => t.cpuMs))),
        `${median(s.runs.map((t) => t.rssMiB)).toFixed(0)} MiB`,
      ]);
    }
    const ratio = (label: string, tf: Series, lynq: Series): string[][] => {
      if (tf.runs.length === 0 || lynq.runs.length === 0) return [];
      const wall = median(tf.runs.map((t) => t.ms)) / median(lynq.runs.map((t) => t.ms));
      const cpu = median(tf.runs.map((t) => t.cpuMs)) / median(lynq.runs.map((t) => t.cpuMs));
      return [[r.size.toLocaleString('en-US'), label, `${wall.toFixed(1)}×`, `${cpu.toFixed(1)}×`]];
    };
    ratios.push(
      ...ratio('first: terraform apply / lynq sync (one run each)', r.tfApply, r.lynqFirst),
      ...ratio('no-op: terraform plan (refresh) / lynq sync', r.tfPlan, r.lynqNoop),
      ...ratio('no-op: terraform plan -refresh=false / lynq sync', r.tfPlanNoRefresh, r.lynqNoop),
      ...ratio('one-row change: terraform apply / lynq sync', r.tfOneRow, r.lynqOneRow),
      // How issue 16's table counts a change: against the no-change plan, what a CronJob running `terraform plan` pays every tick.
      ...ratio('one-row change: terraform plan (refresh, no change) / lynq sync', r.tfPlan, r.lynqOneRow),
    );
    out.push(`  [${r.size}] export of the rows to nodes.json (bridge renderer, in-process; in no Terraform figure): median ${fmt(median(r.exportMs))} ms`);
  }
  out.push('', table(['rows', 'resources', 'what', 'runs', 'median ms', 'min–max ms', 'CPU ms', 'peak RSS'], rows, ['r', 'r', 'l', 'r', 'r', 'r', 'r', 'r']), '');
  out.push('How many times faster the bridge is (Terraform ÷ lynq, medians):', '', table(['rows', 'what', 'wall', 'CPU'], ratios, ['r', 'l', 'r', 'r']), '');
  out.push(
    '  lynq sync: `node bin/lynq.mjs sync` spawned → exited (start-up, database, render, git, push). terraform: the CLI spawned → exited',
    '  (TF_IN_AUTOMATION=1, -input=false, default -parallelism, local state). CPU = user + system of the process and the children it waited for (GNU time).',
    '  Terraform refreshes terraform_data without any API call, so its figures are a lower bound for a real provider (bench/README.md, "Terraform").',
    '',
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--from-bench') && process.env.BENCH_TERRAFORM !== '1') {
    process.stdout.write('bench terraform: skipped (set BENCH_TERRAFORM=1 to compare with Terraform in the same run, or run `npm run bench:terraform`)\n');
    return;
  }
  const version = await terraformVersion();
  if (version === undefined) {
    process.stdout.write('bench terraform: skipped: no `terraform` on PATH (install Terraform ≥ 1.4, which has terraform_data, to compare)\n');
    return;
  }
  const sizes = (process.env.BENCH_TERRAFORM_SIZES ?? '100,200').split(',').map(Number);
  const runs = Number(process.env.BENCH_TERRAFORM_RUNS ?? 3);
  const first = process.env.BENCH_TERRAFORM_FIRST ?? 'apply';
  if (first !== 'apply' && first !== 'state') throw new Error(`BENCH_TERRAFORM_FIRST=${first}: expected apply or state`);
  // Set and empty: none (the bridge's figures alone, on the same setup).
  const steps = (process.env.BENCH_TERRAFORM_STEPS ?? STEPS.join(',')).split(',').filter((step) => step !== '');
  const unknown = steps.filter((step) => !(STEPS as readonly string[]).includes(step));
  if (unknown.length > 0) throw new Error(`BENCH_TERRAFORM_STEPS: unknown ${unknown.join(', ')}; expected some of ${STEPS.join(',')}`);
  const setup: Setup = { first, version, steps: new Set(steps as Step[]) };
  await build();
  const db = await pickDb();
  const workRoot = await mkdtemp(path.join(os.tmpdir(), 'lynq-bench-terraform-'));
  const reports: SizeReport[] = [];
  let failed = false;
  try {
    for (const size of sizes) {
      process.stderr.write(`bench terraform: ${size} rows, ${runs} runs each (${version})\n`);
      try {
        reports.push(await benchSize(db, size, runs, setup, workRoot));
      } catch (error) {
        failed = true;
        process.stderr.write(`bench terraform: FAILED at ${size} rows: ${error instanceof BenchFailure ? `wrong result: ${error.message}` : ((error as Error).stack ?? String(error))}\n`);
      }
    }
  } finally {
    await rm(workRoot, { recursive: true, force: true });
  }
  if (reports.length > 0) print(reports, version);
  if (failed) process.exitCode = 1;
}

await main();
