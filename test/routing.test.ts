// @slow: about 29 s on its own on 2 cores (npm run test:fast leaves it out; npm test runs it)
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { parseHub } from '../src/config/load.ts';
import type { ChangeCause, NodeChange, NodeStatus } from '../src/plan/types.ts';
import { changeKinds, resolveRouting, routeNode, routePlan } from '../src/sync/routing.ts';
import type { TestDatabase } from './helpers/db.ts';
import { useWorld, type World } from './helpers/forge-world.ts';
import { git, logMessages, readTree, revParse } from './helpers/git.ts';

const BRANCH = 'lynq/customers';

const node = (status: NodeStatus, causes: ChangeCause[] = [], writes = 1): NodeChange => ({
  hub: 'customers',
  form: 'web',
  uid: `${status}-${causes.length}`,
  status,
  reasons: causes.map((cause) => `because of the ${cause}`),
  causes,
  resources: [],
  writes: new Map(Array.from({ length: writes }, (_, i) => [`nodes/customers/web/x/${i}.yaml`, 'x'])),
  deletes: [],
});

describe('routing rules', () => {
  test('kinds left out follow the mode; held removals go by pull request when anything does', () => {
    assert.deepEqual(resolveRouting({ mode: 'push', routing: undefined }), {
      added: 'push',
      rowChanged: 'push',
      formChanged: 'push',
      removed: 'push',
      held: 'hold',
    });
    assert.deepEqual(resolveRouting({ mode: 'pull-request', routing: { added: 'push' } }), {
      added: 'push',
      rowChanged: 'pull-request',
      formChanged: 'pull-request',
      removed: 'pull-request',
      held: 'pull-request',
    });
    assert.equal(resolveRouting({ mode: 'push', routing: { removed: 'pull-request' } }).held, 'pull-request');
    assert.equal(resolveRouting({ mode: 'pull-request', routing: { held: 'hold' } }).held, 'hold');
  });

  test('an update is a row change, a form change, or both; any other cause counts as a form change', () => {
    assert.deepEqual(changeKinds(node('updated', ['row'])), ['rowChanged']);
    assert.deepEqual(changeKinds(node('updated', ['row', 'form'])), ['rowChanged', 'formChanged']);
    assert.deepEqual(changeKinds(node('updated', ['bridge'])), ['formChanged']);
    assert.deepEqual(changeKinds(node('updated', ['edit'])), ['formChanged']);
    assert.deepEqual(changeKinds(node('updated', ['hub'])), ['formChanged']);
    // The hub's engine went to none: its Application goes, and Argo CD deletes the workloads with it.
    assert.deepEqual(changeKinds(node('updated', ['hub', 'engine'])), ['formChanged', 'removed']);
    assert.equal(
      routeNode(
        node('updated', ['hub', 'engine']),
        resolveRouting({ mode: 'push', routing: { removed: 'pull-request' } }),
      ),
      'pull-request',
    );
    assert.deepEqual(changeKinds(node('added')), ['added']);
    assert.deepEqual(changeKinds(node('held')), ['removed']);
    assert.deepEqual(changeKinds(node('unchanged', [], 0)), []);
    assert.deepEqual(changeKinds(node('failed', [])), []);
  });

  test('the strictest route wins for a node with several reasons', () => {
    const routing = resolveRouting({ mode: 'push', routing: { formChanged: 'pull-request' } });
    assert.equal(routeNode(node('updated', ['row']), routing), 'push');
    assert.equal(routeNode(node('updated', ['row', 'form']), routing), 'pull-request');
    const plan = {
      hub: 'customers',
      nodes: [node('added'), node('updated', ['form']), node('unchanged', [], 0), node('held')],
      rendered: 3,
      existingNodes: 4,
    };
    const routed = routePlan(plan, routing);
    assert.deepEqual(
      routed.push.map((item) => item.status),
      ['added'],
    );
    assert.deepEqual(
      routed.propose.map((item) => item.status),
      ['updated', 'held'],
    );
  });

  test('the example hub in hubs/examples parses and routes as its comments say', async () => {
    const file = 'hubs/examples/customers-reviewed.yaml';
    const hub = parseHub(file, await readFile(file, 'utf8'));
    assert.deepEqual(resolveRouting(hub.spec.publish), {
      added: 'push',
      rowChanged: 'pull-request',
      formChanged: 'pull-request',
      removed: 'pull-request',
      held: 'pull-request',
    });
    assert.equal(hub.spec.publish.platform?.type, 'github');
  });
});

