import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeChange } from '../src/plan/types.ts';
import { gateDeletions } from '../src/sync/deletion-guard.ts';
import { unifiedDiff } from '../src/sync/diff-text.ts';
import {
  MAX_BODY_CHARS,
  parseMarker,
  proposedNodes,
  pullRequestBody,
  pullRequestTitle,
} from '../src/sync/pull-request-body.ts';

const change = (uid: string, status: NodeChange['status'], reasons: string[]): NodeChange => ({
  hub: 'customers',
  form: 'web',
  uid,
  status,
  reasons,
  causes: status === 'updated' ? ['row'] : [],
  resources: status === 'removed' || status === 'held' ? [] : ['settings'],
  writes: new Map(),
  deletes:
    status === 'removed' || status === 'held'
      ? [`nodes/customers/web/${uid}/settings.yaml`, `nodes/customers/web/${uid}/lynqnode.yaml`]
      : [],
});

const noDiff = { text: '', files: 0, omittedFiles: 0, totalChars: 0 };

describe('the pull-request body', () => {
  test("a hub of thousands of nodes stays under GitHub's limit: the table is capped, the trailers give way first", () => {
    const nodes = Array.from({ length: 3000 }, (_, i) => change(`n${i}`, 'updated', ['columns changed: plan | tier']));
    const body = pullRequestBody({
      hub: 'customers',
      branch: 'lynq/customers',
      target: 'main',
      nodes,
      diff: noDiff,
      labels: [],
    });
    assert.ok(body.length < MAX_BODY_CHARS, `${body.length}`);
    assert.match(
      body,
      /^\| `web\/n0` \| updated \| columns changed: plan \\\| tier \| settings \|$/m,
      'a pipe in a reason does not break the table',
    );
    assert.match(body, /… and 2800 more nodes \(all are named in the branch commit's trailers\)\./);
    assert.match(body, /\nLynq-Hub: customers\nLynq-Branch: lynq\/customers\n$/);
    assert.ok(!body.includes('Lynq-Node:'), 'not every trailer fits, so none is given');

    const few = pullRequestBody({
      hub: 'customers',
      branch: 'lynq/customers',
      target: 'main',
      nodes: nodes.slice(0, 3),
      diff: noDiff,
      labels: ['lynq'],
    });
    assert.match(few, /\nLynq-Node: web\/n2 updated\n$/);
    assert.deepEqual(parseMarker(few), { hub: 'customers', branch: 'lynq/customers', labels: ['lynq'] });
    assert.equal(parseMarker('a body someone else wrote'), undefined);
  });

  test('held removals are proposed as removals, with the guard named and merging as the approval', () => {
    const plan = {
      hub: 'customers',
      nodes: [{ ...change('acme', 'removed', ['row deleted']), removal: 'row deleted' }],
      rendered: 0,
      existingNodes: 3,
    };
    const [held] = gateDeletions(plan, { maxDeletePercent: 30, allowDeletions: false }).nodes as [NodeChange];
    assert.equal(held.status, 'held');
    assert.deepEqual(held.reasons, [
      'row deleted; held back by the deletion guard: 1 of 3 nodes would be removed (limit 30%), rerun with --allow-deletions to remove them',
    ]);
    const [proposed] = proposedNodes([held]);
    assert.equal(proposed!.status, 'removed');
    assert.deepEqual(proposed!.reasons, [
      'row deleted; held back by the deletion guard, released by merging this pull request',
    ]);
    assert.equal(
      pullRequestTitle('customers', [held, change('globex', 'added', ['new row'])]),
      'lynq(customers): 1 added, 1 removed',
    );
    const body = pullRequestBody({
      hub: 'customers',
      branch: 'lynq/customers',
      target: 'main',
      nodes: [held],
      diff: noDiff,
      labels: [],
    });
    assert.match(body, /\*\*Held back by the deletion guard:\*\* 1 removal in this pull request/);
    assert.match(
      body,
      /^\| `web\/acme` \| removed \| row deleted; held back by the deletion guard, released by merging this pull request \| settings \|$/m,
    );
  });

  test('the diff excerpt: whole files up to the cap, in a fence its content cannot close', async () => {
    const writes = new Map([
      ['nodes/a.yaml', 'note: "```"\n'],
      ['nodes/b.yaml', `${'x: 1\n'.repeat(400)}`],
    ]);
    const diff = await unifiedDiff({ writes, deletes: [] }, new Map(), async () => new Map(), { maxChars: 500 });
    assert.equal(diff.files, 2);
    assert.equal(diff.omittedFiles, 1);
    assert.match(diff.text, /^--- \/dev\/null\n\+\+\+ b\/nodes\/a\.yaml\n/);
    const body = pullRequestBody({
      hub: 'customers',
      branch: 'lynq/customers',
      target: 'main',
      nodes: [change('a', 'added', ['new row'])],
      diff,
      labels: [],
    });
    assert.match(
      body,
      /<summary>Diff excerpt \(1 of 2 files; the rest in the pull request's files\)<\/summary>\n\n````diff\n/,
    );
    assert.match(body, /\n````\n\n<\/details>/);
  });
});
