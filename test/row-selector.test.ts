import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseForm, parseHub } from '../src/config/load.ts';
import { templateVariables } from '../src/plan/render-hub.ts';
import { formHash, renderNode } from '../src/plan/node.ts';
import { TemplateEngine } from '../src/render/template.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml } from './helpers/config.ts';
import { createPostgresDatabase, type TestDatabase } from './helpers/db.ts';
import { tempFiles } from './helpers/files.ts';
import { commitCount, logMessages, makeBareRepo, readTree } from './helpers/git.ts';
import { fencedBlocks } from './helpers/markdown.ts';

// Forms for some rows: `spec.rows.when` selects the rows a form renders for, a resource's
// `when` the rows it is part of the node for. Through `lynq sync`, against PostgreSQL and a
// bare repository.

const hubFile = (database: string, guard = 100) =>
  hubYaml({
    database,
    port: 5432,
    connectTimeoutSeconds: 3,
    extra: { plan: 'plan', backup: 'backup' },
    spec: `  deletionGuard:\n    maxDeletePercent: ${guard}\n`,
  });

const WEB = formYaml(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          PLAN: "{{ plan }}"
`);

const premium = (when = 'plan == "enterprise"') =>
  formYaml(
    `  rows:
    when: '${when}'
  configMaps:
    - id: support
      nameTemplate: "{{ uid }}-support"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          TIER: "24x7"
    - id: backup
      when: backup | bool
      nameTemplate: "{{ uid }}-backup"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          SCHEDULE: "daily"
`,
    { name: 'premium' },
  );

describe('forms for some rows (spec.rows.when, a resource when), through lynq sync against PostgreSQL', () => {
  let db: TestDatabase;
  let remote: Awaited<ReturnType<typeof makeBareRepo>>;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  let env: NodeJS.ProcessEnv;
  const sync = (...extra: string[]) =>
    lynq(['sync', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`, '--repo', remote.dir, ...extra], env);
  const folders = async (form: string): Promise<Map<string, string[]>> => {
    const out = new Map<string, string[]>();
    for (const file of (await readTree(remote.dir, 'main')).keys()) {
      const match = new RegExp(`^nodes/customers/${form}/([^/]+)/(.+)$`).exec(file);
      if (match) out.set(match[1]!, [...(out.get(match[1]!) ?? []), match[2]!].sort());
    }
    return out;
  };

  before(async () => {
    db = await createPostgresDatabase();
  });
  after(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.exec(`DROP TABLE IF EXISTS customers;
      CREATE TABLE customers (id text, active boolean, plan text, backup text);
      INSERT INTO customers VALUES ('acme', true, 'enterprise', 'yes'), ('globex', true, 'enterprise', 'no'), ('initech', true, 'basic', 'yes'), ('hooli', false, 'enterprise', 'yes');`);
    remote = await makeBareRepo();
    files = await tempFiles({
      'hubs/customers.yaml': hubFile(db.name),
      'forms/web.yaml': WEB,
      'forms/premium.yaml': premium(),
    });
    env = { LYNQ_CACHE_DIR: path.join(files.dir, 'cache') };
  });
  afterEach(async () => {
    await remote.cleanup();
    await files.cleanup();
  });

  test('a form renders only for the rows its selector takes; a resource only where its when holds', async () => {
    const first = await sync();
    assert.equal(first.code, 0, first.err + first.out);
    assert.deepEqual(
      [...(await folders('web')).keys()].sort(),
      ['acme', 'globex', 'initech'],
      'a form without a selector takes every active row',
    );
    const premiumNodes = await folders('premium');
    assert.deepEqual(
      [...premiumNodes.keys()].sort(),
      ['acme', 'globex'],
      'only enterprise rows, and never an inactive one',
    );
    assert.deepEqual(premiumNodes.get('acme'), ['backup.yaml', 'kustomization.yaml', 'lynqnode.yaml', 'support.yaml']);
    assert.deepEqual(
      premiumNodes.get('globex'),
      ['kustomization.yaml', 'lynqnode.yaml', 'support.yaml'],
      'backup: no, so no backup resource',
    );
    const tree = await readTree(remote.dir, 'main');
    const kustomization = parse(tree.get('nodes/customers/premium/globex/kustomization.yaml') ?? '');
    assert.deepEqual(kustomization.resources, ['support.yaml', 'lynqnode.yaml']);
    const [message] = await logMessages(remote.dir, 'main');
    assert.match(message!, /^premium\/acme: added \(new row\) \[support, backup\]$/m);
    assert.match(message!, /^premium\/globex: added \(new row\) \[support\]$/m);
    assert.doesNotMatch(message!, /premium\/initech/);

    const again = await sync();
    assert.equal(again.code, 0, again.err);
    assert.equal(await commitCount(remote.dir, 'main'), 1, 'rows the selector leaves out are not changes');
  });

  test('a row leaving the selection removes its node, with the reason; one coming back adds it again', async () => {
    await sync();
    await db.exec(`UPDATE customers SET plan = 'basic' WHERE id = 'acme'`);
    const result = await sync();
    assert.equal(result.code, 0, result.err + result.out);
    assert.equal((await folders('premium')).has('acme'), false);
    assert.equal((await folders('web')).has('acme'), true, "the other form's node stays");
    const [message] = await logMessages(remote.dir, 'main');
    assert.match(message!, /^premium\/acme: removed \(no longer matches the form's selector\)/m);
    assert.match(message!, /^web\/acme: updated \(columns changed: plan\) \[settings\]$/m);
    await db.exec(`UPDATE customers SET plan = 'enterprise' WHERE id = 'acme'`);
    assert.equal((await sync()).code, 0);
    assert.equal((await folders('premium')).has('acme'), true);
  });

  test('a selector rewritten to select the same rows changes no node', async () => {
    await sync();
    await writeFile(path.join(files.dir, 'forms/premium.yaml'), premium('plan | hasPrefix("enter")'));
    const result = await sync();
    assert.equal(result.code, 0, result.err + result.out);
    assert.equal(await commitCount(remote.dir, 'main'), 1);
  });

  test('the deletion guard counts rows leaving the selection, and holds them back', async () => {
    await writeFile(path.join(files.dir, 'hubs/customers.yaml'), hubFile(db.name, 20));
    await sync();
    await db.exec(`UPDATE customers SET plan = 'basic' WHERE id IN ('acme', 'globex')`);
    const held = await sync();
    assert.equal(held.code, 1, held.out);
    assert.match(
      held.out,
      /customers\/premium\/acme: held \(no longer matches the form's selector; held back by the deletion guard: 2 of 5 nodes would be removed \(limit 20%\)/,
    );
    assert.equal((await folders('premium')).size, 2, 'held nodes stay in Git');
    const allowed = await sync('--allow-deletions');
    assert.equal(allowed.code, 0, allowed.out);
    assert.equal((await folders('premium')).size, 0);
  });

  test('a resource whose when stops holding is removed from the node, which stays', async () => {
    await sync();
    await db.exec(`UPDATE customers SET backup = 'no' WHERE id = 'acme'`);
    const result = await sync();
    assert.equal(result.code, 0, result.err + result.out);
    assert.deepEqual((await folders('premium')).get('acme'), ['kustomization.yaml', 'lynqnode.yaml', 'support.yaml']);
    assert.match(
      (await logMessages(remote.dir, 'main'))[0]!,
      /^premium\/acme: updated \(columns changed: backup\) \[backup\]$/m,
    );
  });

  test('a selector that cannot be read for a row fails that node, named, and removes nothing', async () => {
    await sync();
    // `plan` alone is text, not a boolean: every row of the form fails; Git keeps their nodes.
    await writeFile(path.join(files.dir, 'forms/premium.yaml'), premium('plan'));
    const result = await sync();
    assert.notEqual(result.code, 0);
    assert.match(
      result.out + result.err,
      /hub customers, form premium, uid "acme", field spec\.rows\.when: selector "plan": bool: "enterprise" is not a boolean/,
    );
    assert.deepEqual([...(await folders('premium')).keys()].sort(), ['acme', 'globex']);
  });
});

describe('row selectors are checked before any row is read', () => {
  test('the example of docs/form-reference.md is the form the sync tests above use', async () => {
    const doc = await readFile(path.join(import.meta.dirname, '..', 'docs', 'form-reference.md'), 'utf8');
    const blocks = fencedBlocks(doc, 'test').filter((block) => block.marker === 'test/row-selector.test.ts');
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.code, premium());
  });

  test('lynq validate names file, line and field for a selector that does not parse, names a variable the hub lacks, or is written as a template', async () => {
    const { dir, cleanup } = await tempFiles({
      'hubs/customers.yaml': hubYaml({
        extra: { plan: 'plan' },
        spec: '  publish:\n    repo: https://git.example.com/m.git\n',
      }),
      'forms/syntax.yaml': premium('plan ==').replace('name: premium', 'name: syntax'),
      'forms/names.yaml': premium('tier == "gold"').replace('name: premium', 'name: names'),
      'forms/braces.yaml': premium('{{ plan }} == "gold"').replace('name: premium', 'name: braces'),
    });
    try {
      const result = await lynq(['validate', '--files-only', '--hubs', `${dir}/hubs`, '--forms', `${dir}/forms`]);
      assert.equal(result.code, 2, result.out);
      assert.match(
        result.err,
        /syntax\.yaml:8, form syntax, field spec\.rows\.when: the expression "plan ==" does not parse \(.*\); write one expression/,
      );
      assert.match(
        result.err,
        /braces\.yaml:8, field spec\.rows\.when: is an expression, not a template: write it without \{\{ \}\}/,
      );
      assert.match(
        result.err,
        /names\.yaml:8, form names, field spec\.rows\.when: selector "tier == \\"gold\\"": undefined variable "tier"/,
      );
      // The resource's `when` names `backup`, which this hub does not map either.
      assert.match(
        result.err,
        /names\.yaml:18, form names, resource backup, field when: selector "backup \| bool": undefined variable "backup"/,
      );
    } finally {
      await cleanup();
    }
  });

  test("a resource's when that cannot be read fails the node, naming the resource and the expression", () => {
    const hub = parseHub('hubs/customers.yaml', hubYaml({ extra: { plan: 'plan', backup: 'backup' } }));
    const form = parseForm('forms/premium.yaml', premium().replace('when: backup | bool', 'when: backup'));
    const engine = new TemplateEngine(templateVariables(hub));
    const row = (backup: string) => ({
      uid: 'acme',
      active: true,
      values: { uid: 'acme', activate: 'true', plan: 'enterprise', backup },
    });
    const context = { hub, form, formHash: formHash(form), engine, root: 'nodes', bridgeVersion: '0.0.0-test' };
    assert.deepEqual(
      renderNode(context, row('no')).resources.map((resource) => resource.id),
      ['support'],
    );
    assert.throws(
      () => renderNode(context, row('weekly')),
      /hub customers, form premium, uid "acme", resource backup, field when: selector "backup": bool: "weekly" is not a boolean/,
    );
  });

  test('a form without selectors parses and hashes as before', () => {
    const form = parseForm('forms/web.yaml', WEB);
    assert.equal('rows' in form.spec, false);
    assert.equal(
      form.spec.configMaps.some((resource) => 'when' in resource),
      false,
    );
    // The hash this form had before selectors existed (0.4.x): its nodes are not re-rendered by the upgrade's schema.
    assert.equal(formHash(form), 'c0f7dcea25f0ac52aa86b4f15795f80fea8f81ff51cfadfaf6820104eabcf88b');
  });
});
