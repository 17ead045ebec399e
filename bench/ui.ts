/**
 * `npm run bench:ui`: the web view of a 10,000-node hub (BENCH_UI_NODES), served by a fresh
 * `lynq serve --ui` process (the compiled dist/, built first) on loopback, against a real
 * synced repository, PostgreSQL rows and the fake Kubernetes API (every 100th node
 * Degraded). After serve's first sync and read-back, each page is asked for BENCH_UI_RUNS
 * times (default 20) over one keep-alive connection, and the medians are printed: the
 * first request of a page (the node listing read from Git for a new head) apart from the
 * rest. Fails (exit 1) when a page is wrong: not 200, or not showing what it must.
 */
import { performance } from 'node:perf_hooks';
import { build } from './lynq-process.ts';
import { fail, fmt, median } from './common.ts';
import { argoApp, makeHealthWorld, putLynqNodes } from '../test/helpers/health-world.ts';
import { startKubeFake } from '../test/helpers/kube-fake.ts';
import { startLynq, stopLynq } from '../test/helpers/serve.ts';

const N = Number(process.env.BENCH_UI_NODES ?? 10_000);
const RUNS = Number(process.env.BENCH_UI_RUNS ?? 20);
const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';
const uid = (i: number): string => `n${String(i).padStart(6, '0')}`;

console.log(`web view bench: a ${N.toLocaleString('en-US')}-node hub, lynq serve --ui, ${RUNS} runs per page`);
console.log(await build());
const setup = performance.now();
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
  nodes.forEach((node, i) =>
    fake.put(
      'Application',
      argoApp(
        node,
        i % 100 === 7 ? 'application-degraded-synced.yaml' : 'application-healthy-synced-op-succeeded.yaml',
        head,
      ),
    ),
  );
  await world.writeKubeconfig(fake.kubeconfig());
  serve = startLynq(
    ['serve', ...world.dirs, '--listen', '127.0.0.1:0', '--no-watch', '--read-back-interval', '3600', '--ui'],
    {
      ...world.env,
      KUBECONFIG: world.kubeconfigFile,
      LYNQ_LOG_LEVEL: 'info',
    },
  );
  const url = await serve.url();
  await serve.waitForLog(
    (logs) => logs.some((line) => line.msg === 'read back' && line.after === 'sync'),
    'the first read-back',
    600_000,
  );
  console.log(
    `setup (rows, first sync, ${N} LynqNodes and Applications, serve's first sync and read-back): ${((performance.now() - setup) / 1000).toFixed(1)} s`,
  );

  const degraded = uid(7);
  const pages: Array<{ name: string; path: string; json?: boolean; check: (body: string) => boolean }> = [
    {
      name: 'hub page (HTML, page 1)',
      path: '/hubs/bench',
      check: (body) =>
        body.includes(`${N.toLocaleString('en-US')} of ${N.toLocaleString('en-US')} nodes`) &&
        body.indexOf(degraded) > 0,
    },
    {
      name: 'hub page, uid search',
      path: `/hubs/bench/forms/web?q=${uid(N - 10).slice(0, 6)}`,
      check: (body) => body.includes(`>${uid(N - 10)}<`),
    },
    {
      name: 'hub page, phase filter, page 2',
      path: '/hubs/bench/forms/web?phase=Ready&page=2',
      check: (body) => body.includes('page 2 of'),
    },
    {
      name: 'hub page (JSON)',
      path: '/hubs/bench',
      json: true,
      check: (body) => (JSON.parse(body) as { total: number }).total === N,
    },
    {
      name: 'node page (HTML)',
      path: `/hubs/bench/forms/web/nodes/${uid(N / 2)}`,
      check: (body) => body.includes(`Node bench/web/${uid(N / 2)}`) && body.includes('<table class="grid history">'),
    },
    {
      name: 'node page (JSON)',
      path: `/hubs/bench/forms/web/nodes/${degraded}`,
      json: true,
      check: (body) => (JSON.parse(body) as { phase: string }).phase === 'Degraded',
    },
    { name: 'fleet (HTML)', path: '/', check: (body) => body.includes(`bench/web/${degraded}`) },
  ];
  const ask = async (path: string, json = false): Promise<{ ms: number; body: string }> => {
    const started = performance.now();
    const response = await fetch(`${url}${path}`, { headers: json ? { accept: 'application/json' } : {} });
    const body = await response.text();
    const ms = performance.now() - started;
    if (response.status !== 200) fail(`${path}: ${response.status}`);
    return { ms, body };
  };
  console.log(`${'page'.padEnd(34)} ${'first'.padStart(8)} ${'median'.padStart(8)} ${'min–max'.padStart(16)}  size`);
  for (const page of pages) {
    const first = await ask(page.path, page.json);
    if (!page.check(first.body)) fail(`${page.name}: the page does not show what it must`);
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) times.push((await ask(page.path, page.json)).ms);
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `${page.name.padEnd(34)} ${`${fmt(first.ms)} ms`.padStart(8)} ${`${fmt(median(times))} ms`.padStart(8)} ${`${fmt(sorted[0]!)}–${fmt(sorted.at(-1)!)} ms`.padStart(16)}  ${(first.body.length / 1024).toFixed(0)} KiB`,
    );
  }
} finally {
  if (serve !== undefined) await stopLynq(serve);
  await fake.close();
  await world.cleanup();
}
