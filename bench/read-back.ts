/**
 * `npm run bench` (last part): the health read-back at 10,000 nodes (BENCH_READBACK_NODES)
 * against the local fake Kubernetes API (test/helpers/kube-fake.ts, in this process),
 * through the real path: @kubernetes/client-node, the cache clone, readBackHub. Reports
 * the first read-back (every LynqNode status written) and the no-op read-back (nothing
 * changed: no write) as medians: wall time, the fake server's own time, the bridge's time
 * (the difference) and CPU time (the process's minus the fake's, and its git processes'),
 * requests by verb and TLS connections. Fails (exit 1) when a result is wrong: a node not
 * Ready, a write on a no-op, more than ceil(N/500) LIST requests per kind.
 * BENCH_READBACK_WHOLE=1: the no-op also without the status memo (its LynqNodes listed
 * whole), interleaved run by run with the one with it.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load.ts';
import { childCpuMs } from './common.ts';
import { createSyncDeps } from '../src/cli/wiring.ts';
import { defaultCacheDir } from '../src/config/cache-dir.ts';
import { fileNodeMemo } from '../src/health/node-memo.ts';
import { readBackHub, type HubReadBack } from '../src/health/run.ts';
import { openKubeClient } from '../src/kube/client.ts';
import { createLogger, SecretRegistry, silentLogger } from '../src/logger.ts';
import { captureStream } from '../test/helpers/files.ts';
import { argoApp, makeHealthWorld, putLynqNodes } from '../test/helpers/health-world.ts';
import { startKubeFake, type Obj } from '../test/helpers/kube-fake.ts';

const N = Number(process.env.BENCH_READBACK_NODES ?? 10_000);
const RUNS = Number(process.env.BENCH_READBACK_RUNS ?? 5);
/** A folder: write a CPU profile of each measured read-back's last run there (readback-first / readback-noop .cpuprofile). */
const PROFILE = process.env.BENCH_READBACK_PROFILE;
const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';

/**
 * The fixture Application (a real 498-line dump, 10 KB as JSON) without its deploy
 * history and per-resource sync results: what an Application of one of our nodes (a
 * few resources, fresh) carries. The read-back reads none of the removed fields.
 */
