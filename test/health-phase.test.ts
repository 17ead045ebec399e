import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { observeApplication } from '../src/health/argocd.ts';
import { observeKustomization } from '../src/health/flux.ts';
import { nodePhase, resourcePhase } from '../src/health/phase.ts';
import { commitOfRevision } from '../src/health/revision.ts';
import type { EngineObservation } from '../src/health/types.ts';
import { fixture } from './helpers/fixtures.ts';

/** The phase of a one-object node, applied or not, at a time since its commit (timeout 300 s). */
function phaseOf(observation: EngineObservation | undefined, applied: boolean, since = 10) {
  return nodePhase({ objects: [{ observation, applied }], sinceCommitSeconds: since, timeoutSeconds: 300 });
}

describe('Argo CD Applications (real objects from test/fixtures/status/argocd)', () => {
  test('healthy, synced, operation succeeded: Ready when its revision has the commit; healthy at an older revision is Progressing, then Degraded after the timeout', () => {
    const seen = observeApplication(fixture('argocd', 'application-healthy-synced-op-succeeded.yaml'));
    assert.deepEqual([seen.reported, seen.health, seen.inSync, seen.revision], [true, 'healthy', true, 'rev1']);
    assert.equal(phaseOf(seen, true).phase, 'Ready');
    const older = phaseOf(seen, false);
    assert.deepEqual([older.phase, older.reason, older.applied], ['Progressing', 'NotApplied', false]);
    const late = phaseOf(seen, false, 301);
    assert.deepEqual([late.phase, late.reason], ['Degraded', 'Timeout']);
    assert.match(late.message, /not ready 300s after its last commit/);
  });

  test('health Missing and OutOfSync: Progressing (the resources are on their way), Degraded after the timeout; per-resource Missing is Pending', () => {
    const seen = observeApplication(fixture('argocd', 'application-missing-outofsync.yaml'));
    assert.deepEqual([seen.health, seen.inSync], ['progressing', false]);
    assert.equal(phaseOf(seen, true).phase, 'Progressing');
    assert.equal(phaseOf(seen, true, 1000).phase, 'Degraded');
    const missing = seen.resources!.find((resource) => resource.phase === 'Pending');
    assert.ok(missing, 'a resource with health Missing');
    assert.equal(resourcePhase({ observation: seen, applied: true }, missing), 'Pending');
    const healthy = seen.resources!.find((resource) => resource.phase === 'Ready')!;
    // Healthy, but the Application is OutOfSync with it: not Ready yet.
    assert.equal(
      resourcePhase({ observation: seen, applied: true }, healthy),
      healthy.inSync ? 'Ready' : 'Progressing',
    );
  });

  test('health Degraded (a Deployment past its progress deadline): Degraded, naming it; resources without health are not failures', () => {
    const seen = observeApplication(fixture('argocd', 'application-degraded-synced.yaml'));
    const verdict = phaseOf(seen, true);
    assert.equal(verdict.phase, 'Degraded');
    assert.match(verdict.message, /^Deployment .*exceeded its progress deadline/);
    const phases = seen.resources!.map((resource) => resourcePhase({ observation: seen, applied: true }, resource));
    assert.equal(phases.filter((phase) => phase === 'Degraded').length, 1);
    const withoutHealth = seen.resources!.filter((resource) => resource.phase === undefined);
    assert.ok(withoutHealth.length > 0, 'the fixture has resources with no health');
    for (const resource of withoutHealth)
      assert.equal(
        resourcePhase({ observation: seen, applied: true }, resource),
        resource.inSync ? 'Ready' : 'Progressing',
      );
    // The revision is a Helm chart version, not a commit: it never counts as containing one.
    assert.equal(commitOfRevision(seen.revision), undefined);
  });

  test('the minimal health-only objects: Healthy without a sync status is not applied (Progressing); Degraded is Degraded', () => {
    const healthy = observeApplication(fixture('argocd', 'application-health-healthy-minimal.yaml'));
    assert.deepEqual([healthy.health, healthy.inSync], ['healthy', false]);
    assert.equal(phaseOf(healthy, true).phase, 'Progressing');
    assert.equal(
      phaseOf(observeApplication(fixture('argocd', 'application-health-degraded-minimal.yaml')), true).phase,
      'Degraded',
    );
  });

  test('OutOfSync and Degraded with warning conditions: Degraded', () => {
    const seen = observeApplication(fixture('argocd', 'application-outofsync-degraded-conditions.yaml'));
    assert.equal(phaseOf(seen, false).phase, 'Degraded');
  });

  test('operation Running, health Progressing: Progressing', () => {
    const seen = observeApplication(fixture('argocd', 'application-outofsync-progressing-op-running.yaml'));
    assert.deepEqual([seen.health, phaseOf(seen, false).phase], ['progressing', 'Progressing']);
  });

  test('a failed or errored sync operation: Degraded, with the revision it tried', () => {
    for (const [file, phase] of [
      ['application-op-failed.yaml', 'Failed'],
      ['application-op-error.yaml', 'Error'],
    ] as const) {
      const seen = observeApplication(fixture('argocd', file));
      const verdict = phaseOf(seen, false);
      assert.equal(verdict.phase, 'Degraded', file);
      assert.equal(verdict.message, `the last sync operation ended ${phase}`);
      assert.equal(commitOfRevision(seen.revision), 'b'.repeat(40));
    }
  });

  test("Argo CD 3's appTree mode (resources without health): not Missing or Unknown; OutOfSync means Progressing, resources follow their sync status", () => {
    const seen = observeApplication(fixture('argocd', 'application-status-apptree-fragment.yaml'));
    assert.deepEqual([seen.reported, seen.health], [true, 'healthy']);
    assert.equal(phaseOf(seen, true).phase, 'Progressing');
    assert.equal(resourcePhase({ observation: seen, applied: true }, seen.resources![0]), 'Progressing');
    const synced = observeApplication({
      status: {
        ...(fixture('argocd', 'application-status-apptree-fragment.yaml').status as object),
        sync: { status: 'Synced', revision: 'c'.repeat(40) },
      },
    });
    assert.equal(phaseOf(synced, true).phase, 'Ready');
  });

  test('an Application with no status yet: Unknown; no Application at all: Missing', () => {
    const object = fixture('argocd', 'application-healthy-synced-op-succeeded.yaml');
    delete object.status;
    const seen = observeApplication(object);
    assert.equal(seen.reported, false);
    assert.equal(phaseOf(seen, false).phase, 'Unknown');
    assert.equal(phaseOf(undefined, false).phase, 'Missing');
  });
});

