/**
 * `npm run bench` (after bench/run.ts): how fast `lynq history <hub>/<form>/<uid>` answers
 * on a 10,000-node manifests repository with a few hundred commits of history, some of
 * them through pull requests (GitHub merge commits and squash merges).
 *
 * The repository is built directly with `git fast-import` (seconds, not a sync per
 * commit): 10,000 node folders in the first commit, then commits that each update 50
 * nodes, every 10th through a bot branch and a "Merge pull request #N" commit, every
 * 25th as a squash "(#N)". The measured node is changed in some of each kind.
 *
 * Reported: the first run (which fills the cache clone with a fetch), then the median of
 * warm runs, end to end as a user runs it (`node bin/lynq.mjs history …`: process start,
 * config, fetch check, git log) and in-process (the command alone). The bench fails
 * (exit 1) when the answer is wrong, never on time.
 *
 * Environment (optional): BENCH_HISTORY_NODES=10000 BENCH_HISTORY_COMMITS=300 BENCH_HISTORY_RUNS=7
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { main } from '../src/cli/main.ts';

const run = promisify(execFile);
const PROJECT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODES = Number(process.env.BENCH_HISTORY_NODES ?? 10_000);
const COMMITS = Number(process.env.BENCH_HISTORY_COMMITS ?? 300);
const RUNS = Number(process.env.BENCH_HISTORY_RUNS ?? 7);
const HUB = 'bench';
const FORM = 'web';
const AUTHOR = 'Lynq Bridge <lynq-bridge@users.noreply.github.com>';
const uid = (index: number) => `u${String(index).padStart(5, '0')}`;
const TARGET = uid(42);

type Expected = { change: string; pullRequest?: number };

/** The fast-import stream, and what history must say about TARGET (newest first). */
function buildStream(): { chunks: Buffer[]; expected: Expected[] } {
  const chunks: Buffer[] = [];
  const push = (text: string) => chunks.push(Buffer.from(text));
  const data = (text: string) => {
    const bytes = Buffer.from(text);
    chunks.push(Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n'));
  };
  const file = (id: string, plan: string) => {
    const dir = `nodes/${HUB}/${FORM}/${id}`;
    const write = (name: string, content: string) => {
      const bytes = Buffer.from(content);
      chunks.push(Buffer.from(`M 100644 inline ${dir}/${name}\ndata ${bytes.length}\n`), bytes, Buffer.from('\n'));
    };
    write(
      'kustomization.yaml',
      'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - settings.yaml\n  - lynqnode.yaml\n',
    );
    write(
      'lynqnode.yaml',
      `apiVersion: operator.lynq.sh/v1\nkind: LynqNode\nmetadata:\n  name: ${id}-${FORM}\nspec:\n  uid: ${id}\n  inputs:\n    columns:\n      plan: ${plan}\n`,
    );
    write(
      'settings.yaml',
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${id}-settings\ndata:\n  PLAN: ${plan}\n`,
    );
  };
  const message = (ids: string[], status: string, why: string, subject?: string, branch?: string) =>
    [
      subject ?? `lynq(${HUB}): ${ids.length} ${status}`,
      '',
      ...ids.slice(0, 200).map((id) => `${FORM}/${id}: ${status} (${why}) [settings]`),
      '',
      `Lynq-Hub: ${HUB}`,
      ...(branch ? [`Lynq-Branch: ${branch}`] : []),
      ...ids.map((id) => `Lynq-Node: ${FORM}/${id} ${status}`),
    ].join('\n');
  let time = 1_700_000_000;
  let mark = 0;
  const commit = (ref: string, text: string, body: () => void, parents: { from?: number; merge?: number } = {}) => {
    mark++;
    time += 60;
    push(`commit ${ref}\nmark :${mark}\nauthor ${AUTHOR} ${time} +0000\ncommitter ${AUTHOR} ${time} +0000\n`);
    data(text);
    if (parents.from !== undefined) push(`from :${parents.from}\n`);
    if (parents.merge !== undefined) push(`merge :${parents.merge}\n`);
    body();
    return mark;
  };

  const expected: Expected[] = [];
  const all = Array.from({ length: NODES }, (_, index) => uid(index));
  let main = commit('refs/heads/main', message(all, 'added', 'new row'), () => all.forEach((id) => file(id, 'gold')));
  expected.unshift({ change: 'added' });
  let pr = 0;
  for (let i = 1; i <= COMMITS; i++) {
    const ids = Array.from({ length: 50 }, (_, k) => uid((i * 50 + k) % NODES));
    // Every 15th commit also changes the measured node.
    if (i % 15 === 0 && !ids.includes(TARGET)) ids[0] = TARGET;
    const plan = `p${i}`;
    const touched = ids.includes(TARGET);
    const write = () => ids.forEach((id) => file(id, plan));
    if (i % 10 === 0) {
      pr++;
      const branch = `lynq/${HUB}`;
      const proposal = commit(
        `refs/heads/${branch}`,
        message(ids, 'updated', 'columns changed: plan', undefined, branch),
        write,
        { from: main },
      );
      // fast-import starts a merge's tree from its first parent: write the branch's files again, as the merge result.
      main = commit(
        'refs/heads/main',
        `Merge pull request #${pr} from acme/${branch}\n\nlynq(${HUB}): 50 updated`,
        write,
        { from: main, merge: proposal },
      );
      if (touched) expected.unshift({ change: 'updated', pullRequest: pr });
    } else if (i % 25 === 0) {
      pr++;
      main = commit(
        'refs/heads/main',
        message(ids, 'updated', 'columns changed: plan', `lynq(${HUB}): 50 updated (#${pr})`),
        write,
        { from: main },
      );
      if (touched) expected.unshift({ change: 'updated', pullRequest: pr });
    } else {
      main = commit('refs/heads/main', message(ids, 'updated', 'columns changed: plan'), write, { from: main });
      if (touched) expected.unshift({ change: 'updated' });
    }
  }
  push('done\n');
  return { chunks, expected };
}

