import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSyncDeps } from '../src/cli/wiring.ts';
import { loadConfig } from '../src/config/load.ts';
import { readBackHub } from '../src/health/run.ts';
import { openKubeClient } from '../src/kube/client.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { captureStream } from './helpers/files.ts';
import { healthyArgoWorld, type HealthWorld } from './helpers/health-world.ts';
import type { KubeFake } from './helpers/kube-fake.ts';

const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';

/**
 * The read-back lists what the hub's settings tell ahead (its Applications' namespace) while
 * git is read; the LynqNodes decide what is read: an Application a LynqNode names in another
 * namespace (rendered before spec.gitops.argocd.namespace changed) is listed too.
 */
describe('the read-back lists the namespaces the settings tell and those the LynqNodes name', () => {
  let world: HealthWorld;
  let fake: KubeFake;

  before(async () => {
    ({ world, fake } = await healthyArgoWorld(FORM, [
      ['t00', 'gold'],
      ['t01', 'gold'],
    ]));
  });
  after(async () => {
    await fake?.close();
    await world?.cleanup();
  });

  test('the settings now name namespace elsewhere, Git still has Applications in argocd: both listed, every node read', async () => {
    const hubFile = path.join(world.dir, 'hubs', 'hub.yaml');
    await writeFile(
      hubFile,
      (await readFile(hubFile, 'utf8')).replace(
        'repoURL: https://git.example.com/manifests.git\n',
        'repoURL: https://git.example.com/manifests.git\n      namespace: elsewhere\n',
      ),
    );
    const config = await loadConfig({ hubsDir: world.dirs[1]!, formsDir: world.dirs[3]! });
    const hub = config.hubs.get('shop')!;
    const kube = await openKubeClient(
      { source: 'flag', files: [world.kubeconfigFile], context: undefined },
      { registry: new SecretRegistry(), logger: silentLogger() },
    );
    const deps = createSyncDeps({
      logger: silentLogger(),
      dryRun: false,
      diff: false,
      out: captureStream(),
      env: world.env,
    });
    const result = await readBackHub(hub, { kube, openRepo: deps.openRepo, clock: Date.now, logger: silentLogger() });
    assert.equal(result.outcome, 'read', JSON.stringify(result));
    if (result.outcome !== 'read') return;
    assert.deepEqual(
      result.nodes.map((node) => [node.uid, node.phase]),
      [
        ['t00', 'Ready'],
        ['t01', 'Ready'],
      ],
    );
    assert.equal(fake.count('GET', '/namespaces/elsewhere/applications'), 1, 'listed ahead, from the settings');
    assert.equal(
      fake.count('GET', '/namespaces/argocd/applications'),
      1,
      'listed after, for the LynqNodes that name it',
    );
    assert.equal(result.listRequests, 3);
    fake.assertClean();
  });
});
