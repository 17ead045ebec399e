/**
 * `npm run bench:serve-memory`: the resident memory of a fresh `lynq serve` (the compiled
 * dist/, built first) over many ticks, each a sync and the read-back after it, at 10,000
 * nodes (BENCH_SERVE_NODES) of one Argo CD hub, against real PostgreSQL rows, a real bare
 * repository and the fake Kubernetes API (test/helpers/kube-fake.ts, in this process, as
 * bench/read-back.ts and bench/ui.ts use it). The hub syncs every second (`syncInterval:
 * 1s`), so ticks follow each other as fast as serve runs them; read-backs between syncs are
 * off (`--read-back-interval 3600`): every read-back counted is one that follows a sync.
 *
 * The serve process's RSS (/proc/<pid>/status VmRSS) is sampled every 250 ms; printed: its
 * RSS after the first tick, at the middle and at the end, its peak, and the RSS at each tenth
 * of the run, so a leak shows as a slope. Fails (exit 1) when serve exits, a sync fails or a
 * tick does not finish in time; memory is reported, never asserted.
 *
 * Environment (all optional): BENCH_SERVE_NODES=10000  BENCH_SERVE_TICKS=1000.
 */
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { argoApp, makeHealthWorld, putLynqNodes } from '../test/helpers/health-world.ts';
import { startKubeFake } from '../test/helpers/kube-fake.ts';
import { type LogLine, startLynq, stopLynq } from '../test/helpers/serve.ts';
import { fail, table } from './common.ts';
import { build } from './lynq-process.ts';

const N = Number(process.env.BENCH_SERVE_NODES ?? 10_000);
const TICKS = Number(process.env.BENCH_SERVE_TICKS ?? 1000);
const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';
const uid = (i: number): string => `n${String(i).padStart(6, '0')}`;

/** A process's resident set size in MiB (Linux), or NaN once it is gone. */
function rssMiB(pid: number): number {
  try {
    const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return line === undefined ? Number.NaN : Number(line) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** A tick: a sync that finished and the read-back after it. */
const readBacksAfterSync = (logs: readonly LogLine[]): number =>
  logs.filter((line) => line.msg === 'read back' && line.after === 'sync').length;

const loadavg = (): string =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

console.log(
  `serve memory bench: a ${N.toLocaleString('en-US')}-node hub, lynq serve, ${TICKS} ticks (sync + read-back), load average ${loadavg()} at the start`,
);
console.log(await build());
const world = await makeHealthWorld({
  hub: 'bench',
  gitops: '    engine: argocd\n    argocd:\n      repoURL: https://git.example.com/manifests.git\n',
  form: FORM,
  rows: Array.from({ length: N }, (_, i) => [uid(i), 'gold'] as [string, string]),
});
const fake = await startKubeFake({ record: false });
let serve: ReturnType<typeof startLynq> | undefined;
try {
  const synced = await world.sync();
  if (synced.code !== 0) fail(`the sync failed: ${synced.out}${synced.err}`);
  const nodes = await world.lynqNodes();
  putLynqNodes(fake, nodes);
  const head = await world.head();
  for (const node of nodes)
    fake.put('Application', argoApp(node, 'application-healthy-synced-op-succeeded.yaml', head));
  await world.writeKubeconfig(fake.kubeconfig());
  // Every second: ticks follow each other as fast as serve runs them.
  const hubFile = path.join(world.dir, 'hubs', 'hub.yaml');
  await writeFile(
    hubFile,
    (await readFile(hubFile, 'utf8')).replace(/^( {6}connectTimeoutSeconds: .*\n)/m, '$1    syncInterval: 1s\n'),
  );
  const hubText = await readFile(hubFile, 'utf8');
  if (!/^ {4}syncInterval: 1s$/m.test(hubText)) fail(`could not set syncInterval in ${hubFile}:\n${hubText}`);
  serve = startLynq(['serve', ...world.dirs, '--listen', '127.0.0.1:0', '--no-watch', '--read-back-interval', '3600'], {
    ...world.env,
    KUBECONFIG: world.kubeconfigFile,
    LYNQ_LOG_LEVEL: 'info',
  });
  const pid = serve.child.pid!;
  const samples: Array<{ tick: number; ms: number; rss: number }> = [];
  const started = performance.now();
  const sampler = setInterval(
    () => samples.push({ tick: readBacksAfterSync(serve!.logs), ms: performance.now() - started, rss: rssMiB(pid) }),
    250,
  );
  try {
    let last = 0;
    let lastAt = performance.now();
    let reported = 0;
    const step = Math.max(1, Math.round(TICKS / 10));
    while (readBacksAfterSync(serve.logs) < TICKS) {
      const failed = serve.logs.find((line) => line.msg === 'sync failed' || line.msg === 'read-back failed');
      if (failed !== undefined) fail(`serve: ${JSON.stringify(failed)}`);
      const now = readBacksAfterSync(serve.logs);
      if (now !== last) [last, lastAt] = [now, performance.now()];
      // A bound for a stuck service, not a measurement.
      if (performance.now() - lastAt > 300_000)
        fail(`serve: no tick finished in 5 minutes after tick ${last}\n${serve.stderr().slice(-3000)}`);
      if (serve.child.exitCode !== null) fail(`serve exited ${serve.child.exitCode}:\n${serve.stderr().slice(-3000)}`);
      if (now >= reported + step) {
        reported = now - (now % step);
        process.stderr.write(
          `  tick ${now}: RSS ${rssMiB(pid).toFixed(0)} MiB, ${((performance.now() - started) / 1000).toFixed(0)} s, load ${loadavg()}\n`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    clearInterval(sampler);
  }
  samples.push({ tick: readBacksAfterSync(serve.logs), ms: performance.now() - started, rss: rssMiB(pid) });
  const syncs = serve.logs.filter((line) => line.msg === 'sync finished').length;
  const elapsed = (performance.now() - started) / 1000;
  const at = (tick: number): number => samples.find((sample) => sample.tick >= tick)?.rss ?? Number.NaN;
  const peak = Math.max(...samples.map((sample) => sample.rss).filter((rss) => !Number.isNaN(rss)));
  const rows = Array.from({ length: 10 }, (_, i) => {
    const tick = Math.max(1, Math.round(((i + 1) * TICKS) / 10));
    return [String(tick), `${at(tick).toFixed(0)} MiB`];
  });
  console.log(
    [
      '',
      `lynq serve, ${N.toLocaleString('en-US')} nodes (Argo CD, fake Kubernetes API), ${TICKS} ticks of sync + read-back in ${elapsed.toFixed(0)} s (${syncs} syncs), ${new Date().toISOString()}, load average ${loadavg()} at the end`,
      `RSS after tick 1: ${at(1).toFixed(0)} MiB; at tick ${Math.round(TICKS / 2)}: ${at(Math.round(TICKS / 2)).toFixed(0)} MiB; at tick ${TICKS}: ${at(TICKS).toFixed(0)} MiB; peak ${peak.toFixed(0)} MiB (sampled every 250 ms)`,
      '',
      table(['after tick', 'RSS'], rows, ['r', 'r']),
      '',
    ].join('\n'),
  );
} finally {
  if (serve !== undefined) await stopLynq(serve);
  await fake.close();
  await world.cleanup();
}
