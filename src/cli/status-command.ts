import { loadConfig } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
import { resolveGitops } from '../gitops/engine.ts';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { checkClusterLynqNodeCrd, type LynqNodeCrdCheck } from '../health/lynqnode-crd.ts';
import { fileNodeMemo } from '../health/node-memo.ts';
import { readBackHub, type HubReadBack } from '../health/run.ts';
import { NODE_PHASES, type NodePhase } from '../health/types.ts';
import { describeAccess, findClusterAccess } from '../kube/access.ts';
import { openKubeClient } from '../kube/client.ts';
import type { CommandContext } from './io.ts';
import { printable } from './printable.ts';
import { EXIT_NOT_PUBLISHED, EXIT_OK, EXIT_PARTIAL } from './exit-codes.ts';
import { selectHubs } from './sync-command.ts';
import { createSyncDeps } from './wiring.ts';
import { statusTableWriter } from './status-wiring.ts';

export type StatusCommandOptions = {
  hubs: string;
  forms: string;
  hub?: string;
  kubeconfig?: string;
  context?: string;
  json: boolean;
  problems: boolean;
};

/**
 * `lynq status`: read every hub with an engine back from the cluster, write the
 * LynqNodes' status and the status tables, print one line per node and a count per
 * phase. Exit 0 when no node is Degraded or Missing, 1 when some are, 2 for usage or
 * config errors, 3 when the cluster cannot be read. First, one GET of the LynqNode CRD:
 * the Lynq operator's in its place is a warning that leaves the exit code to the nodes (it
 * says what to do; the nodes' health is still worth reporting); a 403 there is a note, the
 * check being advisory.
 */
export async function runStatus(options: StatusCommandOptions, context: CommandContext): Promise<number> {
  const { io } = context;
  const config = await loadConfig({ hubsDir: options.hubs, formsDir: options.forms });
  const selected = selectHubs(config, options.hub);
  const hubs = selected.filter((hub) => resolveGitops(hub).engine !== 'none');
  if (hubs.length === 0) {
    const which = options.hub !== undefined ? `hub ${options.hub} has` : 'no hub has';
    throw new ConfigError(
      `${which} an engine (spec.gitops.engine: argocd or flux): there is nothing in the cluster to read back`,
      options.hub !== undefined ? { hub: options.hub, file: selected[0]?.file, field: 'spec.gitops.engine' } : {},
    );
  }
  const access = findClusterAccess({
    kubeconfig: options.kubeconfig,
    context: options.context,
    env: io.env,
    useHomeConfig: true,
  });
  if (access === undefined)
    throw new ConfigError('no cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a cluster');
  context.logger.debug({ access: describeAccess(access) }, 'cluster access');
  const kube = await openKubeClient(access, { registry: context.secrets, logger: context.logger });
  const sync = createSyncDeps({
    logger: context.logger,
    secrets: context.secrets,
    dryRun: false,
    diff: false,
    out: io.out,
    env: io.env,
  });
  const clock = Date.now;
  const crd = await checkClusterLynqNodeCrd(kube);
  const crdLine = crdText(crd);
  // --json keeps stdout an array of nodes (its layout is a contract): the line goes to stderr.
  if (crdLine !== undefined && options.json) io.err.write(`${crdLine}\n`);
  const results: HubReadBack[] = [];
  for (const hub of hubs) {
    results.push(
      await readBackHub(hub, {
        kube,
        openRepo: sync.openRepo,
        clock,
        logger: context.logger,
        statusTable: statusTableWriter(io.env, context.logger, context.secrets),
        memo: fileNodeMemo(defaultCacheDir(io.env)),
      }),
    );
  }
  io.out.write(
    options.json
      ? `${JSON.stringify(statusJson(results), null, 2)}\n`
      : statusText(results, options.problems, crdLine === undefined ? [] : [crdLine]),
  );
  // A hub whose cluster or git could not be read has no health to report: that is not "some nodes are bad".
  if (crd.outcome === 'cluster-failed' || results.some((result) => result.outcome !== 'read'))
    return EXIT_NOT_PUBLISHED;
  const bad = results.some(
    (result) =>
      result.outcome === 'read' &&
      (result.tableError !== undefined ||
        result.statuses.failed.length > 0 ||
        result.nodes.some((node) => node.phase === 'Degraded' || node.phase === 'Missing')),
  );
  return bad ? EXIT_PARTIAL : EXIT_OK;
}