async function buildRepository(dir: string): Promise<{ expected: Expected[]; ms: number }> {
  const started = performance.now();
  await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', dir]);
  const { chunks, expected } = buildStream();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', ['fast-import', '--quiet', '--done'], {
      cwd: dir,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`fast-import exited ${code}`))));
    for (const chunk of chunks) child.stdin.write(chunk);
    child.stdin.end();
  });
  await run('git', ['repack', '-a', '-d', '-q'], { cwd: dir });
  return { expected, ms: performance.now() - started };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

function capture() {
  let text = '';
  return {
    stream: { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream,
    text: () => text,
  };
}

async function main_(): Promise<number> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'lynq-bench-history-'));
  try {
    const repo = path.join(work, 'manifests.git');
    const built = await buildRepository(repo);
    const hubs = path.join(work, 'hubs');
    const forms = path.join(work, 'forms');
    await mkdir(hubs);
    await mkdir(forms);
    await writeFile(
      path.join(hubs, `${HUB}.yaml`),
      `apiVersion: operator.lynq.sh/v1\nkind: LynqHub\nmetadata:\n  name: ${HUB}\nspec:\n  source:\n    type: postgresql\n    postgresql:\n      database: unused\n      table: unused\n  valueMappings:\n    uid: id\n    activate: active\n  publish:\n    repo: ${repo}\n`,
    );
    await writeFile(
      path.join(forms, `${FORM}.yaml`),
      `apiVersion: operator.lynq.sh/v1\nkind: LynqForm\nmetadata:\n  name: ${FORM}\nspec:\n  hubId: ${HUB}\n  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n`,
    );
    const env = { ...process.env, LYNQ_CACHE_DIR: path.join(work, 'cache'), LYNQ_LOG_LEVEL: 'silent' };
    const args = ['history', `${HUB}/${FORM}/${TARGET}`, '--json', '--hubs', hubs, '--forms', forms];

    const cli = async (): Promise<{ ms: number; out: string }> => {
      const started = performance.now();
      const { stdout } = await run(process.execPath, [path.join(PROJECT, 'bin/lynq.mjs'), ...args], {
        env,
        maxBuffer: 64 * 1024 * 1024,
      });
      return { ms: performance.now() - started, out: stdout };
    };
    const first = await cli();
    const warm: number[] = [];
    let out = first.out;
    for (let i = 0; i < RUNS; i++) {
      const result = await cli();
      warm.push(result.ms);
      out = result.out;
    }
    const inProcess: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const stdout = capture();
      const started = performance.now();
      const code = await main(args, { out: stdout.stream, err: capture().stream, env, isTty: false });
      inProcess.push(performance.now() - started);
      if (code !== 0) throw new Error(`history exited ${code}`);
    }

    const entries = (JSON.parse(out) as { entries: Array<{ change: string; pullRequest?: number }> }).entries.map(
      (entry) => ({
        change: entry.change,
        ...(entry.pullRequest === undefined ? {} : { pullRequest: entry.pullRequest }),
      }),
    );
    const right = JSON.stringify(entries) === JSON.stringify(built.expected);
    const commits = Number((await run('git', ['rev-list', '--count', '--all'], { cwd: repo })).stdout.trim());
    console.log(
      `\n## lynq history on a ${NODES.toLocaleString('en')}-node repository (${(NODES * 3).toLocaleString('en')} files, ${commits} commits, built in ${(built.ms / 1000).toFixed(1)} s)\n`,
    );
    console.log('| measure | ms |');
    console.log('|---|---:|');
    console.log(`| first run, end to end (fills the cache clone) | ${first.ms.toFixed(0)} |`);
    console.log(`| warm, end to end (\`node bin/lynq.mjs history\`), median of ${RUNS} | ${median(warm).toFixed(0)} |`);
    console.log(`| warm, in-process (the command alone), median of ${RUNS} | ${median(inProcess).toFixed(0)} |`);
    console.log(
      `\n${entries.length} changes to ${HUB}/${FORM}/${TARGET} (${entries.filter((entry) => entry.pullRequest !== undefined).length} through pull requests): ${right ? 'as built' : 'WRONG'}`,
    );
    if (!right) {
      console.error(`expected ${JSON.stringify(built.expected)}\ngot      ${JSON.stringify(entries)}`);
      return 1;
    }
    return 0;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

process.exitCode = await main_();
