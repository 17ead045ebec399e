import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigStore } from '../src/service/config-store.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

test('a folder named hubs/x.yaml is named by its path, in lynq validate and in serve’s config problems (/readyz), not as a bare EISDIR', async () => {
  const files = await tempFiles({ 'hubs/customers.yaml': hubYaml(), 'forms/web.yaml': formYaml('  configMaps: []\n') });
  try {
    await mkdir(path.join(files.dir, 'hubs', 'x.yaml'));
    await mkdir(path.join(files.dir, 'forms', 'old.yml'));
    const hubs = path.join(files.dir, 'hubs');
    const forms = path.join(files.dir, 'forms');
    const result = await lynq(['validate', '--hubs', hubs, '--forms', forms]);
    assert.equal(result.code, 2);
    assert.match(
      result.err,
      new RegExp(`^lynq: ${path.join(hubs, 'x.yaml').replaceAll('/', '\\/')}: is a folder, not a file: rename it`, 'm'),
    );
    assert.match(result.err, /forms\/old\.yml: is a folder, not a file/);
    assert.doesNotMatch(result.err, /EISDIR/);
    const snapshot = await new ConfigStore({ hubsDir: hubs, formsDir: forms }).load();
    assert.deepEqual(
      snapshot.problems.map((problem) => [problem.file, problem.error]),
      [
        [
          path.join(hubs, 'x.yaml'),
          `${path.join(hubs, 'x.yaml')}: is a folder, not a file: rename it (no .yaml or .yml ending) or move it out of the folder`,
        ],
        [
          path.join(forms, 'old.yml'),
          `${path.join(forms, 'old.yml')}: is a folder, not a file: rename it (no .yaml or .yml ending) or move it out of the folder`,
        ],
      ],
    );
  } finally {
    await files.cleanup();
  }
});