export function statusJson(results: readonly HubReadBack[]): unknown[] {
  return results.flatMap((result) =>
    result.outcome !== 'read'
      ? []
      : result.nodes.map((node) => ({
          hub: node.hub,
          form: node.form,
          uid: node.uid,
          phase: node.phase,
          applied: node.applied,
          commit: node.commit?.commit ?? null,
          pullRequest: node.pullRequest ?? null,
          appliedRevision: node.appliedRevision ?? null,
          message: node.message,
          resources: node.resources,
          paused: result.statuses.paused.get(`${node.form}/${node.uid}`) ?? null,
          // The last lead time its LynqNode status holds (docs/health.md#lead-time); `seconds` once it was Ready at that commit.
          leadTime: node.leadTime ?? null,
        })),
  );
}

/** The LynqNode CRD check as one line; nothing when the CRD is ours or absent. */
export function crdText(check: LynqNodeCrdCheck): string | undefined {
  switch (check.outcome) {
    case 'ours':
    case 'absent':
      return undefined;
    case 'clash':
      return `warning: ${check.message}`;
    case 'not-checked':
      return `note: the LynqNode CRD was not checked against the Lynq operator's: ${check.message}`;
    case 'cluster-failed':
      return `LynqNode CRD: cluster-failed: ${check.message}`;
  }
}

/** One line per node (`--problems`: only those not Ready), then the notes (cluster-wide ones first, then each hub's failures and unwritten statuses), then a count per phase. */
export function statusText(
  results: readonly HubReadBack[],
  problemsOnly: boolean,
  clusterNotes: readonly string[] = [],
): string {
  const lines: string[] = [];
  const counts = new Map<NodePhase, number>(NODE_PHASES.map((phase) => [phase, 0]));
  const notes: string[] = [...clusterNotes];
  let paused = 0;
  for (const result of results) {
    if (result.outcome !== 'read') {
      notes.push(`${result.hub}: ${result.outcome}: ${result.error}`);
      continue;
    }
    for (const node of result.nodes) {
      counts.set(node.phase, (counts.get(node.phase) ?? 0) + 1);
      if (problemsOnly && node.phase === 'Ready') continue;
      const commit = node.commit?.commit.slice(0, 12) ?? '-';
      lines.push(
        `${node.hub}/${node.form}/${node.uid}  ${node.phase}  ${node.resources.ready}/${node.resources.desired} ready  ${commit}  ${node.message}`,
      );
    }
    for (const [node, why] of result.statuses.paused) notes.push(`${result.hub}/${node}: paused: ${why}`);
    paused += result.statuses.paused.size;
    for (const file of result.unreadable)
      notes.push(`${result.hub}: ${file}: not a LynqNode the bridge can read; left out`);
    for (const failed of result.statuses.failed)
      notes.push(`${result.hub}/${failed.form}/${failed.uid}: status not written: ${failed.error}`);
    if (result.statuses.notCreated > 0)
      notes.push(`${result.hub}: ${result.statuses.notCreated} LynqNode(s) not in the cluster yet, status not written`);
    if (result.tableError !== undefined) notes.push(`${result.hub}: status table not written: ${result.tableError}`);
  }
  // Paused is not a phase (a paused node is still judged by its cluster state): counted apart, when there are some.
  const summary = [
    ...NODE_PHASES.map((phase) => `${phase} ${counts.get(phase) ?? 0}`),
    ...(paused > 0 ? [`paused ${paused}`] : []),
  ].join(', ');
  // A uid or a message from a row or the cluster may hold a newline, a terminal escape or an invisible character: each line stays one, as it reads.
  return [...lines.map(printable), ...(lines.length > 0 ? [''] : []), ...notes.map(printable), summary, ''].join('\n');
}
