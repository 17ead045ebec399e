import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Form, Hub } from '../src/config/load.ts';
import { FormSpec } from '../src/config/form-schema.ts';
import { formHash } from '../src/plan/node.ts';
import { rolloutOrder } from '../src/plan/rollout-order.ts';
import type { ChangeCause, NodeChange, NodeStatus, Plan } from '../src/plan/types.ts';
import type { RolloutNodeHealth } from '../src/health/types.ts';
import { gateRollout } from '../src/sync/rollout-gate.ts';
import { commitMessage } from '../src/sync/commit-message.ts';
import { pullRequestBody } from '../src/sync/pull-request-body.ts';
import { resolveRouting, routePlan } from '../src/sync/routing.ts';
import { waitingNotes } from '../src/sync/rollout-gate.ts';

const hub = {
  name: 'shop',
  file: 'hubs/shop.yaml',
  spec: { extraValueMappings: { tier: 'tier_col' }, valueMappings: {} },
} as unknown as Hub;

function makeForm(rollout: Record<string, unknown> | undefined, image = 'nginx:1'): Form {
  const spec = FormSpec.parse({
    hubId: 'shop',
    configMaps: [{ id: 'c', spec: { apiVersion: 'v1', kind: 'ConfigMap', data: { image } } }],
    ...(rollout === undefined ? {} : { rollout }),
  });
  return { name: 'web', file: 'forms/web.yaml', spec } as unknown as Form;
}

function change(
  uid: string,
  status: NodeStatus,
  causes: ChangeCause[] = [],
  extra: Partial<NodeChange> = {},
): NodeChange {
  const writes = status === 'unchanged' ? new Map<string, string>() : new Map([[`nodes/shop/web/${uid}/c.yaml`, 'x']]);
  return {
    hub: 'shop',
    form: 'web',
    uid,
    status,
    reasons: causes.map((cause) => `${cause} changed`),
    causes,
    resources: [],
    writes,
    deletes: [],
    ...extra,
  };
}

const plan = (nodes: NodeChange[]): Plan => ({
  hub: 'shop',
  nodes,
  rendered: nodes.length,
  existingNodes: nodes.length,
});
const statuses = (result: Plan) => Object.fromEntries(result.nodes.map((node) => [node.uid, node.status]));
const healthy: RolloutNodeHealth = { phase: 'Ready', reason: 'Reconciled', sinceCommitSeconds: 10 };

