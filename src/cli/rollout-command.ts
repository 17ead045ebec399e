import { Writable } from 'node:stream';
import type { Form } from '../config/load.ts';
import { loadConfig } from '../config/load.ts';
import { ConfigError, KubeError } from '../errors.ts';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { fileNodeMemo } from '../health/node-memo.ts';
import type { NodeHealth } from '../health/read-back.ts';
import { describeAccess, findClusterAccess } from '../kube/access.ts';
import type { KubeClient } from '../kube/client.ts';
import { LYNQ_NODE } from '../kube/resources.ts';
import { formHash } from '../plan/node.ts';
import type { RolloutProgress } from '../plan/types.ts';
import { ANNOTATION_ROLLOUT_RESUMED } from '../health/types.ts';
import { planHubOnly, type SyncDeps } from '../sync/sync-hub.ts';
import type { CommandContext } from './io.ts';
import { EXIT_CONFIG, EXIT_NOT_PUBLISHED, EXIT_OK, EXIT_PARTIAL } from './exit-codes.ts';
import { lazyKubeClient } from './kube-wiring.ts';
import { pausedLynqNodesFrom } from './pause-wiring.ts';
import { rolloutHealthFrom } from './rollout-wiring.ts';
import { selectHubs } from './sync-command.ts';
import { createSyncDeps } from './wiring.ts';

export type RolloutCommandOptions = {
  hubs: string;
  forms: string;
  hub?: string;
  kubeconfig?: string;
  context?: string;
  json: boolean;
};

type FormRollout = RolloutProgress & { hub: string };

/**
 * `lynq rollout status`: per form with `spec.rollout`, done / in flight / waiting / failed,
 * from the plan a sync would make and gate (what Git has against what the rows and forms
 * ask for, and the cluster's health), stopping before anything is published. Exit 1 while a rollout is halted, 3 when a hub could not
 * be planned.
 */
export async function runRolloutStatus(options: RolloutCommandOptions, context: CommandContext): Promise<number> {
  const { rollouts, failures, configFailed } = await planRollouts(options, context);
  const { io } = context;
  if (options.json) io.out.write(`${JSON.stringify(rollouts, null, 2)}\n`);
  else {
    const lines = rollouts.map(
      (item) =>
        `${item.hub}/${item.form}  done ${item.done} of ${item.total}, in flight ${item.inFlight}, waiting ${item.waiting + item.changing}, failed ${item.failed.length}${item.failed.length > 0 ? ` (${item.failed.join(', ')})` : ''}${item.halted ? '  HALTED' : ''}${item.paced === 'per-sync' ? '  (no cluster: paced per sync)' : ''}`,
    );
    for (const item of rollouts.filter((rollout) => rollout.halted))
      lines.push(
        `${item.hub}/${item.form}: rollout halted by ${item.failed.join(', ')}: fix the form, or run lynq rollout resume ${item.hub}/${item.form}`,
      );
    lines.push(...failures);
    if (rollouts.length === 0) lines.push('no form with spec.rollout.maxSkew has anything to report');
    io.out.write(`${lines.join('\n')}\n`);
  }
  if (failures.length > 0) return configFailed ? EXIT_CONFIG : EXIT_NOT_PUBLISHED;
  return rollouts.some((item) => item.halted) ? EXIT_PARTIAL : EXIT_OK;
}

/**
 * `lynq rollout resume <hub>/<form>`: accept the failures that halt the form's rollout now.
 * Each failed node's LynqNode in the cluster gets the form hash it was accepted at
 * (annotation lynq.sh/rollout-resumed), so any process, restarted or not, continues; a
 * node that fails later halts it again, and a form change makes the marker moot.
 */
