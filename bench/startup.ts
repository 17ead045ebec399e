/**
 * `npm run bench:startup`: how long `lynq sync --dry-run` takes from the process being
 * spawned to its first database query (its "source connecting" debug line), for the
 * compiled build (dist/, what the image runs) and for the sources through tsx (the
 * development loop). Medians of BENCH_RUNS (default 9) runs each; reported, not asserted.
 *
 * Needs `npm run build` first (the compiled run is skipped without dist/) and PostgreSQL at
 * PGHOST/PGPORT (127.0.0.1:5432, user postgres): the hub's query needs no table.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const BIN = path.resolve('bin/lynq.mjs');
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

const HUB = `apiVersion: operator.lynq.sh/v1
kind: LynqHub
metadata:
  name: startup
spec:
  source:
    type: postgresql
    postgresql:
      host: ${process.env.PGHOST ?? '127.0.0.1'}
      port: ${process.env.PGPORT ?? 5432}
      username: ${process.env.PGUSER ?? 'postgres'}
      database: postgres
      query: "SELECT 'a' AS id, true AS active"
  valueMappings:
    uid: id
    activate: active
  publish:
    repo: ./remote.git
`;

const FORM = `apiVersion: operator.lynq.sh/v1
kind: LynqForm
metadata:
  name: startup
spec:
  hubId: startup
  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      targetNamespace: default
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          uid: "{{ uid }}"
`;

/** ms from spawn to the first "source connecting" line on stderr. */
function once(dir: string, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [BIN, 'sync', '--dry-run', '--hubs', path.join(dir, 'hubs'), '--forms', path.join(dir, 'forms')],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          LYNQ_LOG_LEVEL: 'debug',
          LYNQ_CACHE_DIR: path.join(dir, 'cache'),
          ...env,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    let seen: number | undefined;
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (seen === undefined && err.includes('"msg":"source connecting"')) seen = performance.now() - started;
    });
    child.on('exit', () => (seen === undefined ? reject(new Error(`no database query seen:\n${err}`)) : resolve(seen)));
  });
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-startup-'));
try {
  await mkdir(path.join(dir, 'hubs'));
  await mkdir(path.join(dir, 'forms'));
  await writeFile(path.join(dir, 'hubs', 'startup.yaml'), HUB);
  await writeFile(path.join(dir, 'forms', 'startup.yaml'), FORM);
  const variants: Array<[string, NodeJS.ProcessEnv, { cold?: boolean }?]> = [
    ['tsx from source', { LYNQ_FROM_SOURCE: '1' }],
  ];
  // Cold: the first start of a build, or every start where the cache folder is not kept (an
  // emptyDir): V8's code for the bundle is not there to be read (bin/lynq.mjs).
  if (existsSync('dist/cli/lynq.cjs')) variants.unshift(['compiled dist/', {}], ['compiled, cold', {}, { cold: true }]);
  else console.log('dist/ missing: run `npm run build` to measure the compiled start-up');
  // What the machine gives a bare `node` right now: the floor under both figures.
  const bare: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await new Promise((resolve) => spawn(process.execPath, ['-e', ''], { stdio: 'ignore' }).on('exit', resolve));
    bare.push(performance.now() - t0);
  }
  console.log(`${'bare node'.padEnd(16)} spawn → exit: median ${median(bare).toFixed(0)} ms`);
  for (const [name, env, how] of variants) {
    await once(dir, env); // warm the file cache
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (how?.cold === true) await rm(path.join(dir, 'cache', 'code-cache'), { recursive: true, force: true });
      times.push(await once(dir, env));
    }
    console.log(
      `${name.padEnd(16)} spawn → first database query: median ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}, ${RUNS} runs)`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
