import type { Hub } from '../config/load.ts';
import { compareStrings } from '../render/canonical-yaml.ts';
import { parseRepoUrl } from '../forge/repo-url.ts';
import type { HistoryEntry } from '../git/history.ts';
import type { RolloutProgress } from '../plan/types.ts';
import type { FleetState, HubHealthView, HubRecord, LastReadBack, LastSync, SyncMark } from './fleet-state.ts';
import type { GitFile, GitView, NodeFolder } from './git-view.ts';
import { maskedValues, secretVariables } from './mask.ts';
import type { ShownHealth } from './node-health.ts';

/** A node's phase as the page shows it: the read-back's, or `NotRead` (no read-back has judged it: no cluster, or not yet). */
export type ViewPhase = 'Ready' | 'Progressing' | 'Degraded' | 'Missing' | 'Unknown' | 'NotRead';
export const VIEW_PHASES: readonly ViewPhase[] = ['Degraded', 'Missing', 'Progressing', 'Unknown', 'NotRead', 'Ready'];

/** Problems first: a node's place in a list is its worst of phase and sync status. */
const RANK: Record<string, number> = {
  Degraded: 0,
  Missing: 1,
  failed: 2,
  conflicted: 3,
  held: 4,
  Progressing: 5,
  waiting: 6,
  Unknown: 7,
  paused: 8,
  NotRead: 9,
  Ready: 10,
};
const PAGE_SIZE = 50;

export type SyncSummary = { outcome: string; at: string; commit?: string; error?: string } | null;
export type PhaseCounts = Record<ViewPhase, number>;
export type Problem = {
  kind: 'degraded' | 'failed' | 'held' | 'conflicted' | 'halted' | 'config' | 'sync' | 'read-back';
  text: string;
  hub?: string;
  form?: string;
  uid?: string;
  url?: string;
};
export type RolloutView = RolloutProgress & { hub: string; url: string; resume: string | null };

export type FleetView = {
  hubs: Array<{
    name: string;
    url: string;
    nodes: number;
    phases: PhaseCounts;
    forms: Array<{ name: string; url: string; nodes: number; phases: PhaseCounts }>;
    lastSync: SyncSummary;
    lastReadBack: SyncSummary;
    gitError?: string;
  }>;
  problems: Problem[];
  /** The bridge does not measure lead time yet: said, not invented. */
  leadTime: 'not measured';
};

export type NodeRowView = { form: string; uid: string; url: string; phase: ViewPhase; sync: string; message: string };

export type NodesView = {
  hub: string;
  form: string | null;
  forms: Array<{ name: string; url: string }>;
  head: string | null;
  lastSync: SyncSummary;
  lastReadBack: SyncSummary;
  phases: PhaseCounts;
  rollouts: RolloutView[];
  filter: { phase: ViewPhase | null; q: string };
  page: number;
  pages: number;
  total: number;
  matching: number;
  nodes: NodeRowView[];
};

export type NodeView = {
  hub: string;
  form: string;
  uid: string;
  head: string | null;
  phase: ViewPhase;
  reason: string;
  message: string;
  sync: (SyncMark & { at: string }) | null;
  appliedRevision: string | null;
  resources: { desired: number; ready: number; failed: number } | null;
  resourcePhases: ShownHealth['resourcePhases'];
  conditions: ShownHealth['conditions'];
  /** Where the health shown comes from: this service's last read-back, or (before it has one) the status memo the last read-back kept. */
  healthFrom: HubHealthView['from'];
  readAt: string | null;
  row: { readAt: string; active: boolean; values: Array<{ name: string; value: string; masked: boolean }> } | null;
  files: GitFile[];
  history: Array<HistoryEntry & { commitUrl: string | null; pullRequestUrl: string | null }>;
  pullRequest: { number: number; state: string; url: string | null } | null;
};

export const hubUrl = (hub: string): string => `/hubs/${encodeURIComponent(hub)}`;
export const formUrl = (hub: string, form: string): string => `${hubUrl(hub)}/forms/${encodeURIComponent(form)}`;
export const nodeUrl = (hub: string, form: string, uid: string): string =>
  `${formUrl(hub, form)}/nodes/${encodeURIComponent(uid)}`;

export async function fleetView(state: FleetState, git: GitView): Promise<FleetView> {
  const problems: Problem[] = state.problems.map((problem) => ({
    kind: 'config',
    text: `${problem.file}: ${problem.error}${problem.keptLastGood ? ' (its last good version stays in force)' : ''}`,
  }));
  const hubs: FleetView['hubs'] = [];
  for (const hub of [...state.hubs.values()].sort((a, b) => compareStrings(a.name, b.name))) {
    const record = state.record(hub.name);
    let folders: NodeFolder[] = [];
    let gitError: string | undefined;
    try {
      folders = await git.nodes(hub, await git.head(hub));
    } catch (error) {
      gitError = error instanceof Error ? error.message : String(error);
    }
    const rows = nodeRows(hub.name, undefined, folders, record, await state.health(hub.name));
    const forms = state.formsOf(hub.name).map((form) => {
      const own = rows.filter((row) => row.form === form.name);
      return { name: form.name, url: formUrl(hub.name, form.name), nodes: own.length, phases: countPhases(own) };
    });
    hubs.push({
      name: hub.name,
      url: hubUrl(hub.name),
      nodes: rows.length,
      phases: countPhases(rows),
      forms,
      lastSync: syncSummary(record.sync),
      lastReadBack: syncSummary(record.readBack),
      ...(gitError === undefined ? {} : { gitError }),
    });
    problems.push(...hubProblems(hub.name, rows, record));
  }
  problems.sort((a, b) => PROBLEM_ORDER.indexOf(a.kind) - PROBLEM_ORDER.indexOf(b.kind));
  return { hubs, problems, leadTime: 'not measured' };
}