describe('routing end to end: push and pull request in one sync', () => {
  let db: TestDatabase;
  let world: World;

  useWorld(
    `mode: push
routing:
  removed: pull-request`,
    (current) => ({ db, world } = current),
  );

  test('an added row is pushed to main while a removal waits in a pull request', async () => {
    const first = await world.sync();
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /customers\s+3\s+0\s+0\s+0\s+0\s+0\s+[0-9a-f]{12}\s+-/);
    assert.equal(world.github.pulls.length, 0, 'nothing to review yet');

    await db.exec(`INSERT INTO customers VALUES ('hooli', true, 'gold'); DELETE FROM customers WHERE id = 'initech'`);
    const result = await world.sync();
    assert.equal(result.code, 0, result.out);
    const main = await readTree(world.bare, 'main');
    assert.ok(main.has('nodes/customers/web/hooli/settings.yaml'), 'the new row is live at once');
    assert.ok(main.has('nodes/customers/web/initech/settings.yaml'), 'the removal waits');
    const [message] = await logMessages(world.bare, 'main');
    assert.equal(
      message,
      [
        'lynq(customers): 1 added',
        '',
        'web/hooli: added (new row) [settings]',
        '',
        'Not in this commit: 1 proposed in lynq/customers (what Git had for them is kept).',
        '',
        'Lynq-Hub: customers',
        'Lynq-Node: web/hooli added',
      ].join('\n'),
    );

    const pull = world.github.pull(1);
    assert.equal(pull.title, 'lynq(customers): 1 removed');
    assert.match(pull.body, /^\| `web\/initech` \| removed \| row deleted \| settings \|$/m);
    assert.equal(
      (await git(world.bare, ['rev-parse', `${BRANCH}^`])).trim(),
      await revParse(world.bare, 'main'),
      'the branch is built on the push just made',
    );
    assert.ok(!(await readTree(world.bare, BRANCH)).has('nodes/customers/web/initech/settings.yaml'));
    assert.ok((await readTree(world.bare, BRANCH)).has('nodes/customers/web/hooli/settings.yaml'));

    await world.github.merge(1, 'squash');
    const after = await world.sync();
    assert.equal(after.code, 0, after.out);
    assert.ok(!(await readTree(world.bare, 'main')).has('nodes/customers/web/initech/settings.yaml'));
    assert.equal(await revParse(world.bare, BRANCH), undefined);
  });

  test('removals held back by the deletion guard are released by a pull request instead of a flag', async () => {
    await world.sync();
    await db.exec(`UPDATE customers SET active = false WHERE id IN ('acme', 'globex')`);
    const result = await world.sync();
    assert.equal(result.code, 0, `proposed, so not an error: ${result.out}`);
    assert.match(result.out, /customers\s+0\s+0\s+1\s+0\s+2\s+0\s+no changes\s+#1 created/);
    assert.match(result.out, /including 2 held removals released by merging/);
    const pull = world.github.pull(1);
    assert.equal(pull.title, 'lynq(customers): 2 removed');
    assert.match(pull.body, /Held back by the deletion guard:\*\* 2 removals in this pull request/);
    assert.match(
      pull.body,
      /^\| `web\/acme` \| removed \| row deactivated; held back by the deletion guard, released by merging this pull request \| settings \|$/m,
    );
    assert.equal((await readTree(world.bare, 'main')).size, 1 + 9, 'main keeps every node until the merge');

    await world.github.merge(1);
    const after = await world.sync();
    assert.equal(after.code, 0, after.out);
    const main = await readTree(world.bare, 'main');
    assert.ok(!main.has('nodes/customers/web/acme/settings.yaml'));
    assert.ok(main.has('nodes/customers/web/initech/settings.yaml'));
  });

  test('with routing.held: hold, held removals still wait for --allow-deletions (exit 1)', async () => {
    await world.rewriteHub(`mode: push
routing:
  removed: pull-request
  held: hold`);
    await world.sync();
    await db.exec(`UPDATE customers SET active = false WHERE id IN ('acme', 'globex')`);
    const result = await world.sync();
    assert.equal(result.code, 1, result.out);
    assert.match(result.out, /customers\/web\/acme: held \(row deactivated; held back by the deletion guard/);
    assert.equal(world.github.pulls.length, 0);
  });
});
