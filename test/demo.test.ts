import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { readTree } from './helpers/git.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/lynq.mjs', import.meta.url));

describe('lynq demo', () => {
  test('works outside the clone, and every namespace its LynqNodes name exists in the cluster or in the nodes', async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), 'lynq-demo-'));
    try {
      const result = await run('node', [BIN, 'demo'], { cwd, env: { ...process.env, LYNQ_CACHE_DIR: path.join(cwd, 'cache'), LYNQ_LOG_LEVEL: 'silent' } });
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
      for (const entry of used) assert.ok(created.has(entry.split(': ')[1]!), `${entry} is created by no rendered file`);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