function trimmed(app: Obj): Obj {
  const status = app.status as Record<string, unknown>;
  delete status.history;
  delete status.summary;
  const operation = status.operationState as { syncResult?: { resources?: unknown } } | undefined;
  if (operation?.syncResult !== undefined) delete operation.syncResult.resources;
  return app;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fail = (message: string): never => {
  console.error(`bench read-back: ${message}`);
  process.exit(1);
};

console.log(`health read-back bench: ${N} nodes (Argo CD), ${RUNS} runs`);
const setup = performance.now();
const rows = Array.from({ length: N }, (_, i) => [`n${String(i).padStart(6, '0')}`, 'gold'] as [string, string]);
const world = await makeHealthWorld({
  hub: 'bench',
  gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
  form: FORM,
  rows,
});
const fake = await startKubeFake({ record: false });
try {
  const synced = await world.sync();
  if (synced.code !== 0) fail(`the sync failed: ${synced.out}${synced.err}`);
  const nodes = await world.lynqNodes();
  putLynqNodes(fake, nodes);
  const head = await world.head();
  for (const node of nodes)
    fake.put('Application', trimmed(argoApp(node, 'application-healthy-synced-op-succeeded.yaml', head)));
  await world.writeKubeconfig(fake.kubeconfig());
  console.log(
    `setup (rows, first sync, ${N} LynqNodes and Applications in the fake): ${((performance.now() - setup) / 1000).toFixed(1)} s`,
  );

  const config = await loadConfig({ hubsDir: world.dirs[1]!, formsDir: world.dirs[3]! });
  const hub = config.hubs.get('bench')!;
  const logger = process.env.BENCH_LOG === '1' ? createLogger({ level: 'info' }) : silentLogger();
  const sync = createSyncDeps({ logger, dryRun: false, diff: false, out: captureStream(), env: world.env });
  const maxLists = Math.ceil(N / 500);
  // The cache folder the sync used: the first read-back parses every LynqNode and keeps them there.
  const memo = fileNodeMemo(defaultCacheDir(world.env));

  const inspector = PROFILE === undefined ? undefined : new Session();
  inspector?.connect();
  await inspector?.post('Profiler.enable');
  type Run = { wall: number; server: number; bridge: number; bridgeCpu: number; gitCpu: number; connections: number };
  /** The same no-op without the status memo (src/health/status-memo.ts): its LynqNodes listed whole, as before the memo. */
  const wholeMemo = { load: memo.load, save: memo.save };
  const measure = async (
    label: string,
    expectPatches: number,
    profileName: string,
    options: { memo?: typeof memo; once?: boolean } = {},
  ) => {
    const runs: Run[] = [];
    let requests = { list: 0, get: 0, patch: 0 };
    const count = expectPatches > 0 || options.once === true ? 1 : RUNS;
    for (let run = 0; run < count; run++) {
      const kube = await openKubeClient(
        { source: 'flag', files: [world.kubeconfigFile], context: undefined },
        { registry: new SecretRegistry(), logger },
      );
      const last = run === count - 1;
      if (last) await inspector?.post('Profiler.start');
      const serverBefore = fake.serverMs();
      const serverCpuBefore = fake.serverCpuMs();
      const connectionsBefore = fake.connections();
      const cpuBefore = process.cpuUsage();
      const gitCpuBefore = childCpuMs();
      const started = performance.now();
      const result: HubReadBack = await readBackHub(hub, {
        kube,
        openRepo: sync.openRepo,
        clock: Date.now,
        logger,
        memo: options.memo ?? memo,
      });
      const wall = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      const gitCpu = childCpuMs() - gitCpuBefore;
      const server = fake.serverMs() - serverBefore;
      const serverCpu = fake.serverCpuMs() - serverCpuBefore;
      if (last && inspector !== undefined) {
        const { profile } = await inspector.post('Profiler.stop');
        await writeFile(path.join(PROFILE!, `readback-${profileName}.cpuprofile`), JSON.stringify(profile));
      }
      if (result.outcome !== 'read') fail(`${label}: ${result.outcome}: ${result.error}`);
      if (result.outcome === 'read') {
        if (result.nodes.length !== N || result.nodes.some((node) => node.phase !== 'Ready'))
          fail(`${label}: not every node is Ready`);
        if (result.statuses.patched !== expectPatches)
          fail(`${label}: ${result.statuses.patched} status writes, expected ${expectPatches}`);
      }
      requests = { ...kube.requests };
      if (requests.list > 2 * maxLists)
        fail(`${label}: ${requests.list} LIST requests for two kinds, more than 2 × ceil(${N}/500)`);
      runs.push({
        wall,
        server,
        bridge: wall - server,
        bridgeCpu: (cpu.user + cpu.system) / 1000 - serverCpu,
        gitCpu,
        connections: fake.connections() - connectionsBefore,
      });
    }
    return { label, runs, requests };
  };
  const report = ({ label, runs, requests }: Awaited<ReturnType<typeof measure>>) => {
    const mid = (field: keyof Run): string => (median(runs.map((run) => run[field])) / 1000).toFixed(2);
    console.log(
      `${label.padEnd(36)} wall ${mid('wall')} s, fake server ${mid('server')} s, bridge ${mid('bridge')} s (CPU ${mid('bridgeCpu')} s + git ${mid('gitCpu')} s)`,
    );
    console.log(
      `${''.padEnd(36)} requests: LIST ${requests.list} (${requests.list / 2} per kind, limit ${maxLists}), GET ${requests.get}, PATCH ${requests.patch}; TLS connections ${runs.at(-1)!.connections}; runs (wall): ${runs.map((run) => (run.wall / 1000).toFixed(2)).join(' ')}`,
    );
  };
  // The cache clone is warm after the sync, as it is for the read-back a CronJob tick runs after publishing.
  report(await measure('first read-back (all written)', N, 'first'));
  if (process.env.BENCH_READBACK_WHOLE === '1') {
    // Interleaved, run by run, with the same no-op listing its LynqNodes whole: what the status memo saves, under the same load.
    const memoRuns: Awaited<ReturnType<typeof measure>>[] = [];
    const wholeRuns: Awaited<ReturnType<typeof measure>>[] = [];
    for (let run = 0; run < RUNS; run++) {
      memoRuns.push(await measure('no-op read-back (nothing to write)', 0, 'noop', { once: true }));
      wholeRuns.push(await measure('no-op, LynqNodes listed whole', 0, 'noop-whole', { memo: wholeMemo, once: true }));
    }
    report({ ...memoRuns[0]!, runs: memoRuns.flatMap((item) => item.runs) });
    report({ ...wholeRuns[0]!, runs: wholeRuns.flatMap((item) => item.runs) });
  } else {
    report(await measure('no-op read-back (nothing to write)', 0, 'noop'));
  }
  fake.assertClean();
} finally {
  await fake.close();
  await world.cleanup();
}
