import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSyncDeps } from '../src/cli/wiring.ts';
import { loadConfig } from '../src/config/load.ts';
import { ForgeError } from '../src/errors.ts';
import type { DeployReporter } from '../src/health/deploy-report.ts';
import { readBackHub } from '../src/health/run.ts';
import { openKubeClient } from '../src/kube/client.ts';
import { SecretRegistry, silentLogger } from '../src/logger.ts';
import { captureStream } from './helpers/files.ts';
import { healthyArgoWorld, type HealthWorld } from './helpers/health-world.ts';
import type { KubeFake } from './helpers/kube-fake.ts';

const FORM =
  '  configMaps:\n    - id: settings\n      nameTemplate: "{{ uid }}-settings"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data: { plan: "{{ plan }}" }\n';

/** The read-back hands its judged nodes to the deploy reporter, only for hubs that ask, and a forge failure changes nothing else. */
describe('the read-back reports deploy results for hubs with spec.publish.platform.reportDeploys', () => {
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

  const readBack = async (reportDeploys: DeployReporter) => {
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
    return readBackHub(hub, { kube, openRepo: deps.openRepo, clock: Date.now, logger: silentLogger(), reportDeploys });
  };

  test('without the setting the reporter is never called; with it, it gets every node judged, at the commit Git has', async () => {
    const seen: string[][] = [];
    const spy: DeployReporter = async (hub, nodes) => {
      seen.push(
        nodes.map(
          (node) => `${hub.name}/${node.uid} ${node.phase} ${node.commit?.commit === undefined ? '-' : 'commit'}`,
        ),
      );
      return { commit: undefined };
    };
    let result = await readBack(spy);
    assert.equal(result.outcome, 'read');
    assert.deepEqual(seen, []);

    const hubFile = path.join(world.dir, 'hubs', 'hub.yaml');
    const text = await readFile(hubFile, 'utf8');
    await writeFile(
      hubFile,
      text.replace(/(  publish:\n    repo: .*\n)/, '$1    platform:\n      reportDeploys: true\n'),
    );
    result = await readBack(spy);
    assert.equal(result.outcome, 'read', JSON.stringify(result));
    assert.deepEqual(seen, [['shop/t00 Ready commit', 'shop/t01 Ready commit']]);

    result = await readBack(async () => {
      throw new ForgeError('GitLab refused the token (401)');
    });
    assert.equal(result.outcome, 'read', 'a forge that fails does not fail the read-back');
    assert.equal(result.outcome === 'read' ? result.deployError : undefined, 'GitLab refused the token (401)');
    await writeFile(hubFile, text);
  });
});
