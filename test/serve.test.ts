// @slow: about 19 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import {
  closedPort,
  createMariadbDatabase,
  createPostgresDatabase,
  POSTGRES,
  type TestDatabase,
} from './helpers/db.ts';
import { makeBareRepo, readTree } from './helpers/git.ts';
import { finishedSyncs, overlapping, stopLynq, syncIntervals } from './helpers/serve.ts';
import {
  form,
  metricsOf,
  NEVER,
  nodesIn,
  sampleValue,
  serve,
  serveHubYaml,
  waitFor,
  world,
  type ServeHub,
} from './helpers/serve-world.ts';

describe('lynq serve (real child processes, real databases, bare remotes)', () => {
  let pgDb: TestDatabase;
  let myDb: TestDatabase;
  let sql: pg.Client;
  before(async () => {
    pgDb = await createPostgresDatabase();
    myDb = await createMariadbDatabase();
    sql = new pg.Client({ ...POSTGRES, database: pgDb.name });
    await sql.connect();
  });
  after(async () => {
    await sql.end();
    await pgDb.drop();
    await myDb.drop();
  });

  test('two hubs on short schedules (PostgreSQL and MariaDB): each syncs on its own, never overlapping itself; slow ticks are skipped and counted; /metrics, /healthz, /readyz', async () => {
    await pgDb.exec(
      `CREATE TABLE slow (id text, active boolean); INSERT INTO slow VALUES ('acme', true), ('globex', true);`,
    );
    await myDb.exec(
      `CREATE TABLE customers (id varchar(20), active tinyint); INSERT INTO customers VALUES ('initech', 1);`,
    );
    const pgRemote = await makeBareRepo();
    const myRemote = await makeBareRepo();
    // The slow hub's read takes longer than its interval, so some of its ticks find it still running.
    const w = await world([
      {
        name: 'slow',
        type: 'postgresql',
        database: pgDb.name,
        repo: pgRemote.dir,
        interval: '1s',
        query: 'SELECT s.id, s.active FROM slow s, pg_sleep(1.2)',
      },
      { name: 'shop', type: 'mysql', database: myDb.name, repo: myRemote.dir, interval: '2s' },
      {
        name: 'broken',
        type: 'postgresql',
        database: 'nowhere',
        repo: pgRemote.dir,
        interval: '1h',
        port: await closedPort(),
      },
    ]);
    const proc = serve(w, {}, ['--ready-after', '0']);
    try {
      await proc.waitForLog(
        (logs) =>
          finishedSyncs(logs, 'slow').length >= 3 &&
          finishedSyncs(logs, 'shop').length >= 3 &&
          logs.some((line) => line.hub === 'broken' && line.msg === 'source failed; nothing changed'),
        'three syncs of each hub, and the broken one failing',
      );
      for (const hub of ['slow', 'shop'])
        assert.equal(overlapping(syncIntervals(proc.logs, hub)), undefined, `hub ${hub} never ran twice at once`);
      assert.deepEqual(await nodesIn(pgRemote.dir, 'slow'), ['acme', 'globex']);
      assert.deepEqual(await nodesIn(myRemote.dir, 'shop'), ['initech']);
      assert.ok(
        proc.logs.some(
          (line) => line.msg === 'scheduled tick skipped: the previous sync is still running' && line.hub === 'slow',
        ),
      );

      const url = await proc.url();
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 503, 'a hub failing longer than --ready-after makes the service unready');
      assert.match(await ready.text(), /hub broken: syncs failing \(source-failed\)/);
      assert.equal((await fetch(`${url}/nothing`)).status, 404);

      const metrics = await metricsOf(proc);
      assert.equal(metrics.get('lynq_sync_duration_seconds')?.type, 'histogram');
      for (const name of ['lynq_sync_last_success_timestamp_seconds', 'lynq_nodes', 'lynq_config_problems'])
        assert.equal(metrics.get(name)?.type, 'gauge', name);
      for (const name of [
        'lynq_commits_total',
        'lynq_pull_request_writes_total',
        'lynq_sync_errors_total',
        'lynq_skipped_ticks_total',
        'lynq_lock_busy_total',
        'lynq_syncs_total',
        'lynq_triggers_total',
      ]) {
        assert.equal(metrics.get(name)?.type, 'counter', name);
      }
      assert.ok(
        (sampleValue(metrics, 'lynq_skipped_ticks_total', { hub: 'slow' }) ?? 0) >= 1,
        'skipped ticks are counted',
      );
      assert.equal(sampleValue(metrics, 'lynq_nodes', { hub: 'slow', state: 'unchanged' }), 2);
      assert.equal(sampleValue(metrics, 'lynq_commits_total', { hub: 'shop' }), 1);
      assert.ok((sampleValue(metrics, 'lynq_sync_last_success_timestamp_seconds', { hub: 'shop' }) ?? 0) > 0);
      assert.ok((sampleValue(metrics, 'lynq_sync_errors_total', { hub: 'broken', kind: 'source' }) ?? 0) >= 1);
      assert.equal(sampleValue(metrics, 'lynq_sync_last_success_timestamp_seconds', { hub: 'broken' }), undefined);
      // Per hub, never per node: no series of the bridge's own carries a node, uid or form label.
      for (const [name, family] of metrics) {
        if (!name.startsWith('lynq_') || name.startsWith('lynq_process_')) continue;
        for (const sample of family.samples)
          for (const label of Object.keys(sample.labels))
            assert.ok(
              ['hub', 'state', 'outcome', 'kind', 'trigger', 'le'].includes(label),
              `${name} has label ${label}`,
            );
      }
      assert.equal(await stopLynq(proc), 0);
    } finally {
      await stopLynq(proc);
      await w.cleanup();
      await pgRemote.cleanup();
      await myRemote.cleanup();
    }
  });

  test('a broken hub file keeps its last good version (reported), a bad syncInterval names file and field; SIGHUP reloads', async () => {
    await pgDb.exec(`CREATE TABLE reload (id text, active boolean); INSERT INTO reload VALUES ('one', true);`);
    const remote = await makeBareRepo();
    const hub: ServeHub = {
      name: 'reload',
      type: 'postgresql',
      database: pgDb.name,
      repo: remote.dir,
      interval: NEVER,
      table: 'reload',
    };
    const w = await world([hub]);
    const proc = serve(w, {}, ['--no-watch']);
    try {
      await proc.waitForLog((logs) => finishedSyncs(logs, 'reload').length >= 1, 'the first sync');
      const hubFile = path.join(w.hubsDir, 'reload.yaml');
      await writeFile(hubFile, serveHubYaml({ ...hub, interval: 'soon' }));
      proc.child.kill('SIGHUP');
      await proc.waitForLog(
        (logs) => logs.some((line) => line.msg === 'config file rejected; its last good version stays in force'),
        'the rejection',
      );
      const rejected = proc.logs.find(
        (line) => line.msg === 'config file rejected; its last good version stays in force',
      )!;
      assert.equal(rejected.file, hubFile);
      assert.equal(rejected.keptLastGood, true);
      assert.match(
        String(rejected.err),
        /reload\.yaml:\d+, field spec\.source\.syncInterval: "soon" is neither a duration/,
      );
      const url = await proc.url();
      assert.equal(
        (await fetch(`${url}/readyz`)).status,
        200,
        'a file with a last good version does not make the service unready',
      );
      assert.equal(sampleValue(await metricsOf(proc), 'lynq_config_problems', {}), 1);

      // Fixed, the hub is rescheduled and synced at once, with the form added meanwhile.
      await writeFile(path.join(w.formsDir, 'extra.yaml'), form('reload', 'extra'));
      await writeFile(hubFile, serveHubYaml({ ...hub, interval: '1h' }));
      proc.child.kill('SIGHUP');
      await proc.waitForLog(
        (logs) => logs.some((line) => line.msg === 'config loaded' && (line.changed as string[]).includes('reload')),
        'the fixed hub',
      );
      await waitFor(
        async () => (await readTree(remote.dir, 'main')).has('nodes/reload/extra/one/lynqnode.yaml'),
        'the new form rendered',
      );
      assert.equal(await stopLynq(proc), 0);
    } finally {
      await stopLynq(proc);
      await w.cleanup();
      await remote.cleanup();
    }
  });
});
