import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import type { Hub } from '../src/config/load.ts';
import { SourceError } from '../src/errors.ts';
import { createHubLocker, pgliteLockFile, withHubLock, type HubLocker } from '../src/service/lock.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import {
  closedPort,
  createMariadbDatabase,
  createPostgresDatabase,
  hubFor,
  MARIADB,
  POSTGRES,
  testDeps,
  type TestDatabase,
} from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { commitCount, makeBareRepo, makeTempDir, revParse } from './helpers/git.ts';

const lockerFor = (cacheDir: string): HubLocker => createHubLocker({ ...testDeps(), cacheDir, retryMs: 50 });

async function assertExclusive(hub: Hub, cacheDir: string, holderPattern: RegExp): Promise<void> {
  const first = lockerFor(cacheDir);
  const second = lockerFor(cacheDir);
  const held = await first(hub, { waitMs: 0 });
  assert.equal(held.acquired, true, 'the first process takes the lock');
  const refused = await second(hub, { waitMs: 0 });
  assert.equal(refused.acquired, false, 'the second is refused while the first holds it');
  if (!refused.acquired) assert.match(refused.holder, holderPattern);
  if (held.acquired) await held.handle.release();
  const after = await second(hub, { waitMs: 0 });
  assert.equal(after.acquired, true, 'released, it is free for the next one');
  if (after.acquired) await after.handle.release();
}