describe('Flux Kustomizations (real objects from test/fixtures/status/flux)', () => {
  test('Ready=True at the current generation: Ready when applied; the sha of main@sha1:<sha> is the revision', () => {
    const seen = observeKustomization(fixture('flux', 'kustomization-ready.yaml'));
    assert.deepEqual([seen.health, seen.inSync], ['healthy', true]);
    assert.equal(commitOfRevision(seen.revision), '9b42e2fb78ab28c2751fd990adf70e99876fc773');
    assert.equal(phaseOf(seen, true).phase, 'Ready');
    assert.equal(phaseOf(seen, false).phase, 'Progressing');
  });

  test('Reconciling, running health checks, observedGeneration behind generation: Progressing, then Degraded after the timeout', () => {
    const seen = observeKustomization(fixture('flux', 'kustomization-reconciling-healthchecks.yaml'));
    assert.deepEqual([seen.health, seen.inSync], ['progressing', false]);
    assert.equal(phaseOf(seen, true).phase, 'Progressing');
    assert.equal(phaseOf(seen, true, 301).phase, 'Degraded');
  });

  test('Ready=False (BuildFailed, v1beta2 revision master/<sha>): Degraded with the reason', () => {
    const seen = observeKustomization(fixture('flux', 'kustomization-buildfailed-v1beta2.yaml'));
    const verdict = phaseOf(seen, true);
    assert.equal(verdict.phase, 'Degraded');
    assert.match(verdict.message, /^BuildFailed: /);
    assert.equal(commitOfRevision(seen.revision), 'df995110d56b6192fbc6d58d80385c4664ae38ba');
  });

  test('ReconciliationFailed never applied (no lastAppliedRevision): Degraded, no revision', () => {
    const seen = observeKustomization(fixture('flux', 'kustomization-reconciliationfailed-never-applied.yaml'));
    assert.equal(seen.revision, undefined);
    assert.equal(phaseOf(seen, false).phase, 'Degraded');
  });

  test('ReconciliationFailed while Healthy=True (the old revision still runs): Degraded, not Ready', () => {
    const seen = observeKustomization(fixture('flux', 'kustomization-reconciliationfailed-healthy.yaml'));
    assert.equal(phaseOf(seen, true).phase, 'Degraded');
    assert.match(seen.message, /^ReconciliationFailed: /);
  });

  test('the docs fragments: Reconciling with Ready=Unknown is Progressing; ValidationFailed and ArtifactFailed are Degraded', () => {
    assert.equal(
      phaseOf(observeKustomization(fixture('flux', 'kustomization-reconciling-conditions-fragment.yaml')), true).phase,
      'Progressing',
    );
    assert.equal(
      phaseOf(observeKustomization(fixture('flux', 'kustomization-validationfailed-status-fragment.yaml')), true).phase,
      'Degraded',
    );
    const artifact = observeKustomization(fixture('flux', 'kustomization-artifactfailed-status-transcribed.yaml'));
    assert.equal(phaseOf(artifact, true).phase, 'Degraded');
    assert.match(artifact.message, /kustomization path not found/);
  });

  test('a status with only history (no conditions): the engine reports nothing yet, Unknown', () => {
    const seen = observeKustomization(fixture('flux', 'kustomization-history-status-fragment.yaml'));
    assert.equal(seen.reported, false);
    assert.equal(phaseOf(seen, false).phase, 'Unknown');
  });

  test('Stalled=True: Degraded (no upstream object has it; the real Ready object with a Stalled condition added)', () => {
    const object = fixture('flux', 'kustomization-ready.yaml');
    const status = object.status as { conditions: unknown[] };
    status.conditions.push({
      type: 'Stalled',
      status: 'True',
      reason: 'InvalidPath',
      message: 'spec.path does not exist',
    });
    assert.equal(phaseOf(observeKustomization(object), true).phase, 'Degraded');
  });

  test('a multi-level node: Ready only when every level is applied and healthy; a missing level makes it Missing', () => {
    const ready = observeKustomization(fixture('flux', 'kustomization-ready.yaml'));
    const busy = observeKustomization(fixture('flux', 'kustomization-reconciling-healthchecks.yaml'));
    const both = (second: EngineObservation | undefined, applied = true) =>
      nodePhase({
        objects: [
          { observation: ready, applied: true },
          { observation: second, applied },
        ],
        sinceCommitSeconds: 5,
        timeoutSeconds: 300,
      }).phase;
    assert.equal(both(ready), 'Ready');
    assert.equal(both(ready, false), 'Progressing');
    assert.equal(both(busy), 'Progressing');
    assert.equal(both(undefined), 'Missing');
    // Resources follow the Kustomization of their level.
    assert.equal(resourcePhase({ observation: ready, applied: true }, undefined), 'Ready');
    assert.equal(resourcePhase({ observation: busy, applied: true }, undefined), 'Progressing');
  });
});

test('revisions: Argo CD sha, Flux v1 and v1beta2 forms; tags and versions are not commits', () => {
  const sha = 'a1afe267b54f38b46b487f6e938a6fd508278c07';
  assert.equal(commitOfRevision(sha), sha);
  assert.equal(commitOfRevision(`main@sha1:${sha}`), sha);
  assert.equal(commitOfRevision(`master/${sha}`), sha);
  assert.equal(commitOfRevision('3.4.1'), undefined);
  assert.equal(commitOfRevision('rev1'), undefined);
});
