// @slow: about 91 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { git, makeBareRepo } from './helpers/git.ts';
import {
  overlapping,
  processesIn,
  startLynq,
  stopLynq,
  syncIntervals,
  type LogLine,
  type LynqProcess,
} from './helpers/serve.ts';
import { assertSound, metricsOf, NEVER, nodesIn, sampleValue, serve, waitFor, world } from './helpers/serve-world.ts';

describe('lynq serve: shutdown and several writers on one hub', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });

  for (const variant of [
    { name: 'within the grace period, the running sync finishes', grace: '60', at: 'compared with git' },
    { name: 'with no grace, the running sync is aborted', grace: '0', at: 'rows read' },
  ]) {
    test(`SIGTERM mid-sync (${variant.name}): exit 0, remote and cache clone pass fsck, no child process left`, async () => {
      const table = `big_${variant.grace}`;
      await db.exec(
        `CREATE TABLE ${table} (id text, active boolean); INSERT INTO ${table} SELECT 'n' || g, true FROM generate_series(1, 600) g;`,
      );
      const remote = await makeBareRepo();
      const w = await world([
        { name: 'big', type: 'postgresql', database: db.name, repo: remote.dir, interval: NEVER, table },
      ]);
      const proc = serve(w, {}, ['--grace', variant.grace]);
      try {
        await proc.waitForLog(
          (logs) => logs.some((line) => line.msg === variant.at),
          `the sync to reach "${variant.at}"`,
        );
        assert.equal(await stopLynq(proc), 0);
        assert.ok(proc.logs.some((line) => line.msg === 'stopped'));
        await assertSound(remote.dir, path.join(w.dir, 'cache'));
        assert.deepEqual(await processesIn(w.dir), [], 'no process is left working in the cache or the config');
        const finished = proc.logs.find((line) => line.msg === 'sync finished');
        if (variant.grace !== '0') {
          assert.equal(finished?.outcome, 'published', 'given time, the sync completed');
          assert.equal((await nodesIn(remote.dir, 'big')).length, 600);
        }
        // Aborted or not, what the remote has is whole: all of the sync's nodes or none.
        assert.ok([0, 600].includes((await nodesIn(remote.dir, 'big')).length));
      } finally {
        await stopLynq(proc);
        await w.cleanup();
        await remote.cleanup();
      }
    });
  }

  test('two serve processes and a lynq sync on one hub: no interleaved commits, no duplicate work, the lock is contended', async () => {
    await db.exec(`CREATE TABLE shared (id text, active boolean); INSERT INTO shared VALUES ('r0', true);`);
    const remote = await makeBareRepo();
    const w = await world([
      { name: 'shared', type: 'postgresql', database: db.name, repo: remote.dir, interval: '1s', table: 'shared' },
    ]);
    // Like two pods and a CronJob: each with its own cache.
    const first = serve(w, {}, [], 'cache-1');
    const second = serve(w, {}, [], 'cache-2');
    const syncs: LynqProcess[] = [];
    try {
      await first.url();
      await second.url();
      for (let round = 1; round <= 5; round++) {
        await db.exec(`INSERT INTO shared VALUES ('r${round}', true);`);
        const sync = startLynq(['sync', '--hubs', w.hubsDir, '--forms', w.formsDir, '--wait-lock', '30'], {
          LYNQ_CACHE_DIR: path.join(w.dir, 'cache-sync'),
        });
        syncs.push(sync);
        assert.equal(await sync.exited, 0, sync.stderr());
      }
      const all = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5'];
      await waitFor(async () => (await nodesIn(remote.dir, 'shared')).length === all.length, 'every row published');
      // Let both services tick a few more times on the settled hub.
      const ticks = (proc: LynqProcess) =>
        proc.logs.filter(
          (line) => line.msg === 'sync finished' || line.msg === 'hub skipped: another process holds its sync lock',
        ).length;
      const [a, b] = [ticks(first), ticks(second)];
      await first.waitForLog(() => ticks(first) >= a + 3 && ticks(second) >= b + 3, 'a few more ticks of both');
      const lockBusy =
        (sampleValue(await metricsOf(first), 'lynq_lock_busy_total', { hub: 'shared' }) ?? 0) +
        (sampleValue(await metricsOf(second), 'lynq_lock_busy_total', { hub: 'shared' }) ?? 0);
      assert.equal(await stopLynq(first), 0);
      assert.equal(await stopLynq(second), 0);

      const intervals = [...syncIntervals(first.logs, 'shared'), ...syncIntervals(second.logs, 'shared')];
      assert.equal(overlapping(intervals), undefined, 'the two services never synced the hub at the same time');
      assert.ok(lockBusy >= 1, 'the services met each other at the lock (same schedule slot) and one stood aside');
      const everyLog: LogLine[] = [...first.logs, ...second.logs, ...syncs.flatMap((sync) => sync.logs)];
      assert.deepEqual(
        everyLog.filter((line) => /moved/.test(line.msg)),
        [],
        'no writer ever found the branch moved under it: nobody worked on the same head at once',
      );
      // Each node was added by exactly one commit, and every commit did something.
      const log = await git(remote.dir, ['log', '--format=%x00%H', '--name-status', 'main']);
      const commits = log.split('\0').filter((entry) => entry.trim() !== '');
      const added = commits.flatMap((entry) =>
        entry.split('\n').filter((line) => line.startsWith('A\t') && line.endsWith('/lynqnode.yaml')),
      );
      assert.equal(added.length, all.length, `every node added once:\n${added.join('\n')}`);
      assert.equal(new Set(added).size, added.length);
      for (const entry of commits)
        assert.ok(
          entry.split('\n').some((line) => /^[AMD]\t/.test(line)),
          'no empty commit',
        );
      // syncHub logs "published" once per commit it pushed, in the services and the CLI alike.
      assert.equal(
        everyLog.filter((line) => line.msg === 'published').length,
        commits.length,
        "every commit is one sync's publish, none lost or doubled",
      );
    } finally {
      await stopLynq(first);
      await stopLynq(second);
      await w.cleanup();
      await remote.cleanup();
    }
  });
});