const PROBLEM_ORDER: Problem['kind'][] = [
  'degraded',
  'failed',
  'held',
  'conflicted',
  'halted',
  'sync',
  'read-back',
  'config',
];

function hubProblems(hub: string, rows: readonly NodeRowView[], record: HubRecord): Problem[] {
  const problems: Problem[] = [];
  for (const row of rows) {
    const place = { hub, form: row.form, uid: row.uid, url: row.url };
    if (row.phase === 'Degraded' || row.phase === 'Missing')
      problems.push({ kind: 'degraded', text: `${row.phase}: ${row.message}`, ...place });
    const mark = record.sync?.marks.get(`${row.form}/${row.uid}`);
    if (mark?.status === 'failed')
      problems.push({ kind: 'failed', text: mark.error ?? mark.reasons.join('; '), ...place });
    if (mark?.status === 'held')
      problems.push({
        kind: 'held',
        text: `removal held back by the deletion guard: ${mark.reasons.join('; ')}`,
        ...place,
      });
    if (mark?.status === 'conflicted')
      problems.push({ kind: 'conflicted', text: 'a file of the node was edited in Git', ...place });
  }
  for (const rollout of record.sync?.rollouts ?? []) {
    if (rollout.halted)
      problems.push({
        kind: 'halted',
        text: `rollout halted by ${rollout.failed.join(', ')}: run lynq rollout resume ${hub}/${rollout.form}`,
        hub,
        form: rollout.form,
        url: formUrl(hub, rollout.form),
      });
  }
  if (record.sync !== undefined && record.sync.error !== undefined)
    problems.push({
      kind: 'sync',
      text: `last sync ${record.sync.outcome}: ${record.sync.error}`,
      hub,
      url: hubUrl(hub),
    });
  if (record.readBack !== undefined && record.readBack.outcome !== 'read')
    problems.push({
      kind: 'read-back',
      text: `last read-back ${record.readBack.outcome}: ${record.readBack.error ?? ''}`,
      hub,
      url: hubUrl(hub),
    });
  return problems;
}

export type NodesQuery = { phase: string | null; q: string; page: number };

/** A hub's nodes (all forms, or one): filtered by phase and uid text, problems first, one page of them. Undefined: no such hub or form. */
export async function nodesView(
  state: FleetState,
  git: GitView,
  hubName: string,
  formName: string | undefined,
  query: NodesQuery,
): Promise<NodesView | undefined> {
  const hub = state.hubs.get(hubName);
  if (hub === undefined) return undefined;
  const forms = state.formsOf(hubName);
  if (formName !== undefined && !forms.some((form) => form.name === formName)) return undefined;
  const record = state.record(hubName);
  const head = await git.head(hub);
  const rows = nodeRows(hubName, formName, await git.nodes(hub, head), record, await state.health(hubName));
  const phase = VIEW_PHASES.find((item) => item === query.phase) ?? null;
  const q = query.q.trim().toLowerCase();
  const matching = rows.filter(
    (row) => (phase === null || row.phase === phase) && (q === '' || row.uid.toLowerCase().includes(q)),
  );
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const page = Math.min(Math.max(1, Math.trunc(query.page) || 1), pages);
  const rollouts = (record.sync?.rollouts ?? [])
    .filter((rollout) => formName === undefined || rollout.form === formName)
    .map((rollout) => ({
      ...rollout,
      hub: hubName,
      url: formUrl(hubName, rollout.form),
      resume: rollout.halted ? `lynq rollout resume ${hubName}/${rollout.form}` : null,
    }));
  return {
    hub: hubName,
    form: formName ?? null,
    forms: forms.map((form) => ({ name: form.name, url: formUrl(hubName, form.name) })),
    head: head ?? null,
    lastSync: syncSummary(record.sync),
    lastReadBack: syncSummary(record.readBack),
    phases: countPhases(rows),
    rollouts,
    filter: { phase, q: query.q.trim() },
    page,
    pages,
    total: rows.length,
    matching: matching.length,
    nodes: matching.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE),
  };
}

