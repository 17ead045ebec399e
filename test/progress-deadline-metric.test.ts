import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Form } from '../src/config/load.ts';
import type { NodeHealth } from '../src/health/read-back.ts';
import type { HubReadBack } from '../src/health/run.ts';
import { ServiceMetrics } from '../src/service/metrics.ts';

// lynq_nodes_past_progress_deadline, which LynqNodesStuckProgressing alerts on: a node
// Progressing longer after its commit than its form's progress deadline (the rollout's, or
// the default 600 s for a form without spec.rollout). The rules' firing is tested by
// promtool (test/monitoring.test.ts); this is the series they read.

const NOW = 1_800_000_000_000;

function node(
  uid: string,
  form: string,
  phase: NodeHealth['phase'],
  secondsSinceCommit: number | undefined,
): NodeHealth {
  return {
    hub: 'shop',
    form,
    uid,
    name: `${uid}-${form}`,
    namespace: 'tenants',
    phase,
    applied: phase === 'Ready',
    reason: 'x',
    message: 'x',
    commit:
      secondsSinceCommit === undefined
        ? undefined
        : { commit: 'a'.repeat(40), time: NOW / 1000 - secondsSinceCommit, pullRequest: undefined },
    pullRequest: undefined,
    appliedRevision: undefined,
    resources: { desired: 1, ready: 0, failed: 0 },
    resourcePhases: [],
    engineObjects: [],
    formHash: null,
  };
}

function readBack(nodes: NodeHealth[]): HubReadBack {
  const statuses = {
    patched: 0,
    unchanged: 0,
    missing: [],
    failed: [],
    changedPhase: [],
    leadTimes: new Map(),
    completedLeadTimes: [],
  };
  return { hub: 'shop', outcome: 'read', nodes, unreadable: [], statuses, listRequests: 0 } as unknown as HubReadBack;
}

const form = (name: string, progressDeadlineSeconds?: number) =>
  ({
    name,
    spec: { rollout: progressDeadlineSeconds === undefined ? undefined : { progressDeadlineSeconds } },
  }) as unknown as Form;

async function pastDeadline(metrics: ServiceMetrics): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric('lynq_nodes_past_progress_deadline')!.get();
  return Object.fromEntries(metric.values.map((value) => [`${value.labels.hub}/${value.labels.form}`, value.value]));
}

describe('lynq_nodes_past_progress_deadline', () => {
  test("counts Progressing nodes past their form's deadline: the rollout's, else 600 s; not Ready-, Degraded- or commit-less ones", async () => {
    const metrics = new ServiceMetrics({ processMetrics: false });
    metrics.progressDeadlines('shop', [form('web'), form('api', 900)]);
    metrics.readBack(
      readBack([
        node('a', 'web', 'Progressing', 700),
        node('b', 'web', 'Progressing', 500),
        node('c', 'web', 'Degraded', 5000),
        node('d', 'web', 'Ready', 5000),
        node('e', 'web', 'Progressing', undefined),
        node('f', 'api', 'Progressing', 700),
        node('g', 'api', 'Progressing', 901),
        node('h', 'api', 'Progressing', 1000),
      ]),
      1,
      NOW,
    );
    assert.deepEqual(await pastDeadline(metrics), { 'shop/web': 1, 'shop/api': 2 });
  });

  test('a new deadline applies from the next read-back; a form gone from the read loses its series, a hub forgotten all of them', async () => {
    const metrics = new ServiceMetrics({ processMetrics: false });
    metrics.readBack(readBack([node('a', 'web', 'Progressing', 700), node('f', 'api', 'Progressing', 700)]), 1, NOW);
    assert.deepEqual(await pastDeadline(metrics), { 'shop/web': 1, 'shop/api': 1 });
    metrics.progressDeadlines('shop', [form('web', 3600)]);
    metrics.readBack(readBack([node('a', 'web', 'Progressing', 700)]), 1, NOW);
    assert.deepEqual(await pastDeadline(metrics), { 'shop/web': 0 });
    metrics.forget('shop');
    assert.deepEqual(await pastDeadline(metrics), {});
  });
});
