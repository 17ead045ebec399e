import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Form } from '../config/load.ts';
import { DEFAULT_PROGRESS_DEADLINE_SECONDS } from '../config/form-schema.ts';
import { countByStatus, type RolloutProgress } from '../plan/types.ts';
import { LEAD_TIME_LEGS, leadTimeLegs } from '../health/lead-time.ts';
import type { HubReadBack } from '../health/run.ts';
import { NODE_PHASES, type NodePhase } from '../health/types.ts';
import type { HubSyncResult } from '../sync/sync-hub.ts';

/** Why a sync was started: its schedule, a PostgreSQL notification, the webhook, or its config (serve starting, or its files changed). */
export type Trigger = 'schedule' | 'notify' | 'webhook' | 'config';

/** Kinds of failure, as /metrics counts them (the outcome of the sync, or its lock). */
export type ErrorKind = 'config' | 'source' | 'git' | 'pull-request' | 'internal' | 'cluster';

const ROLLOUT_STATES = ['done', 'in_progress', 'waiting', 'failed'] as const;

/**
 * The service's Prometheus metrics, on a registry of its own (never prom-client's global
 * one, so two services in one test process do not share counters). Labels are per hub,
 * never per node: a node label would make one series per row, and series for deleted
 * rows would linger (Lynq's per-node metrics have both problems).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly duration = new Histogram({
    name: 'lynq_sync_duration_seconds',
    help: 'Duration of one hub sync, by outcome',
    labelNames: ['hub', 'outcome'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  private readonly syncs = new Counter({
    name: 'lynq_syncs_total',
    help: 'Hub syncs run, by outcome',
    labelNames: ['hub', 'outcome'],
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: 'lynq_sync_last_success_timestamp_seconds',
    help: 'When the hub last synced without a source, git or pull-request failure (Unix time)',
    labelNames: ['hub'],
    registers: [this.registry],
  });
  private readonly nodes = new Gauge({
    name: 'lynq_nodes',
    help: 'Nodes of the hub by state, as its last completed sync left them',
    labelNames: ['hub', 'state'],
    registers: [this.registry],
  });
  private readonly commits = new Counter({
    name: 'lynq_commits_total',
    help: 'Commits pushed to the target branch',
    labelNames: ['hub'],
    registers: [this.registry],
  });
  private readonly pullRequestWrites = new Counter({
    name: 'lynq_pull_request_writes_total',
    help: 'Pull requests created, updated or closed, or their branch pushed',
    labelNames: ['hub'],
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'lynq_sync_errors_total',
    help: 'Failed hub syncs, by kind of failure',
    labelNames: ['hub', 'kind'],
    registers: [this.registry],
  });
  private readonly skippedTicks = new Counter({
    name: 'lynq_skipped_ticks_total',
    help: "Scheduled ticks skipped because the hub's previous sync was still running",
    labelNames: ['hub'],
    registers: [this.registry],
  });
  private readonly lockBusy = new Counter({
    name: 'lynq_lock_busy_total',
    help: 'Syncs not run because another process held the hub lock',
    labelNames: ['hub'],
    registers: [this.registry],
  });
  private readonly triggers = new Counter({
    name: 'lynq_triggers_total',
    help: 'Sync requests, by what asked',
    labelNames: ['hub', 'trigger'],
    registers: [this.registry],
  });
  readonly configProblems = new Gauge({
    name: 'lynq_config_problems',
    help: 'Hub and form files that could not be loaded at the last reload (their last good version is kept)',
    registers: [this.registry],
  });

  private readonly interval = new Gauge({
    name: 'lynq_hub_sync_interval_seconds',
    help: "The hub's syncInterval when it is a duration (none for a cron expression), for alerts that count missed syncs",
    labelNames: ['hub'],
    registers: [this.registry],
  });
  private readonly readBacks = new Counter({
    name: 'lynq_read_backs_total',
    help: 'Health read-backs run, by outcome (read, cluster-failed, failed)',
    labelNames: ['hub', 'outcome'],
    registers: [this.registry],
  });
  private readonly readBackDuration = new Histogram({
    name: 'lynq_read_back_duration_seconds',
    help: 'Duration of one hub read-back (the cluster, then the LynqNode statuses and the status table)',
    labelNames: ['hub'],
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  private readonly readBackLastSuccess = new Gauge({
    name: 'lynq_read_back_last_success_timestamp_seconds',
    help: 'When the hub was last read back from the cluster (Unix time)',
    labelNames: ['hub'],
    registers: [this.registry],
  });
  private readonly nodeHealth = new Gauge({
    name: 'lynq_node_health',
    help: "Nodes by health phase, per hub and form, as the hub's last read-back found them",
    labelNames: ['hub', 'form', 'phase'],
    registers: [this.registry],
  });
  private readonly pastDeadline = new Gauge({
    name: 'lynq_nodes_past_progress_deadline',
    help: "Nodes Progressing longer after their last commit than their form's progress deadline (spec.rollout.progressDeadlineSeconds, 600 when unset), as the hub's last read-back found them",
    labelNames: ['hub', 'form'],
    registers: [this.registry],
  });
  private readonly rolloutNodes = new Gauge({
    name: 'lynq_rollout_nodes',
    help: "Nodes of each paced form's rollout by state (done, in_progress, waiting, failed), as the hub's last sync left it",
    labelNames: ['hub', 'form', 'state'],
    registers: [this.registry],
  });
  private readonly rolloutHalted = new Gauge({
    name: 'lynq_rollout_halted',
    help: "1 while a form's rollout is halted by a failed node (lynq rollout resume continues it), else 0",
    labelNames: ['hub', 'form'],
    registers: [this.registry],
  });
  private readonly leadTime = new Histogram({
    name: 'lynq_node_lead_time_seconds',
    help: 'Lead time of node changes, from the row change seen to the node Ready (leg total), and per leg: commit (seen to pushed or merged), apply (to applied by the engine), ready (to Ready); observed once per change, when a read-back finds the node Ready at it',
    labelNames: ['hub', 'leg'],
    buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 43200, 86400, 259200, 604800],
    registers: [this.registry],
  });
  /** Hubs whose lead time series exist (at zero until observed). */
  private readonly leadTimeHubs = new Set<string>();
  /** The forms each hub's rollout series were last set for, so a form no longer paced loses its series. */
  private readonly rolloutForms = new Map<string, Set<string>>();
  /** Each hub's forms' progress deadlines in seconds (progressDeadlines), for lynq_nodes_past_progress_deadline. */
  private readonly deadlines = new Map<string, ReadonlyMap<string, number>>();
  /** The forms each hub's node health was last set for, so a form gone from the read loses its series. */
  private readonly healthForms = new Map<string, Set<string>>();

  /** `processMetrics: false` for a one-shot run's export: a finished process's CPU and memory say nothing. */
  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'lynq_process_' });
  }

  /** One finished read-back: its outcome and duration (when timed); a successful one sets the node health per form and phase. */
  readBack(result: HubReadBack, seconds: number | undefined, now: number): void {
    const { hub } = result;
    this.readBacks.inc({ hub, outcome: result.outcome });
    if (seconds !== undefined) this.readBackDuration.observe({ hub }, seconds);
    if (result.outcome !== 'read') return;
    this.readBackLastSuccess.set({ hub }, now / 1000);
    if (!this.leadTimeHubs.has(hub)) {
      // At zero from the hub's first read-back: Prometheus's increase() then counts the first observation too
      // (a series that appears at 1 counts from there), and a run's metrics file shows the hub's with none.
      for (const leg of LEAD_TIME_LEGS) this.leadTime.zero({ hub, leg });
      this.leadTimeHubs.add(hub);
    }
    for (const lead of result.statuses.completedLeadTimes) {
      const legs = leadTimeLegs(lead);
      if (legs !== undefined) for (const leg of LEAD_TIME_LEGS) this.leadTime.observe({ hub, leg }, legs[leg]);
    }
    const counts = new Map<string, Map<NodePhase, number>>();
    const late = new Map<string, number>();
    const deadlines = this.deadlines.get(hub);
    for (const node of result.nodes) {
      const byPhase = counts.get(node.form) ?? new Map(NODE_PHASES.map((phase) => [phase, 0]));
      byPhase.set(node.phase, (byPhase.get(node.phase) ?? 0) + 1);
      counts.set(node.form, byPhase);
      const deadline = deadlines?.get(node.form) ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
      const isLate =
        node.phase === 'Progressing' && node.commit !== undefined && now / 1000 - node.commit.time > deadline;
      late.set(node.form, (late.get(node.form) ?? 0) + (isLate ? 1 : 0));
    }
    for (const form of this.healthForms.get(hub) ?? []) if (!counts.has(form)) this.forgetHealth(hub, form);
    for (const [form, byPhase] of counts)
      for (const [phase, count] of byPhase) this.nodeHealth.set({ hub, form, phase }, count);
    for (const [form, count] of late) this.pastDeadline.set({ hub, form }, count);
    this.healthForms.set(hub, new Set(counts.keys()));
  }

  /** The hub's forms, for the progress deadline each node is watched by: the form's rollout's, or the default. */
  progressDeadlines(hub: string, forms: readonly Form[]): void {
    this.deadlines.set(
      hub,
      new Map(
        forms.map((form) => [
          form.name,
          form.spec.rollout?.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
        ]),
      ),
    );
  }

  private forgetHealth(hub: string, form: string): void {
    for (const phase of NODE_PHASES) this.nodeHealth.remove({ hub, form, phase });
    this.pastDeadline.remove({ hub, form });
  }

  /** The hub's interval in seconds, or undefined for a cron expression (no series then). */
  syncInterval(hub: string, seconds: number | undefined): void {
    if (seconds === undefined) this.interval.remove({ hub });
    else this.interval.set({ hub }, seconds);
  }

  triggered(hub: string, trigger: Trigger): void {
    this.triggers.inc({ hub, trigger });
  }

  skippedTick(hub: string): void {
    this.skippedTicks.inc({ hub });
  }

  lockHeld(hub: string): void {
    this.lockBusy.inc({ hub });
  }

  failed(hub: string, kind: ErrorKind): void {
    this.errors.inc({ hub, kind });
  }

  /** One finished sync: its duration, its outcome, and what it did to nodes, commits and pull requests. */
  synced(result: HubSyncResult, seconds: number, now: number): void {
    const { hub, outcome } = result;
    this.duration.observe({ hub, outcome }, seconds);
    this.syncs.inc({ hub, outcome });
    if (outcome === 'config-failed') this.failed(hub, 'config');
    if (outcome === 'source-failed') this.failed(hub, 'source');
    if (outcome === 'git-failed') this.failed(hub, 'git');
    if (outcome === 'cluster-failed') this.failed(hub, 'cluster');
    if (outcome === 'pull-request-failed') this.failed(hub, 'pull-request');
    if (outcome === 'published' || outcome === 'unchanged') this.lastSuccess.set({ hub }, now / 1000);
    if (!('plan' in result)) return;
    for (const [state, count] of Object.entries(countByStatus(result.plan.nodes)))
      this.nodes.set({ hub, state }, count);
    this.rollouts(hub, result.plan.rollouts ?? []);
    if (result.commit !== undefined) this.commits.inc({ hub });
    const proposal = 'proposal' in result ? result.proposal : undefined;
    if (
      proposal !== undefined &&
      (proposal.branchChanged || ['created', 'updated', 'closed'].includes(proposal.outcome))
    )
      this.pullRequestWrites.inc({ hub });
  }

  /** Each paced form's rollout: nodes by state and whether it is halted. A form the sync did not pace loses its series. */
  private rollouts(hub: string, rollouts: readonly RolloutProgress[]): void {
    const forms = new Set(rollouts.map((rollout) => rollout.form));
    for (const form of this.rolloutForms.get(hub) ?? []) if (!forms.has(form)) this.forgetRollout(hub, form);
    for (const rollout of rollouts) {
      const { form } = rollout;
      const states = {
        done: rollout.done,
        in_progress: rollout.inFlight + rollout.changing,
        waiting: rollout.waiting,
        failed: rollout.failed.length,
      };
      for (const [state, count] of Object.entries(states)) this.rolloutNodes.set({ hub, form, state }, count);
      this.rolloutHalted.set({ hub, form }, rollout.halted ? 1 : 0);
    }
    this.rolloutForms.set(hub, forms);
  }

  private forgetRollout(hub: string, form: string): void {
    for (const state of ROLLOUT_STATES) this.rolloutNodes.remove({ hub, form, state });
    this.rolloutHalted.remove({ hub, form });
  }

  /** A hub taken out of the config: its gauges go, so a dashboard does not show it as stuck (counters only stop rising). */
  forget(hub: string): void {
    this.lastSuccess.remove({ hub });
    this.readBackLastSuccess.remove({ hub });
    this.interval.remove({ hub });
    for (const state of Object.keys(countByStatus([]))) this.nodes.remove({ hub, state });
    for (const form of this.healthForms.get(hub) ?? []) this.forgetHealth(hub, form);
    this.healthForms.delete(hub);
    this.deadlines.delete(hub);
    for (const leg of LEAD_TIME_LEGS) this.leadTime.remove({ hub, leg });
    this.leadTimeHubs.delete(hub);
    for (const form of this.rolloutForms.get(hub) ?? []) this.forgetRollout(hub, form);
    this.rolloutForms.delete(hub);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
