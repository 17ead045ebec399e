import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failDuplicateObjects } from '../src/plan/object-identity.ts';
import type { KeptNode, NodeChange, Plan } from '../src/plan/types.ts';

type Object_ = { apiVersion: string; kind: string; namespace?: string; name: string };

/** An added node rendering these objects (only what the check reads). */
function added(uid: string, objects: Object_[]): NodeChange {
  const resources = objects.map((object, index) => ({ id: `r${index}`, ...object }));
  const node = { hub: 'h', form: 'web', uid, resources } as unknown as KeptNode;
  return {
    hub: 'h',
    form: 'web',
    uid,
    status: 'added',
    reasons: ['new row'],
    causes: [],
    resources: [],
    node,
    writes: new Map([[`nodes/h/web/${uid}/a.yaml`, 'a\n']]),
    deletes: [],
  };
}

async function check(nodes: NodeChange[]): Promise<Record<string, string>> {
  const plan: Plan = { hub: 'h', nodes, rendered: nodes.length, existingNodes: 0 };
  const checked = await failDuplicateObjects(plan, new Map(), async () => new Map(), 'nodes');
  return Object.fromEntries(
    checked.plan.nodes.map((node) => [node.uid, node.status === 'failed' ? node.error! : node.status]),
  );
}

const deployment = (namespace: string | undefined, name: string, apiVersion = 'apps/v1'): Object_ => ({
  apiVersion,
  kind: 'Deployment',
  name,
  ...(namespace === undefined ? {} : { namespace }),
});

test('objects are the same only when apiVersion, kind, namespace and name all are: the later node fails, naming the object and the node that has it', async () => {
  const result = await check([
    added('a', [deployment('ns', 'web'), { apiVersion: 'v1', kind: 'Service', namespace: 'ns', name: 'web' }]),
    // Same name, another kind, namespace or apiVersion: other objects.
    added('b', [
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'web' },
      deployment('other', 'web'),
      deployment('ns', 'web', 'apps/v1beta2'),
    ]),
    // No namespace and an empty one are the same (a cluster-scoped object has neither).
    added('c', [deployment(undefined, 'cluster-wide')]),
    added('d', [deployment('', 'cluster-wide')]),
    added('e', [deployment('x', 'e-only'), deployment('ns', 'web')]),
  ]);
  assert.equal(result.a, 'added');
  assert.equal(result.b, 'added');
  assert.equal(result.c, 'added');
  assert.match(
    result.d!,
    /^hub h, form web, uid "d", resource r0: renders Deployment cluster-wide, which node web\/c of this hub already renders/,
  );
  assert.match(
    result.e!,
    /^hub h, form web, uid "e", resource r1: renders Deployment ns\/web, which node web\/a of this hub already renders/,
  );
});

test('a node that failed the check claims nothing: a third node rendering its other objects is not failed for them', async () => {
  const result = await check([
    added('a', [deployment('ns', 'one')]),
    added('b', [deployment('ns', 'one'), deployment('ns', 'two')]),
    added('c', [deployment('ns', 'two')]),
  ]);
  assert.deepEqual(
    Object.entries(result).map(([uid, status]) => [uid, status.startsWith('hub h') ? 'failed' : status]),
    [
      ['a', 'added'],
      ['b', 'failed'],
      ['c', 'added'],
    ],
  );
});
