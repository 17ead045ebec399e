import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kindScope, unknownScopes } from '../src/config/kind-scope.ts';
import { BUILT_IN_SCOPES } from '../src/config/k8s-scopes.ts';
import { formHash, renderNode } from '../src/plan/node.ts';
import { failDuplicateObjects } from '../src/plan/object-identity.ts';
import { templateVariables } from '../src/plan/render-hub.ts';
import type { KeptNode, NodeChange, Plan } from '../src/plan/types.ts';
import { TemplateEngine } from '../src/render/template.ts';
import { builtInScopes } from '../scripts/k8s-scopes-source.ts';
import { testForm, testHub } from './helpers/config.ts';

describe('the scope of a kind comes from the schemas the bridge has, a hub’s declaration, or is unknown (and said so)', () => {
  test('src/config/k8s-scopes.ts is what the installed @kubernetes/client-node and kubernetes-models give (npm run scopes writes it)', () => {
    assert.deepEqual(BUILT_IN_SCOPES, builtInScopes());
  });

  test('built-in kinds outside the old fixed list are cluster-scoped by their schema; namespaced ones stay namespaced', () => {
    for (const [apiVersion, kind] of [
      ['flowcontrol.apiserver.k8s.io/v1', 'FlowSchema'],
      ['flowcontrol.apiserver.k8s.io/v1', 'PriorityLevelConfiguration'],
      ['storage.k8s.io/v1', 'VolumeAttachment'],
      ['networking.k8s.io/v1', 'IngressClass'],
      ['v1', 'Namespace'],
      ['gateway.networking.k8s.io/v1', 'GatewayClass'],
    ])
      assert.equal(kindScope(apiVersion!, kind!), 'Cluster', kind);
    for (const [apiVersion, kind] of [
      ['apps/v1', 'Deployment'],
      ['v1', 'Secret'],
      ['core/v1', 'ConfigMap'],
      ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
      ['gateway.networking.k8s.io/v1', 'HTTPRoute'],
    ])
      assert.equal(kindScope(apiVersion!, kind!), 'Namespaced', kind);
    assert.equal(kindScope('example.com/v1', 'Widget'), undefined);
    assert.equal(kindScope('example.com/v1', 'Widget', { 'Widget.example.com': 'Cluster' }), 'Cluster');
    assert.equal(kindScope('example.com/v1', 'Widget', { Widget: 'Cluster' }), 'Cluster');
    assert.equal(
      kindScope('apps/v1', 'Deployment', { Deployment: 'Cluster' }),
      'Namespaced',
      'a built-in kind’s schema is not overruled',
    );
  });
});

const FORM = `  manifests:
    - id: flow
      nameTemplate: "shared-flow"
      spec:
        apiVersion: flowcontrol.apiserver.k8s.io/v1
        kind: FlowSchema
        spec:
          priorityLevelConfiguration: { name: global-default }
          matchingPrecedence: 1000
    - id: widget
      nameTemplate: "{{ uid }}-widget"
      spec:
        apiVersion: example.com/v1
        kind: Widget
        spec: { size: 1 }
`;

function rendered(kindScopes = '') {
  const hub = testHub({ spec: kindScopes });
  const form = testForm(FORM);
  const context = {
    hub,
    form,
    formHash: formHash(form),
    engine: new TemplateEngine(templateVariables(hub)),
    root: 'nodes',
    bridgeVersion: '0.0.0-test',
  };
  const nodes = ['acme', 'globex', 'initech'].map((uid) =>
    renderNode(context, { uid, active: true, values: { uid, activate: '1' } }),
  );
  return { hub, form, nodes };
}

describe('cluster-scoped kinds when rendering and in the duplicate-object check', () => {
  test('a FlowSchema gets no namespace; a CRD kind of unknown scope is namespaced and warned about; declared Cluster, it gets none', () => {
    const { hub, form, nodes } = rendered();
    const [flow, widget] = nodes[0]!.resources;
    assert.equal(flow!.namespace, undefined);
    assert.equal(widget!.namespace, 'tenants');
    assert.deepEqual(unknownScopes([form], hub.spec.kindScopes), [
      'forms/web.yaml, form web, resource widget: the scope of kind Widget (example.com/v1) is unknown: it is rendered namespaced; if it is cluster-scoped, declare it in the hub (spec.kindScopes: { Widget.example.com: Cluster })',
    ]);
    const declared = rendered('  kindScopes:\n    Widget.example.com: Cluster\n');
    assert.equal(declared.nodes[0]!.resources[1]!.namespace, undefined);
    assert.deepEqual(unknownScopes([declared.form], declared.hub.spec.kindScopes), []);
  });

  test('three nodes rendering one cluster-scoped object: the later two fail, naming it and the first', async () => {
    const { nodes } = rendered();
    const changes: NodeChange[] = nodes.map((node) => ({
      hub: 'customers',
      form: 'web',
      uid: node.uid,
      status: 'added',
      reasons: ['new row'],
      causes: [],
      resources: [],
      node: node as unknown as KeptNode,
      writes: new Map(),
      deletes: [],
    }));
    const plan: Plan = { hub: 'customers', nodes: changes, rendered: 3, existingNodes: 0 };
    const checked = await failDuplicateObjects(plan, new Map(), async () => new Map(), 'nodes');
    assert.deepEqual(
      checked.plan.nodes.map((node) => node.status),
      ['added', 'failed', 'failed'],
    );
    assert.match(
      checked.plan.nodes[1]!.error!,
      /uid "globex", resource flow: renders FlowSchema shared-flow, which node web\/acme of this hub already renders/,
    );
  });

  test('an object an older render put in a namespace is the same cluster-scoped object as one without', async () => {
    const node = (uid: string, namespace: string | undefined): NodeChange => ({
      hub: 'h',
      form: 'web',
      uid,
      status: 'added',
      reasons: [],
      causes: [],
      resources: [],
      node: {
        resources: [
          { id: 'r', apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', name: 'shared', namespace },
        ],
      } as unknown as KeptNode,
      writes: new Map(),
      deletes: [],
    });
    const plan: Plan = {
      hub: 'h',
      nodes: [node('a', 'tenant-a'), node('b', undefined)],
      rendered: 2,
      existingNodes: 0,
    };
    const checked = await failDuplicateObjects(plan, new Map(), async () => new Map(), 'nodes');
    assert.equal(checked.plan.nodes[1]!.status, 'failed');
  });
});