describe('the rollout gate (pure)', () => {
  test('spec.rollout is not part of the form hash; the rest of the spec is', () => {
    const none = makeForm(undefined);
    assert.equal(formHash(makeForm({ maxSkew: 2 })), formHash(none));
    assert.equal(
      formHash(
        makeForm({ maxSkew: 500, progressDeadlineSeconds: 900, canary: ['a'], orderBy: 'tier', gateRowChanges: true }),
      ),
      formHash(none),
    );
    assert.notEqual(formHash(makeForm({ maxSkew: 2 }, 'nginx:2')), formHash(none));
  });

  test('gated: form, hub and bridge changes; row changes and new rows only with gateRowChanges; removals and edits never', async () => {
    const nodes = [
      change('a-form', 'updated', ['form']),
      change('b-hub', 'updated', ['hub']),
      change('c-bridge', 'updated', ['bridge']),
      change('d-row', 'updated', ['row']),
      change('e-new', 'added'),
      change('f-gone', 'removed', [], {
        removal: 'row deleted',
        writes: new Map(),
        deletes: ['nodes/shop/web/f-gone/c.yaml'],
      }),
      change('g-edit', 'updated', ['edit']),
    ];
    const off = await gateRollout(plan(nodes), {
      hub,
      forms: [makeForm({ maxSkew: 1 })],
      values: () => undefined,
      health: undefined,
    });
    assert.deepEqual(statuses(off), {
      'a-form': 'updated',
      'b-hub': 'waiting',
      'c-bridge': 'waiting',
      'd-row': 'updated',
      'e-new': 'added',
      'f-gone': 'removed',
      'g-edit': 'updated',
    });
    const on = await gateRollout(plan(nodes), {
      hub,
      forms: [makeForm({ maxSkew: 1, gateRowChanges: true })],
      values: () => undefined,
      health: undefined,
    });
    assert.deepEqual(statuses(on), {
      'a-form': 'updated',
      'b-hub': 'waiting',
      'c-bridge': 'waiting',
      'd-row': 'waiting',
      'e-new': 'waiting',
      'f-gone': 'removed',
      'g-edit': 'updated',
    });
    // A waiting node keeps exactly what Git has.
    const waiting = on.nodes.find((node) => node.uid === 'd-row')!;
    assert.deepEqual([waiting.writes.size, waiting.deletes.length], [0, 0]);
    assert.match(waiting.reasons.at(-1)!, /^waiting for rollout slot, 0 of 5 done$/);
    // maxSkew 0 or no rollout: nothing is gated.
    assert.equal(
      (
        await gateRollout(plan(nodes), {
          hub,
          forms: [makeForm({ maxSkew: 0 })],
          values: () => undefined,
          health: undefined,
        })
      ).nodes.filter((node) => node.status === 'waiting').length,
      0,
    );
    assert.equal(
      (
        await gateRollout(plan(nodes), {
          hub,
          forms: [makeForm(undefined)],
          values: () => undefined,
          health: undefined,
        })
      ).rollouts,
      undefined,
    );
  });

  test('order: canary uids first (as listed), then the orderBy column (numbers as numbers), then uid', async () => {
    const values: Record<string, Record<string, string>> = {
      a: { tier: '10' },
      b: { tier: '9' },
      c: { tier: '2' },
      d: {},
      e: { tier: '9' },
    };
    const ordered = rolloutOrder(
      ['a', 'b', 'c', 'd', 'e'].map((uid) => ({ uid })),
      { canary: ['e', 'd'], orderBy: 'tier' },
      (uid) => values[uid],
    );
    assert.deepEqual(
      ordered.map((node) => node.uid),
      ['e', 'd', 'c', 'b', 'a'],
    );
    assert.deepEqual(
      rolloutOrder(
        ['c', 'a', 'b'].map((uid) => ({ uid })),
        { canary: [], orderBy: undefined },
        () => undefined,
      ).map((node) => node.uid),
      ['a', 'b', 'c'],
    );
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((uid) => change(uid, 'updated', ['form']));
    const result = await gateRollout(plan(nodes), {
      hub,
      forms: [makeForm({ maxSkew: 2, canary: ['d'], orderBy: 'tier' })],
      values: (uid) => values[uid],
      health: undefined,
    });
    assert.deepEqual(
      result.nodes.filter((node) => node.status === 'updated').map((node) => node.uid),
      ['c', 'd'],
    );
  });

  test('an orderBy column the hub does not map is a config error naming hub, form, file and field', async () => {
    await assert.rejects(
      () =>
        gateRollout(plan([change('a', 'updated', ['form'])]), {
          hub,
          forms: [makeForm({ maxSkew: 1, orderBy: 'region' })],
          values: () => undefined,
          health: undefined,
        }),
      (error: Error & { where?: Record<string, string> }) =>
        /spec\.rollout\.orderBy names "region", which hub shop does not map \(it maps uid, activate, tier\)/.test(
          error.message,
        ) &&
        error.where?.form === 'web' &&
        error.where?.field === 'spec.rollout.orderBy',
    );
  });

  test('slots from health: not Ready takes a slot; Degraded halts; past progressDeadlineSeconds halts; the resource timeout alone does not; a resume marker at the current form hash releases the node', async () => {
    const form = makeForm({ maxSkew: 2, progressDeadlineSeconds: 600 });
    const nodes = [
      change('a', 'unchanged'),
      change('b', 'unchanged'),
      change('c', 'updated', ['form']),
      change('d', 'updated', ['form']),
      change('e', 'updated', ['form']),
    ];
    const run = (a: RolloutNodeHealth, b: RolloutNodeHealth) =>
      gateRollout(plan(nodes), {
        hub,
        forms: [form],
        values: () => undefined,
        health: new Map([
          ['web/a', a],
          ['web/b', b],
        ]),
      });
    const ready = await run(healthy, healthy);
    assert.deepEqual(statuses(ready), { a: 'unchanged', b: 'unchanged', c: 'updated', d: 'updated', e: 'waiting' });
    assert.deepEqual(ready.rollouts, [
      {
        form: 'web',
        total: 5,
        done: 2,
        inFlight: 0,
        changing: 2,
        waiting: 1,
        failed: [],
        halted: false,
        paced: 'health',
      },
    ]);
    const progressing = await run({ phase: 'Progressing', reason: 'NotApplied', sinceCommitSeconds: 30 }, healthy);
    assert.deepEqual(statuses(progressing), {
      a: 'unchanged',
      b: 'unchanged',
      c: 'updated',
      d: 'waiting',
      e: 'waiting',
    });
    const degraded = await run({ phase: 'Degraded', reason: 'EngineDegraded', sinceCommitSeconds: 30 }, healthy);
    assert.deepEqual(statuses(degraded), { a: 'unchanged', b: 'unchanged', c: 'waiting', d: 'waiting', e: 'waiting' });
    assert.deepEqual(degraded.rollouts![0]!.failed, ['a']);
    assert.match(degraded.nodes[2]!.reasons.at(-1)!, /rollout halted: a failed/);
    const late = await run({ phase: 'Progressing', reason: 'Progressing', sinceCommitSeconds: 601 }, healthy);
    assert.equal(late.rollouts![0]!.halted, true);
    const timeoutOnly = await run({ phase: 'Degraded', reason: 'Timeout', sinceCommitSeconds: 400 }, healthy);
    assert.deepEqual([timeoutOnly.rollouts![0]!.halted, timeoutOnly.rollouts![0]!.inFlight], [false, 1]);
    const resumed = await run(
      { phase: 'Degraded', reason: 'EngineDegraded', sinceCommitSeconds: 30, resumedAt: `sha256:${formHash(form)}` },
      healthy,
    );
    assert.deepEqual([resumed.rollouts![0]!.halted, resumed.rollouts![0]!.changing], [false, 2]);
    const staleMarker = await run(
      { phase: 'Degraded', reason: 'EngineDegraded', sinceCommitSeconds: 30, resumedAt: 'sha256:0000' },
      healthy,
    );
    assert.equal(staleMarker.rollouts![0]!.halted, true);
  });

  test('changes the plan left unrendered are rendered only as they take slots, in order; one that, rendered, is not gated (it failed) takes no slot', async () => {
    const told = (uid: string) => change(uid, 'updated', ['form'], { writes: new Map(), unrendered: true });
    const asked: string[] = [];
    const render = (node: NodeChange): NodeChange => {
      asked.push(node.uid);
      const { unrendered: _, ...rest } = node;
      if (node.uid === 'b') return { ...rest, status: 'failed', reasons: [], causes: [], error: 'boom' };
      return { ...rest, writes: new Map([[`nodes/shop/web/${node.uid}/c.yaml`, 'new']]) };
    };
    const nodes = [change('a0', 'unchanged'), ...['a', 'b', 'c', 'd', 'e'].map(told)];
    const result = await gateRollout(plan(nodes), {
      hub,
      forms: [makeForm({ maxSkew: 2 })],
      values: () => undefined,
      health: undefined,
      render,
    });
    assert.deepEqual(asked, ['a', 'b', 'c']);
    assert.deepEqual(statuses(result), {
      a0: 'unchanged',
      a: 'updated',
      b: 'failed',
      c: 'updated',
      d: 'waiting',
      e: 'waiting',
    });
    assert.equal(result.rendered, nodes.length + 3);
    assert.deepEqual(result.rollouts, [
      {
        form: 'web',
        total: 5,
        done: 1,
        inFlight: 0,
        changing: 2,
        waiting: 2,
        failed: [],
        halted: false,
        paced: 'per-sync',
      },
    ]);
    assert.ok(
      result.nodes.every((node) => node.unrendered === undefined),
      'no node leaves the gate unrendered',
    );
    assert.match(
      result.nodes.find((node) => node.uid === 'd')!.reasons.join('; '),
      /^form changed; waiting for rollout slot, 1 of 5 done$/,
    );
    // What the renders need is read a slot's worth at a time, before they are rendered: one more batch per change that took no slot.
    asked.length = 0;
    const prepared: string[][] = [];
    await gateRollout(plan(nodes), {
      hub,
      forms: [makeForm({ maxSkew: 2 })],
      values: () => undefined,
      health: undefined,
      render: (node) => {
        assert.ok(prepared.flat().includes(node.uid), `${node.uid} read before it is rendered`);
        return render(node);
      },
      prepare: async (batch) => {
        prepared.push(batch.map((node) => node.uid));
      },
    });
    assert.deepEqual(prepared, [['a', 'b'], ['c']]);
    assert.deepEqual(asked, ['a', 'b', 'c']);
    // Halted: no slot, so nothing is rendered.
    asked.length = 0;
    const halted = await gateRollout(plan(nodes), {
      hub,
      forms: [makeForm({ maxSkew: 2 })],
      values: () => undefined,
      health: new Map([['web/a0', { phase: 'Degraded', reason: 'EngineDegraded', sinceCommitSeconds: 5 }]]),
      render,
    });
    assert.deepEqual([asked, halted.rendered, halted.rollouts![0]!.waiting], [[], nodes.length, 5]);
    await assert.rejects(
      () =>
        gateRollout(plan(nodes), {
          hub,
          forms: [makeForm({ maxSkew: 2 })],
          values: () => undefined,
          health: undefined,
        }),
      /unrendered and the rollout gate was given no renderer/,
    );
    await assert.rejects(
      () =>
        gateRollout(plan(nodes), {
          hub,
          forms: [makeForm(undefined)],
          values: () => undefined,
          health: undefined,
          render,
        }),
      /left unrendered for a rollout gate that did not pace it/,
    );
  });

  test("routing still applies: form changes routed to a pull request are proposed a slot's worth at a time, and its body says the rest wait", async () => {
    const gated = await gateRollout(plan(['a', 'b', 'c', 'd'].map((uid) => change(uid, 'updated', ['form']))), {
      hub,
      forms: [makeForm({ maxSkew: 2 })],
      values: () => undefined,
      health: undefined,
    });
    const routed = routePlan(gated, resolveRouting({ mode: 'push', routing: { formChanged: 'pull-request' } }));
    assert.deepEqual([routed.push.length, routed.propose.map((node) => node.uid)], [0, ['a', 'b']]);
    const body = pullRequestBody({
      hub: 'shop',
      branch: 'lynq/shop',
      target: 'main',
      nodes: routed.propose,
      diff: { text: '', files: 0, omittedFiles: 0, totalChars: 0 },
      labels: [],
      waiting: waitingNotes(gated),
    });
    assert.match(
      body,
      /> \*\*Rollout:\*\* this pull request carries the next batch only; the rest wait for a slot and come in later syncs \(web: 2 waiting for rollout slot, 0 of 4 done\)\./,
    );
    assert.match(body, /web\/a\b/);
    assert.doesNotMatch(body, /web\/c\b/);
  });

  test('the commit message names the waiting nodes with the rollout wording', async () => {
    const gated = await gateRollout(plan(['a', 'b', 'c'].map((uid) => change(uid, 'updated', ['form']))), {
      hub,
      forms: [makeForm({ maxSkew: 1 })],
      values: () => undefined,
      health: undefined,
    });
    const pushed = gated.nodes.filter((node) => node.status === 'updated');
    assert.match(
      commitMessage('shop', pushed, gated.nodes),
      /Not in this commit: 2 waiting for rollout slot, 0 of 3 done \(form web\) \(what Git had for them is kept\)\./,
    );
  });
});

describe('lynq --help', () => {
  test('lists lynq rollout, and lynq rollout --help its actions and flags; a wrong action is a usage error', async () => {
    const { lynq } = await import('./helpers/cli.ts');
    const top = await lynq(['--help']);
    assert.match(top.out, /^ {2}rollout \[options\] <action> \[target\] +health-gated rollouts/m);
    const sub = await lynq(['rollout', '--help']);
    for (const flag of ['--hubs', '--forms', '--hub', '--kubeconfig', '--context', '--json'])
      assert.match(sub.out, new RegExp(`${flag}\\b`));
    const wrong = await lynq(['rollout', 'pause', 'shop/web']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.err, /lynq rollout takes "status" or "resume <hub>\/<form>", not "pause shop\/web"/);
  });
});
