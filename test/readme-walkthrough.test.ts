import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { MARIADB, POSTGRES, uniqueName } from './helpers/db.ts';
import { fencedBlocks, markdownSection, markerFields, type MarkedBlock } from './helpers/markdown.ts';

// The "Five minutes" walk-through of docs/getting-started.md, taken from the page itself and
// run as a user would: `npm install -g` of this clone into a private prefix, then every shell
// block in bash in a new temporary folder, the YAML blocks saved where the page says, against the
// real PostgreSQL and MariaDB. Only the database and user names are swapped for unique ones,
// so parallel runs never collide.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGE = readFileSync(path.join(ROOT, 'docs/getting-started.md'), 'utf8');
const SECTION = 'Five minutes against PostgreSQL or MySQL';
const DATABASES = ['postgresql', 'mysql'] as const;
type Database = (typeof DATABASES)[number];

function blocksFor(db: Database): MarkedBlock[] {
  return fencedBlocks(markdownSection(PAGE, SECTION), 'walkthrough').filter((block) => {
    const fields = markerFields(block.marker);
    return fields.db === undefined || fields.db === db;
  });
}

/** One bash script: the blocks in page order, files written with quoted here-documents. */
function script(db: Database, names: { database: string; user: string }): string {
  const lines = ['set -euo pipefail'];
  for (const block of blocksFor(db)) {
    const fields = markerFields(block.marker);
    const code = block.code.replaceAll('lynq_walkthrough', names.database).replaceAll('lynq_bridge', names.user);
    if ('install' in fields) lines.push(code.replaceAll('/path/to/your/clone', ROOT));
    else if ('sh' in fields) lines.push(code);
    else if (fields.file !== undefined) lines.push(`cat > ${fields.file} <<'LYNQ_README_EOF'\n${code}LYNQ_README_EOF`);
    else
      assert.fail(
        `docs/getting-started.md, line ${block.line} of the section: unknown walkthrough marker ${block.marker}`,
      );
  }
  return lines.join('\n');
}

function bash(code: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', code], { cwd, env, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out, err });
    });
  });
}

async function dropDatabase(db: Database, names: { database: string; user: string }): Promise<void> {
  if (db === 'postgresql') {
    const admin = new pg.Client({ ...POSTGRES, database: 'postgres' });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${names.database}" WITH (FORCE)`);
      await admin.query(`DROP USER IF EXISTS "${names.user}"`);
    } finally {
      await admin.end();
    }
  } else {
    const admin = await mysql.createConnection({ ...MARIADB, database: 'test' });
    try {
      await admin.query(`DROP DATABASE IF EXISTS \`${names.database}\``);
      await admin.query(`DROP USER IF EXISTS '${names.user}'@'%'`);
    } finally {
      await admin.end();
    }
  }
}

describe('docs/getting-started.md: Five minutes against PostgreSQL or MySQL', () => {
  it('marks every code block of the walk-through, so none goes untested', () => {
    const blocks = fencedBlocks(markdownSection(PAGE, SECTION), 'walkthrough');
    assert.ok(blocks.length >= 8);
    for (const block of blocks)
      assert.notEqual(
        block.marker,
        '',
        `docs/getting-started.md, line ${block.line} of the section: a code block without a walkthrough marker`,
      );
    for (const db of DATABASES) {
      const files = blocksFor(db)
        .map((block) => markerFields(block.marker).file)
        .filter(Boolean);
      assert.deepEqual(files, ['hubs/customers.yaml', 'forms/web.yaml'], db);
    }
  });

  for (const db of DATABASES) {
    const names = { database: uniqueName('lynq_wt'), user: uniqueName('lynq_wu') };
    const dirs: string[] = [];
    after(async () => {
      await dropDatabase(db, names);
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    it(`works as written against ${db === 'mysql' ? 'MariaDB' : 'PostgreSQL'}`, async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-readme-'));
      dirs.push(dir);
      const prefix = path.join(dir, 'npm-prefix');
      const env: NodeJS.ProcessEnv = {
        PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}`,
        HOME: process.env.HOME ?? dir,
        npm_config_prefix: prefix,
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
        LYNQ_CACHE_DIR: path.join(dir, 'cache'),
        GIT_CONFIG_GLOBAL: '/dev/null',
      };
      const first = await bash(script(db, names), dir, env);
      assert.equal(first.code, 0, `the walk-through failed:\n${first.out}\n${first.err}`);
      assert.match(first.out, /^ok: 1 hubs, 1 forms, 1 resources$/m);
      assert.match(
        first.out,
        /# Source: nodes\/customers\/web\/acme\/app\.yaml\napiVersion: apps\/v1\nkind: Deployment\nmetadata:\n {2}name: acme-app\n {2}namespace: tenants\n/,
      );
      assert.match(first.out, /replicas: 3\n/);
      assert.match(first.out, /^customers\/web\/acme: added/m, 'the dry run lists the nodes');
      assert.match(first.out, /\+kind: Deployment/, 'the dry run shows the diff');
      assert.match(first.out, /^ +lynq\(customers\): 2 added$/m, 'git log shows the commit');
      assert.match(first.out, /nodes\/customers\/web\/globex\/app\.yaml/);

      // "Run lynq sync again: nothing changes, no commit."
      const repo = path.join(dir, 'lynq-customers');
      const again = await bash('lynq sync && git --git-dir manifests.git rev-list --count main', repo, {
        ...env,
        CUSTOMERS_DB_PASSWORD: 'change-me',
      });
      assert.equal(again.code, 0, again.err);
      assert.match(again.out, /no changes/);
      assert.match(again.out, /^1$/m);
    });
  }
});
