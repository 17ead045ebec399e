// @slow: about 37 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { DEMO_SEEDED_FILE, runDemo } from '../src/cli/demo-command.ts';
import { createLogger, SecretRegistry } from '../src/logger.ts';
import { captureStream } from './helpers/files.ts';
import { git, readTree } from './helpers/git.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/lynq.mjs', import.meta.url));

describe('lynq demo', () => {
  test('works outside the clone, and every namespace its LynqNodes name exists in the cluster or in the nodes', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'lynq-demo-'));
    try {
      const result = await run('node', [BIN, 'demo'], {
        cwd,
        env: { ...process.env, LYNQ_CACHE_DIR: path.join(cwd, 'cache'), LYNQ_LOG_LEVEL: 'silent' },
      });
      assert.match(result.stdout, /created the demo manifests repository/);
      assert.match(result.stdout, /^demo +\d+ +0 +0 +0 +0 +0 +[0-9a-f]{12}$/m);
      assert.ok((await readdir(cwd)).includes('.lynq'), 'the demo keeps its files under .lynq in the current folder');
      const tree = await readTree(path.join(cwd, '.lynq/demo/manifests.git'), 'main');
      const created = new Set(['default', 'kube-system', 'kube-public']);
      const used: string[] = [];
      for (const [file, text] of tree) {
        for (const doc of parseAllDocuments(text)) {
          const object = doc.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } };
          if (object.kind === 'Namespace') created.add(object.metadata!.name!);
          if (object.metadata?.namespace !== undefined) used.push(`${file}: ${object.metadata.namespace}`);
        }
      }
      assert.ok(used.length > 0);
      for (const entry of used)
        assert.ok(created.has(entry.split(': ')[1]!), `${entry} is created by no rendered file`);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

describe('lynq demo keeps its database between runs', () => {
  /** The demo's own hub, form and seed, copied where the test can edit the seed. */
  async function demoCopy(): Promise<{
    dir: string;
    hubsDir: string;
    formsDir: string;
    demoDir: string;
    cleanup(): Promise<void>;
  }> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-demo-seed-'));
    const hubsDir = path.join(dir, 'hubs');
    const formsDir = path.join(dir, 'forms');
    await mkdir(hubsDir);
    await mkdir(formsDir);
    await copyFile('hubs/demo.yaml', path.join(hubsDir, 'demo.yaml'));
    await copyFile('hubs/demo-seed.sql', path.join(hubsDir, 'demo-seed.sql'));
    await copyFile('forms/demo-web.yaml', path.join(formsDir, 'demo-web.yaml'));
    return {
      dir,
      hubsDir,
      formsDir,
      demoDir: path.join(dir, 'demo'),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }

  async function demo(copy: Awaited<ReturnType<typeof demoCopy>>): Promise<{ code: number; out: string }> {
    const out = captureStream();
    const secrets = new SecretRegistry();
    const io = {
      out,
      err: captureStream(),
      env: { ...process.env, LYNQ_CACHE_DIR: path.join(copy.dir, 'cache') },
      isTty: false,
    };
    const code = await runDemo(
      { dir: copy.demoDir },
      { io, logger: createLogger({ level: 'silent', registry: secrets }), secrets },
      { hubsDir: copy.hubsDir, formsDir: copy.formsDir },
    );
    return { code, out: out.text() };
  }

  /** A file of our own in the data directory: it survives a run only if the database was kept. */
  const SENTINEL = 'kept-by-the-test';
  const kept = (copy: { demoDir: string }): boolean => existsSync(path.join(copy.demoDir, 'pglite', SENTINEL));
  const mark = (copy: { demoDir: string }): Promise<void> => writeFile(path.join(copy.demoDir, 'pglite', SENTINEL), '');

  test('opened again while the seed file is unchanged; made again from it when a row changes: one commit for that customer', async () => {
    const copy = await demoCopy();
    try {
      const first = await demo(copy);
      assert.equal(first.code, 0, first.out);
      assert.match(first.out, /^demo +3 +0 +0 +0 +0 +0 +[0-9a-f]{12}$/m);
      assert.ok(existsSync(path.join(copy.demoDir, 'pglite', 'PG_VERSION')), 'the database lives in <dir>/pglite');
      assert.ok(existsSync(path.join(copy.demoDir, DEMO_SEEDED_FILE)));
      await mark(copy);

      const again = await demo(copy);
      assert.match(again.out, /^demo +0 +0 +3 +0 +0 +0 +no changes$/m);
      assert.ok(kept(copy), 'an unchanged seed file: the same database, opened, not made again');

      const seedFile = path.join(copy.hubsDir, 'demo-seed.sql');
      const seed = await readFile(seedFile, 'utf8');
      assert.match(seed, /\('acme', +true, +'gold', +3,/);
      await writeFile(seedFile, seed.replace(/\('acme', +true, +'gold', +3,/, "('acme', true, 'gold', 4,"));
      const changed = await demo(copy);
      assert.match(changed.out, /^demo +0 +1 +2 +0 +0 +0 +[0-9a-f]{12}$/m);
      assert.ok(!kept(copy), 'a changed seed file: the database is made again from it');
      const commits = (await git(path.join(copy.demoDir, 'manifests.git'), ['log', '--format=%s', 'main']))
        .trim()
        .split('\n');
      assert.equal(commits.length, 2, 'one commit for the change');
      const touched = (await git(path.join(copy.demoDir, 'manifests.git'), ['diff', '--name-only', 'main~1', 'main']))
        .trim()
        .split('\n');
      assert.deepEqual(
        [...new Set(touched.map((file) => file.split('/').slice(0, 4).join('/')))],
        ['nodes/demo/web/acme'],
      );

      await mark(copy);
      const after = await demo(copy);
      assert.match(after.out, /^demo +0 +0 +3 +0 +0 +0 +no changes$/m);
      assert.ok(kept(copy), 'seeded from the changed file once, then kept');
    } finally {
      await copy.cleanup();
    }
  });

  test('a data directory without the mark of what seeded it (a run stopped while seeding) is made again', async () => {
    const copy = await demoCopy();
    try {
      assert.equal((await demo(copy)).code, 0);
      await mark(copy);
      await rm(path.join(copy.demoDir, DEMO_SEEDED_FILE));
      const again = await demo(copy);
      assert.match(again.out, /^demo +0 +0 +3 +0 +0 +0 +no changes$/m);
      assert.ok(!kept(copy));
      assert.ok(existsSync(path.join(copy.demoDir, DEMO_SEEDED_FILE)), 'marked again once seeded');
    } finally {
      await copy.cleanup();
    }
  });
});