/** One node: its health, row, files at the head, history and pull request. Undefined: the bridge knows no such node. */
export async function nodeView(
  state: FleetState,
  git: GitView,
  hubName: string,
  formName: string,
  uid: string,
): Promise<NodeView | undefined> {
  const hub = state.hubs.get(hubName);
  const forms = state.formsOf(hubName);
  if (hub === undefined || !forms.some((form) => form.name === formName)) return undefined;
  const record = state.record(hubName);
  const key = `${formName}/${uid}`;
  const head = await git.head(hub);
  const inGit = (await git.nodes(hub, head)).some((folder) => folder.form === formName && folder.uid === uid);
  const known = await state.health(hubName);
  const health = known.nodes.get(key);
  const mark = record.sync?.marks.get(key);
  if (!inGit && health === undefined && mark === undefined) return undefined;
  const node = { form: formName, uid };
  const [files, history] =
    head === undefined || !inGit
      ? [[], []]
      : await Promise.all([git.files(hub, head, node), git.history(hub, head, node)]);
  const web = forgeWeb(hub);
  const row = record.rows?.byUid.get(uid);
  const proposed = record.sync?.proposed.get(key);
  const pullRequest =
    health?.pullRequest ?? (proposed === undefined ? undefined : { number: proposed.number, state: 'open' as const });
  return {
    hub: hubName,
    form: formName,
    uid,
    head: head ?? null,
    phase: health?.phase ?? 'NotRead',
    reason: health?.reason ?? '',
    message: health?.message ?? '',
    sync: mark === undefined ? null : { ...mark, at: iso(record.sync!.at) },
    appliedRevision: health?.appliedRevision ?? null,
    resources: health?.resources ?? null,
    resourcePhases: health?.resourcePhases ?? [],
    conditions: health?.conditions ?? [],
    healthFrom: health === undefined ? 'none' : known.from,
    readAt: health === undefined || known.at === undefined ? null : iso(known.at),
    row:
      row === undefined
        ? null
        : {
            readAt: iso(record.rows!.at),
            active: row.active,
            values: maskedValues(row.values, secretVariables(forms)),
          },
    files,
    history: history.map((entry) => ({
      ...entry,
      commitUrl: web === undefined ? null : `${web}/commit/${entry.commit}`,
      pullRequestUrl: web === undefined || entry.pullRequest === undefined ? null : `${web}/pull/${entry.pullRequest}`,
    })),
    pullRequest:
      pullRequest === undefined
        ? null
        : {
            number: pullRequest.number,
            state: pullRequest.state,
            url: proposed?.url ?? (web === undefined ? null : `${web}/pull/${pullRequest.number}`),
          },
  };
}

/** Every node of the hub (or one form): those in Git at the head, and those the last sync failed that Git does not have; problems first, then by form and uid. */
function nodeRows(
  hub: string,
  form: string | undefined,
  folders: readonly NodeFolder[],
  record: HubRecord,
  health: HubHealthView,
): NodeRowView[] {
  const rows: NodeRowView[] = [];
  const seen = new Set<string>();
  const add = (node: NodeFolder): void => {
    const key = `${node.form}/${node.uid}`;
    if (seen.has(key) || (form !== undefined && node.form !== form)) return;
    seen.add(key);
    const shown = health.nodes.get(key);
    const mark = record.sync?.marks.get(key);
    rows.push({
      form: node.form,
      uid: node.uid,
      url: nodeUrl(hub, node.form, node.uid),
      phase: shown?.phase ?? 'NotRead',
      sync: mark?.status ?? '',
      message: mark?.error ?? shown?.message ?? '',
    });
  };
  for (const folder of folders) add(folder);
  for (const key of record.sync?.marks.keys() ?? []) {
    const slash = key.indexOf('/');
    add({ form: key.slice(0, slash), uid: key.slice(slash + 1) });
  }
  const rank = (row: NodeRowView): number =>
    Math.min(RANK[row.phase] ?? 99, row.sync === '' ? 99 : (RANK[row.sync] ?? 99));
  return rows.sort((a, b) => rank(a) - rank(b) || compareStrings(a.form, b.form) || compareStrings(a.uid, b.uid));
}

function countPhases(rows: readonly NodeRowView[]): PhaseCounts {
  const counts: PhaseCounts = { Degraded: 0, Missing: 0, Progressing: 0, Unknown: 0, NotRead: 0, Ready: 0 };
  for (const row of rows) counts[row.phase]++;
  return counts;
}

function syncSummary(last: LastSync | LastReadBack | undefined): SyncSummary {
  if (last === undefined) return null;
  return {
    outcome: last.outcome,
    at: iso(last.at),
    ...('commit' in last && last.commit !== undefined ? { commit: last.commit } : {}),
    ...(last.error === undefined ? {} : { error: last.error }),
  };
}

/** The forge's web address of the manifests repository, when the hub names a forge (spec.publish.platform). */
export function forgeWeb(hub: Hub): string | undefined {
  const { platform, repo } = hub.spec.publish;
  if (platform === undefined || repo === undefined) return undefined;
  try {
    const coordinates = parseRepoUrl(repo);
    return `https://${coordinates.host}/${encodeURIComponent(coordinates.owner)}/${encodeURIComponent(coordinates.repo)}`;
  } catch {
    return undefined;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