/** A separate process (its own database sessions) that takes the hub's lock, says so on stdout, and holds it until killed. */
function holderProcess(hub: Hub, cacheDir: string): { child: ReturnType<typeof spawn>; locked: Promise<void> } {
  const script = `
    import { createHubLocker } from ${JSON.stringify(path.resolve('src/service/lock.ts'))};
    import { parseHub } from ${JSON.stringify(path.resolve('src/config/load.ts'))};
    import { SecretRegistry, silentLogger } from ${JSON.stringify(path.resolve('src/logger.ts'))};
    const hub = parseHub(process.env.HUB_FILE, process.env.HUB_TEXT);
    const lock = createHubLocker({ secretEnv: { env: {}, secretsDir: '/nonexistent', registry: new SecretRegistry() }, logger: silentLogger(), cacheDir: process.env.CACHE });
    const attempt = await lock(hub, { waitMs: 0 });
    process.stdout.write(attempt.acquired ? 'locked\\n' : 'refused\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: {
      ...process.env,
      HUB_FILE: hub.file,
      HUB_TEXT: stringify({
        apiVersion: 'operator.lynq.sh/v1',
        kind: 'LynqHub',
        metadata: { name: hub.name },
        spec: hub.spec,
      }),
      CACHE: cacheDir,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const locked = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('locked\n')) resolve();
      if (out.includes('refused\n')) reject(new Error('the holder process could not take the lock'));
    });
    child.once('exit', () => reject(new Error('the holder process exited before taking the lock')));
  });
  return { child, locked };
}

describe('the hub lock', () => {
  let pgDb: TestDatabase;
  let myDb: TestDatabase;
  let cache: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    pgDb = await createPostgresDatabase();
    myDb = await createMariadbDatabase();
    cache = await makeTempDir('lynq-lock-cache-');
  });
  after(async () => {
    await pgDb.drop();
    await myDb.drop();
    await cache.cleanup();
  });

  test('PostgreSQL: an advisory lock on the source database; the refused one is told who holds it', async () => {
    const hub = hubFor('postgresql', { host: POSTGRES.host, username: POSTGRES.user, database: pgDb.name, table: 't' });
    await assertExclusive(
      hub,
      cache.dir,
      new RegExp(`lynq ${os.hostname()} pid ${process.pid} \\(postgresql backend \\d+`),
    );
  });

  test('MySQL: GET_LOCK on the source server; the refused one is told which connection holds it', async () => {
    const hub = hubFor('mysql', {
      host: MARIADB.host,
      port: MARIADB.port,
      username: MARIADB.user,
      database: myDb.name,
      table: 't',
    });
    await assertExclusive(hub, cache.dir, /^mysql connection \d+ from /);
  });

  test('two hubs lock independently', async () => {
    const a = hubFor('postgresql', { host: POSTGRES.host, username: POSTGRES.user, database: pgDb.name, table: 't' });
    const b = { ...a, name: 'other-hub' };
    const lock = lockerFor(cache.dir);
    const first = await lock(a, { waitMs: 0 });
    const second = await lock(b, { waitMs: 0 });
    assert.equal(first.acquired && second.acquired, true);
    if (first.acquired) await first.handle.release();
    if (second.acquired) await second.handle.release();
  });

  test('pglite: a lock file with pid and host; a dead holder on this host is stale, another host is respected', async () => {
    const hub = hubFor('pglite', { table: 't' });
    const file = pgliteLockFile(hub, cache.dir);
    await assertExclusive(hub, cache.dir, new RegExp(`lynq ${os.hostname()} pid ${process.pid} .*lock file`));
    const dead = spawn(process.execPath, ['-e', '']);
    await once(dead, 'exit');
    await writeFile(file, JSON.stringify({ pid: dead.pid, host: os.hostname(), since: '2026-01-01T00:00:00.000Z' }));
    const taken = await lockerFor(cache.dir)(hub, { waitMs: 0 });
    assert.equal(taken.acquired, true, 'the lock file of a process that is gone is taken over');
    assert.match(await readFile(file, 'utf8'), new RegExp(`"pid":${process.pid}`));
    if (taken.acquired) await taken.handle.release();
    await writeFile(file, JSON.stringify({ pid: 1, host: 'some-other-host', since: '2026-01-01T00:00:00.000Z' }));
    const refused = await lockerFor(cache.dir)(hub, { waitMs: 0 });
    assert.equal(refused.acquired, false);
    if (!refused.acquired) assert.match(refused.holder, /some-other-host pid 1/);
  });

  test('a holder killed with SIGKILL frees the hub (the server ends its session)', async () => {
    for (const hub of [
      hubFor('postgresql', { host: POSTGRES.host, username: POSTGRES.user, database: pgDb.name, table: 't' }),
      hubFor('mysql', {
        host: MARIADB.host,
        port: MARIADB.port,
        username: MARIADB.user,
        database: myDb.name,
        table: 't',
      }),
    ]) {
      const { child, locked } = holderProcess(hub, cache.dir);
      await locked;
      const refused = await lockerFor(cache.dir)(hub, { waitMs: 0 });
      assert.equal(refused.acquired, false, `${hub.spec.source.type}: held by the other process`);
      if (!refused.acquired)
        assert.match(
          refused.holder,
          hub.spec.source.type === 'postgresql' ? new RegExp(`pid ${child.pid}`) : /mysql connection/,
        );
      child.kill('SIGKILL');
      await once(child, 'exit');
      // The server notices the dropped socket at once on a local connection; the bound is only for slow machines.
      const taken = await lockerFor(cache.dir)(hub, { waitMs: 30_000 });
      assert.equal(taken.acquired, true, `${hub.spec.source.type}: free after the holder was killed`);
      if (taken.acquired) await taken.handle.release();
    }
  });

  test('a lock whose database cannot be reached is a SourceError naming the hub', async () => {
    const hub = hubFor('postgresql', {
      host: '127.0.0.1',
      port: await closedPort(),
      username: 'postgres',
      database: 'x',
      table: 't',
      connectTimeoutSeconds: 2,
    });
    await assert.rejects(
      lockerFor(cache.dir)(hub, { waitMs: 0 }),
      (error: unknown) =>
        error instanceof SourceError &&
        /hub test-hub: cannot connect to postgresql at 127\.0\.0\.1:\d+ for the sync lock/.test(error.message),
    );
  });

  test('withHubLock runs the work holding the lock and releases it after a failure too', async () => {
    const hub = hubFor('postgresql', { host: POSTGRES.host, username: POSTGRES.user, database: pgDb.name, table: 't' });
    const lock = lockerFor(cache.dir);
    await assert.rejects(
      withHubLock(lock, hub, { waitMs: 0 }, async () => {
        const inside = await lockerFor(cache.dir)(hub, { waitMs: 0 });
        assert.equal(inside.acquired, false, 'held while the work runs');
        throw new Error('work failed');
      }),
      /work failed/,
    );
    const free = await lock(hub, { waitMs: 0 });
    assert.equal(free.acquired, true);
    if (free.acquired) await free.handle.release();
  });
});

describe('lynq sync and the hub lock', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createPostgresDatabase();
    await db.exec(`CREATE TABLE customers (id text, active boolean); INSERT INTO customers VALUES ('acme', true);`);
  });
  after(async () => {
    await db.drop();
  });

  test('skips a hub another process is syncing (exit 0, one line naming the holder), or waits with --wait-lock', async () => {
    const remote = await makeBareRepo();
    const files = await tempFiles({
      'hubs/customers.yaml': hubYaml({ database: db.name, port: POSTGRES.port }),
      'forms/web.yaml': formYaml(
        '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data:\n          A: "{{ uid }}"\n',
      ),
    });
    const env = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
    const args = ['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir];
    try {
      const { parseHub } = await import('../src/config/load.ts');
      const hub = parseHub(
        path.join(files.dir, 'hubs/customers.yaml'),
        hubYaml({ database: db.name, port: POSTGRES.port }),
      );
      const held = await lockerFor(env.LYNQ_CACHE_DIR)(hub, { waitMs: 0 });
      assert.equal(held.acquired, true);
      if (!held.acquired) return;
      const skipped = await lynq(args, env);
      assert.equal(skipped.code, 0, skipped.err);
      assert.equal(skipped.out.split('\n').filter((line) => line.includes('skipped')).length, 1);
      assert.match(
        skipped.out,
        new RegExp(`^hub customers: skipped, sync lock held by lynq ${os.hostname()} pid ${process.pid} `, 'm'),
      );
      assert.doesNotMatch(skipped.out, /^hub +added/m, 'no table of no hubs');
      assert.equal(await revParse(remote.dir, 'main'), undefined, 'the skipped run wrote nothing');

      const released = new Promise<void>((resolve) => setTimeout(() => void held.handle.release().then(resolve), 300));
      const waited = await lynq([...args, '--wait-lock', '60'], env);
      await released;
      assert.equal(waited.code, 0, waited.err);
      assert.doesNotMatch(waited.out, /skipped/);
      assert.equal(await commitCount(remote.dir, 'main'), 1, 'the waiting run synced once the holder let go');

      const bad = await lynq([...args, '--wait-lock', 'soon'], env);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /--wait-lock.*expected a number of seconds/);
    } finally {
      await remote.cleanup();
      await files.cleanup();
    }
  });
});