export async function runRolloutResume(
  target: string,
  options: RolloutCommandOptions,
  context: CommandContext,
): Promise<number> {
  const [hubName, formName, ...rest] = target.split('/');
  if (hubName === undefined || formName === undefined || rest.length > 0 || hubName === '' || formName === '')
    throw new ConfigError(`rollout resume takes <hub>/<form>, not ${JSON.stringify(target)}`);
  const { rollouts, failures, configFailed, forms, kube, health } = await planRollouts(
    { ...options, hub: hubName },
    context,
  );
  const nodes = new Map(health.map((node) => [`${node.form}/${node.uid}`, node]));
  const form = forms.find((item) => item.name === formName);
  if (form === undefined)
    throw new ConfigError(`hub ${hubName} has no form ${formName}`, { hub: hubName, form: formName });
  if (form.spec.rollout === undefined || form.spec.rollout.maxSkew === 0)
    throw new ConfigError(`form ${formName} has no spec.rollout.maxSkew: there is no rollout to resume`, {
      hub: hubName,
      form: formName,
      file: form.file,
      field: 'spec.rollout',
    });
  if (failures.length > 0) {
    context.io.out.write(`${failures.join('\n')}\n`);
    return configFailed ? EXIT_CONFIG : EXIT_NOT_PUBLISHED;
  }
  const rollout = rollouts.find((item) => item.form === formName);
  if (rollout === undefined || !rollout.halted) {
    context.io.out.write(`${hubName}/${formName}: the rollout is not halted; nothing to resume\n`);
    return EXIT_OK;
  }
  if (kube === undefined)
    throw new ConfigError('no cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a cluster');
  const marker = `sha256:${formHash(form)}`;
  const client = await kube();
  const missing: string[] = [];
  for (const uid of rollout.failed) {
    const node = nodes.get(`${formName}/${uid}`);
    const outcome =
      node === undefined
        ? 'not-found'
        : await client.mergePatch(
            LYNQ_NODE,
            node.namespace,
            node.name,
            { metadata: { annotations: { [ANNOTATION_ROLLOUT_RESUMED]: marker } } },
            { status: false },
          );
    if (outcome !== 'patched') missing.push(uid);
  }
  if (missing.length > 0) {
    throw new KubeError(
      `hub ${hubName}, form ${formName}: the LynqNodes of ${missing.join(', ')} could not be marked resumed (not in the cluster, or changed meanwhile); the rollout stays halted`,
      {
        hub: hubName,
        form: formName,
      },
    );
  }
  context.io.out.write(
    `${hubName}/${formName}: rollout resumed; failures of ${rollout.failed.join(', ')} accepted at ${marker.slice(0, 19)}\n`,
  );
  return EXIT_OK;
}

async function planRollouts(
  options: RolloutCommandOptions,
  context: CommandContext,
): Promise<{
  rollouts: FormRollout[];
  failures: string[];
  configFailed: boolean;
  forms: Form[];
  kube: (() => Promise<KubeClient>) | undefined;
  health: NodeHealth[];
}> {
  const { io } = context;
  const config = await loadConfig({ hubsDir: options.hubs, formsDir: options.forms });
  const hubs = selectHubs(config, options.hub);
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  const access = findClusterAccess({
    kubeconfig: options.kubeconfig,
    context: options.context,
    env: io.env,
    useHomeConfig: true,
  });
  if (access !== undefined) context.logger.debug({ access: describeAccess(access) }, 'cluster access');
  const kube = lazyKubeClient({
    kubeconfig: options.kubeconfig,
    context: options.context,
    env: io.env,
    useHomeConfig: true,
    logger: context.logger,
    registry: context.secrets,
  });
  const deps: SyncDeps = {
    ...createSyncDeps({
      logger: context.logger,
      secrets: context.secrets,
      dryRun: true,
      diff: false,
      out: quiet,
      env: io.env,
    }),
    rolloutHealth: rolloutHealthFrom(kube, {
      logger: context.logger,
      clock: Date.now,
      memo: fileNodeMemo(defaultCacheDir(io.env)),
    }),
    pausedLynqNodes: pausedLynqNodesFrom(kube),
  };
  const rollouts: FormRollout[] = [];
  const failures: string[] = [];
  const health: NodeHealth[] = [];
  let configFailed = false;
  const forms: Form[] = [];
  for (const hub of hubs) {
    const hubForms = config.forms.filter((form) => form.spec.hubId === hub.name);
    forms.push(...hubForms);
    const result = await planHubOnly(hub, hubForms, deps);
    if (result.outcome !== 'planned') {
      failures.push(`${hub.name}: ${result.outcome}: ${result.error}`);
      configFailed ||= result.outcome === 'config-failed';
      continue;
    }
    health.push(...result.nodes);
    for (const rollout of result.plan.rollouts ?? []) rollouts.push({ hub: hub.name, ...rollout });
  }
  return { rollouts, failures, configFailed, forms, kube, health };
}
