// @slow: about 84 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSyncDeps } from '../src/cli/wiring.ts';
import { parseForm, parseHub } from '../src/config/load.ts';
import { defaultSecretEnv } from '../src/config/secrets.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { createHubLocker, withHubLock } from '../src/service/lock.ts';
import { ServiceMetrics } from '../src/service/metrics.ts';
import { HubScheduler, type RunResult } from '../src/service/scheduler.ts';
import { syncHub } from '../src/sync/sync-hub.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { captureStream } from './helpers/files.ts';
import { commitCount, makeBareRepo, makeTempDir } from './helpers/git.ts';
import { form, NEVER, serveHubYaml } from './helpers/serve-world.ts';

const CYCLES = 500;
/** Every tenth cycle changes a row, so the soak commits and pushes too, not only no-op syncs. */
const CHANGE_EVERY = 10;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Open handles by type, without the ones the test runner itself holds. */
function handles(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

describe('soak: one process, many syncs', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });

  test(`${CYCLES} sync cycles through the service's scheduler, lock and metrics: heap after gc and open handles stay flat`, async (t) => {
    await db.exec(
      `CREATE TABLE soak (id text, active boolean); INSERT INTO soak SELECT 'n' || g, true FROM generate_series(1, 50) g;`,
    );
    const remote = await makeBareRepo();
    const temp = await makeTempDir('lynq-soak-');
    const env = { LYNQ_CACHE_DIR: path.join(temp.dir, 'cache') };
    const hub = parseHub(
      path.join(temp.dir, 'soak.yaml'),
      serveHubYaml({
        name: 'soak',
        type: 'postgresql',
        database: db.name,
        repo: remote.dir,
        interval: NEVER,
        table: 'soak',
      }),
    );
    const forms = [parseForm(path.join(temp.dir, 'web.yaml'), form('soak'))];
    const logger = silentLogger();
    const secrets = new SecretRegistry();
    const sync = createSyncDeps({ logger, dryRun: false, diff: false, out: captureStream(), env, secrets });
    const locker = createHubLocker({ secretEnv: defaultSecretEnv(secrets, env), logger, cacheDir: env.LYNQ_CACHE_DIR });
    const metrics = new ServiceMetrics();
    let finished: ((result: RunResult) => void) | undefined;
    const scheduler = new HubScheduler({
      logger,
      metrics,
      repoKey: () => remote.dir,
      debounceMs: 0,
      maxDebounceMs: 0,
      runHub: async (runHub, runForms, signal) => {
        const run = await withHubLock(locker, runHub, { waitMs: 0, signal }, (held) =>
          syncHub(runHub, runForms, { ...sync, signal: held }, { allowDeletions: false }),
        );
        const result: RunResult = run.ran ? { ran: true, result: run.value } : run;
        finished?.(result);
        return result;
      },
    });
    const next = () => new Promise<RunResult>((resolve) => (finished = resolve));
    try {
      let done = next();
      scheduler.update(new Map([['soak', hub]]), forms);
      let samples: { heap: number; handles: Map<string, number> } | undefined;
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        const result = await done;
        assert.ok(
          result.ran && (result.result.outcome === 'published' || result.result.outcome === 'unchanged'),
          `cycle ${cycle}: ${JSON.stringify(result.ran ? result.result.outcome : result)}`,
        );
        // Past the warm-up (first clone, caches filled, JIT settled): the baseline.
        if (cycle === 100) samples = { heap: heapAfterGc(), handles: handles() };
        // Deactivated and activated again in turn: a node removed, then added, each a commit.
        if (cycle % CHANGE_EVERY === 0) await db.exec(`UPDATE soak SET active = NOT active WHERE id = 'n1'`);
        done = next();
        // Wait until the previous run has fully left the scheduler, as a tick would find it.
        await new Promise((resolve) => setImmediate(resolve));
        assert.equal(scheduler.request('soak', 'webhook'), true);
      }
      await done;
      await new Promise((resolve) => setImmediate(resolve));
      const heap = heapAfterGc();
      const growth = heap - samples!.heap;
      t.diagnostic(
        `heap after gc: ${(samples!.heap / 1048576).toFixed(1)} MB after 100 syncs, ${(heap / 1048576).toFixed(1)} MB after ${CYCLES + 1}; handles ${JSON.stringify([...handles()])}`,
      );
      assert.ok(
        growth < 8 * 1024 * 1024,
        `heap after gc grew by ${(growth / 1048576).toFixed(1)} MB over ${CYCLES - 100} syncs (from ${(samples!.heap / 1048576).toFixed(1)} MB)`,
      );
      assert.deepEqual(handles(), samples!.handles, 'the same open handles as after the warm-up');
      assert.equal(secrets.size, 0, 'nothing secret was read, and nothing piled up');
      assert.equal(
        await commitCount(remote.dir, 'main'),
        1 + Math.floor(CYCLES / CHANGE_EVERY),
        'one commit for the first sync and one per changed row',
      );
      const text = await metrics.text();
      assert.match(
        text,
        new RegExp(
          `lynq_syncs_total\\{hub="soak",outcome="unchanged"\\} ${CYCLES + 1 - 1 - Math.floor(CYCLES / CHANGE_EVERY)}\\n`,
        ),
      );
    } finally {
      await scheduler.stop(60_000, 10_000);
      await remote.cleanup();
      await temp.cleanup();
    }
  });
});
