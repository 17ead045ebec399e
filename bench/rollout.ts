/**
 * `node --import tsx bench/rollout.ts`: a form change over 10,000 nodes
 * (BENCH_ROLLOUT_NODES) with `spec.rollout.maxSkew` 500 (BENCH_ROLLOUT_SKEW), through the
 * real `lynq sync` (PostgreSQL, the cache clone, a bare repository, the health read-back
 * and the rollout gate against the local fake Kubernetes API). Prints the time of a no-op
 * sync and of each rollout step (BENCH_ROLLOUT_STEPS), measured in the same run; between
 * steps the nodes just changed are made Ready in the fake (not timed). Each `lynq sync`
 * includes its read-back. Beside each time, how many nodes the sync rendered (from its log
 * lines: a count, which load does not change). Fails (exit 1) when a step changes a
 * different number of nodes than maxSkew, or the no-op sync commits.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { main } from '../src/cli/main.ts';
import { childCpuMs } from './common.ts';
import { formYaml } from '../test/helpers/config.ts';
import { captureStream } from '../test/helpers/files.ts';
import { git } from '../test/helpers/git.ts';
import { argoApp, makeHealthWorld, putLynqNodes } from '../test/helpers/health-world.ts';
import { startKubeFake, type Obj } from '../test/helpers/kube-fake.ts';

const N = Number(process.env.BENCH_ROLLOUT_NODES ?? 10_000);
const SKEW = Number(process.env.BENCH_ROLLOUT_SKEW ?? 500);
const STEPS = Number(process.env.BENCH_ROLLOUT_STEPS ?? 3);
/** A folder: each measured sync's log lines (`<label>.log`, info level) and CPU profile (`<label>.cpuprofile`) go there. */
const DIG = process.env.BENCH_ROLLOUT_PROFILE;
const form = (plan: string) =>
  `  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}", version: "${plan}" }\n  rollout:\n    maxSkew: ${SKEW}\n`;

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const fail = (message: string): never => {
  console.error(`bench rollout: ${message}`);
  process.exit(1);
};

/** Like bench/read-back.ts: the fixture Application without the history the read-back never reads. */
function trimmed(app: Obj): Obj {
  const status = app.status as Record<string, unknown>;
  delete status.history;
  delete status.summary;
  const operation = status.operationState as { syncResult?: { resources?: unknown } } | undefined;
  if (operation?.syncResult !== undefined) delete operation.syncResult.resources;
  return app;
}

console.log(`rollout bench: ${N} nodes (Argo CD), maxSkew ${SKEW}, ${STEPS} steps`);
const rows = Array.from({ length: N }, (_, i) => [`n${String(i).padStart(6, '0')}`, 'gold'] as [string, string]);
const world = await makeHealthWorld({
  hub: 'bench',
  gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
  form: form('v1'),
  rows,
});
const fake = await startKubeFake();
const byName = new Map<string, Obj>();
const ready = async (uids: readonly string[] | undefined) => {
  const head = await world.head();
  for (const node of await world.lynqNodes()) byName.set(node.metadata.name, node);
  for (const node of byName.values())
    if (uids === undefined || uids.includes((node.spec as { uid: string }).uid))
      fake.put('Application', trimmed(argoApp(node, 'application-healthy-synced-op-succeeded.yaml', head)));
};
/** Nodes rendered, from the sync's log: the plan's renders, plus those the rollout gate rendered for its slots. */
const RENDER_LINES = new Set(['compared with git', 'rollout gate']);
const renderedIn = (log: string) =>
  log
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg?: string; rendered?: number })
    .filter((line) => RENDER_LINES.has(line.msg ?? ''))
    .reduce((sum, line) => sum + (line.rendered ?? 0), 0);
/** `lynq sync` in this process, as world.sync runs it, with its log lines kept (info) to count renders. */
const timed = async (label: string, args: string[]) => {
  const out = captureStream();
  const err = captureStream();
  const log = captureStream();
  const inspector = DIG === undefined ? undefined : new Session();
  inspector?.connect();
  await inspector?.post('Profiler.enable');
  await inspector?.post('Profiler.start');
  const cpuBefore = process.cpuUsage();
  const gitBefore = childCpuMs();
  const serverBefore = fake.serverCpuMs();
  const started = performance.now();
  const code = await main(['sync', ...world.dirs, ...args], {
    out,
    err,
    log,
    env: { ...world.env, LYNQ_LOG_LEVEL: 'info' },
    isTty: false,
  });
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMs = (cpu.user + cpu.system) / 1000 - (fake.serverCpuMs() - serverBefore);
  const gitMs = childCpuMs() - gitBefore;
  if (inspector !== undefined) {
    const { profile } = await inspector.post('Profiler.stop');
    inspector.disconnect();
    const name = label.replaceAll(' ', '-');
    await writeFile(path.join(DIG!, `${name}.cpuprofile`), JSON.stringify(profile));
    await writeFile(path.join(DIG!, `${name}.log`), log.text());
  }
  if (code !== 0) fail(`${label}: exit ${code}: ${out.text()}${err.text()}`);
  return { ms, cpuMs, gitMs, out: out.text(), rendered: renderedIn(log.text()) };
};
try {
  const first = await world.sync();
  if (first.code !== 0) fail(`first sync: ${first.out}${first.err}`);
  putLynqNodes(fake, await world.lynqNodes());
  await ready(undefined);
  await world.writeKubeconfig(fake.kubeconfig());
  const kube = ['--kubeconfig', world.kubeconfigFile];
  // Warm: the first read-back writes every LynqNode's status; not what a step costs.
  await timed('warm-up', kube);
  const before = await world.head();
  const noop = await timed('no-op sync', kube);
  if ((await world.head()) !== before) fail('the no-op sync committed');
  console.log(
    `no-op sync (with read-back):      ${(noop.ms / 1000).toFixed(2)} s (CPU ${seconds(noop.cpuMs)} s + git ${seconds(noop.gitMs)} s), ${noop.rendered} rendered`,
  );
  await writeFile(path.join(world.dir, 'forms', 'web.yaml'), formYaml(form('v2'), { hubId: 'bench' }));
  for (let step = 1; step <= STEPS; step++) {
    const from = await world.head();
    const result = await timed(`step ${step}`, kube);
    const to = await world.head();
    const changed = [
      ...new Set(
        (await git(world.repo, ['diff', '--name-only', from, to]))
          .split('\n')
          .filter(Boolean)
          .map((file) => file.split('/')[3]!),
      ),
    ];
    if (changed.length !== SKEW) fail(`step ${step}: ${changed.length} nodes changed, expected ${SKEW}`);
    const waiting = /(\d+) waiting;/.exec(result.out)?.[1];
    console.log(
      `rollout step ${step} (${changed.length} changed, ${waiting} waiting): ${(result.ms / 1000).toFixed(2)} s (CPU ${seconds(result.cpuMs)} s + git ${seconds(result.gitMs)} s), ${result.rendered} rendered`,
    );
    await ready(changed);
  }
  fake.assertClean();
} finally {
  await fake.close();
  await world.cleanup();
}
