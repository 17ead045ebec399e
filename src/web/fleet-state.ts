import type { Form, Hub } from '../config/load.ts';
import { compareStrings } from '../render/canonical-yaml.ts';
import type { HubReadBack } from '../health/run.ts';
import type { NodeHealth } from '../health/read-back.ts';
import type { NodeStatus, RolloutProgress } from '../plan/types.ts';
import type { HubRow } from '../sources/rows.ts';
import type { HubSyncResult } from '../sync/sync-hub.ts';
import type { StatusFact } from '../health/status-memo.ts';
import { fromReadBack, memoHealth, type ShownHealth } from './node-health.ts';

/** A config file the service could not use (service/config-store.ts says the same). */
export type ConfigIssue = { file: string; error: string; keptLastGood: boolean };

/** A node the last sync did not leave plainly in place: failed, held, conflicted, waiting or paused. */
export type SyncMark = { status: NodeStatus; reasons: readonly string[]; error?: string };

export type LastSync = {
  outcome: string;
  /** Milliseconds since the epoch, when the sync ended. */
  at: number;
  commit?: string;
  error?: string;
  /** `<form>/<uid>` → what the sync said of it, for nodes not added, updated, unchanged or removed. */
  marks: Map<string, SyncMark>;
  rollouts: RolloutProgress[];
  /** `<form>/<uid>` → the pull request the sync proposed the node in. */
  proposed: Map<string, { number: number; url: string }>;
};

export type LastReadBack = { outcome: string; at: number; error?: string; nodes: Map<string, NodeHealth> };

export type HubRecord = {
  sync?: LastSync;
  readBack?: LastReadBack;
  /** The rows as the last sync read them, by uid, and when. */
  rows?: { at: number; byUid: Map<string, HubRow> };
};

const MARKED: ReadonlySet<NodeStatus> = new Set(['failed', 'held', 'conflicted', 'waiting', 'paused']);
/** The status memo is read again when what was read of it is older than this (another process's read-back may have written it). */
const MEMO_MAX_AGE_MS = 10_000;

/** The health a hub's pages show: its last read-back's, or before any, what the status memo last kept, or none. */
export type HubHealthView = {
  from: 'read-back' | 'status memo' | 'none';
  at: number | undefined;
  nodes: ReadonlyMap<string, ShownHealth>;
};

/**
 * What `lynq serve` already knows, kept for the web view: the config, and per hub the last
 * sync's outcome (its failing, held and waiting nodes, its rollouts, its pull request), the
 * last read-back's node health, and the rows the last sync read. Filled as syncs and
 * read-backs end, so a page reads memory and Git only, never the cluster or the database.
 */
export class FleetState {
  hubs: ReadonlyMap<string, Hub> = new Map();
  forms: readonly Form[] = [];
  problems: readonly ConfigIssue[] = [];
  private readonly records = new Map<string, HubRecord>();
  private readonly shown = new WeakMap<LastReadBack, Map<string, ShownHealth>>();
  private readonly memos = new Map<string, { at: number; nodes: Map<string, ShownHealth> }>();

  /** `statusMemo`: the facts the read-back last kept for a hub (health/status-memo.ts), shown until this service reads the hub back. */
  constructor(
    private readonly clock: () => number = Date.now,
    private readonly statusMemo?: (hub: string) => Promise<Map<string, StatusFact>>,
  ) {}

  /** The node health a hub's pages show, by `<form>/<uid>`. */
  async health(hub: string): Promise<HubHealthView> {
    const readBack = this.record(hub).readBack;
    if (readBack !== undefined && readBack.nodes.size > 0) {
      let nodes = this.shown.get(readBack);
      if (nodes === undefined)
        this.shown.set(
          readBack,
          (nodes = new Map([...readBack.nodes].map(([key, node]) => [key, fromReadBack(node)]))),
        );
      return { from: 'read-back', at: readBack.at, nodes };
    }
    if (this.statusMemo === undefined) return { from: 'none', at: undefined, nodes: new Map() };
    let kept = this.memos.get(hub);
    if (kept === undefined || this.clock() - kept.at > MEMO_MAX_AGE_MS) {
      kept = {
        at: this.clock(),
        nodes: memoHealth(
          await this.statusMemo(hub),
          this.formsOf(hub).map((form) => form.name),
        ),
      };
      this.memos.set(hub, kept);
    }
    return kept.nodes.size === 0
      ? { from: 'none', at: undefined, nodes: kept.nodes }
      : { from: 'status memo', at: undefined, nodes: kept.nodes };
  }

  config(hubs: ReadonlyMap<string, Hub>, forms: readonly Form[], problems: readonly ConfigIssue[]): void {
    this.hubs = hubs;
    this.forms = forms;
    this.problems = problems;
    for (const name of this.records.keys()) if (!hubs.has(name)) this.records.delete(name);
  }

  record(hub: string): HubRecord {
    let record = this.records.get(hub);
    if (record === undefined) this.records.set(hub, (record = {}));
    return record;
  }

  formsOf(hub: string): Form[] {
    return this.forms.filter((form) => form.spec.hubId === hub).sort((a, b) => compareStrings(a.name, b.name));
  }

  sawRows(hub: string, rows: readonly HubRow[]): void {
    this.record(hub).rows = { at: this.clock(), byUid: new Map(rows.map((row) => [row.uid, row])) };
  }

  synced(result: HubSyncResult): void {
    // An aborted sync (shutdown, lost lock) says nothing new about the hub.
    if (result.outcome === 'aborted') return;
    const sync: LastSync = {
      outcome: result.outcome,
      at: this.clock(),
      marks: new Map(),
      rollouts: [],
      proposed: new Map(),
    };
    if ('error' in result) sync.error = result.error;
    if ('plan' in result) {
      if (result.commit !== undefined) sync.commit = result.commit;
      for (const node of result.plan.nodes) {
        if (!MARKED.has(node.status)) continue;
        sync.marks.set(`${node.form}/${node.uid}`, {
          status: node.status,
          reasons: node.reasons,
          ...(node.error === undefined ? {} : { error: node.error }),
        });
      }
      sync.rollouts = result.plan.rollouts ?? [];
      const proposal = 'proposal' in result ? result.proposal : undefined;
      if (proposal?.pullRequest !== undefined && ['created', 'updated', 'unchanged'].includes(proposal.outcome)) {
        for (const node of proposal.nodes) sync.proposed.set(`${node.form}/${node.uid}`, proposal.pullRequest);
      }
    }
    this.record(result.hub).sync = sync;
  }

  readBack(result: HubReadBack): void {
    const record = this.record(result.hub);
    if (result.outcome !== 'read') {
      // A failed read-back keeps the health last read: it is still the best known, and the page says it failed.
      record.readBack = {
        outcome: result.outcome,
        at: this.clock(),
        error: result.error,
        nodes: record.readBack?.nodes ?? new Map(),
      };
      return;
    }
    record.readBack = {
      outcome: 'read',
      at: this.clock(),
      nodes: new Map(result.nodes.map((node) => [`${node.form}/${node.uid}`, node])),
    };
  }
}
