import { z } from 'zod';
import { DnsLabel } from './dns-label.ts';
import { checkGitopsAgainstPublish, Gitops } from './gitops-schema.ts';
import { urlCredentialProblem } from './repo-url.ts';
import { parseSyncInterval } from './sync-interval.ts';

/** Kubernetes object names and our path segments: an RFC 1123 DNS label. */
export const ObjectName = DnsLabel;

/**
 * Where a secret comes from without a cluster: an environment variable, a file, or
 * Lynq's `{ name, key }` Secret reference read from a mounted Secret directory.
 */
export const SecretRef = z.union([
  z.strictObject({ env: z.string().min(1) }),
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({ name: z.string().min(1), key: z.string().min(1) }),
]);
export type SecretRef = z.infer<typeof SecretRef>;

export const TlsOptions = z.strictObject({
  enabled: z.boolean().default(true),
  /** Verify the server certificate (default true; turn off only for self-signed test servers). */
  rejectUnauthorized: z.boolean().default(true),
  caFile: z.string().optional(),
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
});
export type TlsOptions = z.infer<typeof TlsOptions>;

const tableOrQuery = {
  /** A table or view, quoted as an identifier; `schema.table` allowed. */
  table: z.string().min(1).optional(),
  /** A full SELECT, for joins; used instead of `table`. */
  query: z.string().min(1).optional(),
};

/**
 * Timeouts in whole-second ranges a timer can hold: past 2^31 ms Node's timers fire after
 * 1 ms, and under 1 ms drivers read the value as "no timeout", so both are config errors.
 */
function timeouts() {
  return {
    connectTimeoutSeconds: z.number().min(1).max(3600).default(10),
    queryTimeoutSeconds: z.number().min(1).max(86_400).default(30),
  };
}

export const SqlServerSource = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).optional(),
  username: z.string().optional(),
  passwordRef: SecretRef.optional(),
  database: z.string().min(1),
  ...tableOrQuery,
  tls: TlsOptions.optional(),
  ...timeouts(),
  /** PostgreSQL only: `lynq serve` LISTENs on this channel and syncs the hub at once on a notification. */
  notifyChannel: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a plain lowercase identifier (letters, digits, "_"; at most 63)')
    .optional(),
});
export type SqlServerSource = z.infer<typeof SqlServerSource>;

export const PgliteSource = z.strictObject({
  /** Data directory; created and seeded on first use. In memory when absent. */
  dataDir: z.string().optional(),
  /** SQL run once when the data directory is new (or on every run in memory). */
  seedFile: z.string().optional(),
  ...tableOrQuery,
  queryTimeoutSeconds: timeouts().queryTimeoutSeconds,
});
export type PgliteSource = z.infer<typeof PgliteSource>;

export const SourceType = z.enum(['mysql', 'postgresql', 'pglite']);
export type SourceType = z.infer<typeof SourceType>;

export const HubSource = z
  .strictObject({
    type: SourceType,
    mysql: SqlServerSource.optional(),
    postgresql: SqlServerSource.optional(),
    pglite: PgliteSource.optional(),
    /** `30s`, `1m`, `5m`… or a cron expression; used by `lynq serve`. */
    syncInterval: z.string().default('1m'),
  })
  .superRefine((source, ctx) => {
    const interval = parseSyncInterval(source.syncInterval);
    if ('error' in interval) ctx.addIssue({ code: 'custom', path: ['syncInterval'], message: interval.error });
    if (source.mysql?.notifyChannel !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['mysql', 'notifyChannel'],
        message: 'MySQL has no LISTEN/NOTIFY; use the webhook (POST /hooks/sync/<hub>) instead',
      });
    const settings = source[source.type];
    if (settings === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [source.type],
        message: `type is ${source.type}, so spec.source.${source.type} is required`,
      });
      return;
    }
    if ((settings.table === undefined) === (settings.query === undefined)) {
      ctx.addIssue({ code: 'custom', path: [source.type], message: 'give exactly one of table or query' });
    }
  });
export type HubSource = z.infer<typeof HubSource>;

export const ValueMappings = z.strictObject({
  uid: z.string().min(1),
  activate: z.string().min(1),
  /** Lynq's older required mapping; when given, `hostOrUrl` and `host` are template variables. */
  hostOrUrl: z.string().min(1).optional(),
  /**
   * Bridge extension: a column whose truthy value (as `activate` reads it) pauses the row's
   * nodes: Git keeps them as they are until it is false again. Not a template variable.
   */
  paused: z.string().min(1).optional(),
  /**
   * Bridge extension: a column naming the cluster the row's nodes go to, one of
   * `spec.gitops.clusters` (empty: `spec.gitops.defaultCluster`). A template variable, `cluster`.
   */
  cluster: z.string().min(1).optional(),
});

/** Template variables the bridge defines itself; an extra mapping may not reuse them. */
export const RESERVED_VARIABLES = ['uid', 'activate', 'hubId', 'templateRef', 'host', 'hostOrUrl'] as const;

const VariableName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    'must be a template identifier: letters, digits and "_", not starting with a digit',
  )
  .refine((name) => !(RESERVED_VARIABLES as readonly string[]).includes(name), {
    message: `is reserved (${RESERVED_VARIABLES.join(', ')})`,
  });

export const PublishAuth = z.strictObject({
  /** HTTPS token (GitHub: a PAT or installation token). */
  token: SecretRef.optional(),
  /** User name sent with the token; GitHub accepts `x-access-token`. */
  username: z.string().default('x-access-token'),
  /** SSH private key for git@ URLs. */
  sshKey: SecretRef.optional(),
  /** known_hosts file for SSH; without it, a new host key is accepted on first use. */
  knownHostsFile: z.string().optional(),
});
export type PublishAuth = z.infer<typeof PublishAuth>;

/** How one kind of node change reaches the target branch: pushed at once, or proposed in the hub's pull request. */
export const Route = z.enum(['push', 'pull-request']);
export type Route = z.infer<typeof Route>;

/** Per kind of change; a kind left out follows `mode`. A node with several reasons takes the strictest route. */
export const Routing = z.strictObject({
  /** A node for a new (or newly active) row. */
  added: Route.optional(),
  /** A node updated because its row's values changed. */
  rowChanged: Route.optional(),
  /** A node updated because what renders it changed: its form, the bridge version, or files edited in Git being restored. */
  formChanged: Route.optional(),
  /** A node removed: its row deactivated or deleted, or its form removed. */
  removed: Route.optional(),
  /** Removals held back by the deletion guard: `pull-request` proposes them (merging approves), `hold` keeps them until --allow-deletions. Default: `pull-request` when any kind goes by pull request. */
  held: z.enum(['hold', 'pull-request']).optional(),
});
export type Routing = z.infer<typeof Routing>;

export const PullRequestSettings = z.strictObject({
  /** The bot branch, rebuilt each sync; default `lynq/<hub>`. */
  branch: z.string().min(1).optional(),
  /** Labels the bridge adds (and later removes, if taken out of this list); labels added by people stay. */
  labels: z.array(z.string().min(1)).default([]),
  /** Users and teams asked for review when the pull request is opened. */
  reviewers: z.array(z.string().min(1)).default([]),
  teamReviewers: z.array(z.string().min(1)).default([]),
  /** Open pull requests as drafts. */
  draft: z.boolean().default(false),
  /** GitHub auto-merge with this method once checks and reviews pass (GitLab: merge when the pipeline succeeds, `merge` or `squash`); `off` leaves merging to people. */
  autoMerge: z.enum(['off', 'merge', 'squash', 'rebase']).default('off'),
  /** Size cap of the diff excerpt in the pull-request body, in characters. */
  maxDiffChars: z.number().int().min(0).max(40000).default(20000),
});
export type PullRequestSettings = z.infer<typeof PullRequestSettings>;

/** Forges the bridge opens pull requests (GitLab: merge requests) on. */
export const ForgeType = z.enum(['github', 'gitlab']);
export type ForgeType = z.infer<typeof ForgeType>;

/** The REST API of each forge's public service, used when `apiUrl` is not given. */
export const DEFAULT_API_URL: Record<ForgeType, string> = {
  github: 'https://api.github.com',
  gitlab: 'https://gitlab.com/api/v4',
};

/** The forge that hosts pull requests. Owner and repository (GitLab: the project's full path) come from `repo`. */
export const Platform = z.strictObject({
  type: ForgeType.default('github'),
  /**
   * REST API base URL. GitHub: `https://api.github.com` (default), or `https://<host>/api/v3` for GitHub Enterprise Server.
   * GitLab: `https://gitlab.com/api/v4` (default), or `https://<host>/api/v4` for a self-managed instance.
   */
  apiUrl: z.url().optional(),
  /** A token for the API; without it (and without `app`), `spec.publish.auth.token` is used. GitLab: a personal, project or group access token with the `api` scope; git uses it too, as user `oauth2`. */
  token: SecretRef.optional(),
  /** A GitHub App: its id (or client id), private key, and installation (found from the repository when absent). Its installation token is used for git too. */
  app: z
    .strictObject({
      appId: z.union([z.number().int().positive(), z.string().min(1)]),
      privateKey: SecretRef,
      installationId: z.number().int().positive().optional(),
    })
    .optional(),
  /** Retries of a request that failed with a 5xx or a rate limit. */
  maxRetries: z.number().int().min(0).max(10).default(3),
  /** The longest wait for a rate limit to reset before giving up, in seconds. */
  maxRetryWaitSeconds: z.number().int().min(0).max(3600).default(60),
  /** Time between two writes to the API, in milliseconds (GitHub asks for a second); writes that notify people wait three times this. 0 for a server without secondary rate limits. */
  writeIntervalMs: z.number().int().min(0).max(60000).default(1000),
  /**
   * After each health read-back, report each published commit's deploy result on the forge: a
   * check run (GitHub) or commit status (GitLab) named `lynq/<hub>`, and a "Deployed" comment on
   * the merged pull request. Needs the read-back (spec.gitops and a cluster); GitHub check runs need a GitHub App.
   */
  reportDeploys: z.boolean().default(false),
});
export type Platform = z.infer<typeof Platform>;

export const Publish = z
  .strictObject({
    /** The manifests repository: a URL or a local path, without credentials (those go in `auth`). `--repo` overrides it. */
    repo: z
      .string()
      .min(1)
      .optional()
      .superRefine((repo, ctx) => {
        const problem = repo === undefined ? undefined : urlCredentialProblem(repo);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
    branch: z.string().min(1).default('main'),
    /** Folder in the repository that holds `<hub>/<form>/<uid>/`. */
    root: z.string().min(1).default('nodes'),
    author: z
      .strictObject({ name: z.string().min(1), email: z.string().min(1) })
      .default({ name: 'Lynq Bridge', email: 'lynq-bridge@users.noreply.github.com' }),
    auth: PublishAuth.optional(),
    /** How many times a push rejected because the remote moved is tried again on the new head. */
    maxPushAttempts: z.number().int().min(1).max(20).default(5),
    /** `push`: every change is committed to `branch`; `pull-request`: every change waits in one pull request. `routing` refines it per kind of change. */
    mode: z.enum(['push', 'pull-request']).default('push'),
    routing: Routing.optional(),
    pullRequest: PullRequestSettings.prefault({}),
    platform: Platform.optional(),
  })
  .superRefine((publish, ctx) => {
    // The bot branch is rebuilt and force-pushed every sync: it can never be the target.
    if (publish.pullRequest.branch === publish.branch) {
      ctx.addIssue({
        code: 'custom',
        path: ['pullRequest', 'branch'],
        message: `must differ from spec.publish.branch (${publish.branch}): the bridge rebuilds and force-pushes this branch`,
      });
    }
    if (publish.platform?.type === 'gitlab') gitLabLimits(publish, ctx);
  });
export type Publish = z.infer<typeof Publish>;

/** What GitLab has no equivalent for: said at load time, not found out at the first merge request. */
function gitLabLimits(
  publish: { platform?: { app?: unknown }; pullRequest: { teamReviewers: string[]; autoMerge: string } },
  ctx: z.RefinementCtx,
): void {
  if (publish.platform?.app !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['platform', 'app'],
      message:
        'is for GitHub only: on GitLab, give a personal, project or group access token in spec.publish.platform.token',
    });
  }
  if (publish.pullRequest.teamReviewers.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['pullRequest', 'teamReviewers'],
      message:
        'is for GitHub only: GitLab asks users for review; list their usernames in spec.publish.pullRequest.reviewers',
    });
  }
  if (publish.pullRequest.autoMerge === 'rebase') {
    ctx.addIssue({
      code: 'custom',
      path: ['pullRequest', 'autoMerge'],
      message:
        "cannot be rebase on GitLab: the project's merge method decides how a merge request lands; use merge or squash",
    });
  }
}

export const DeletionGuard = z.strictObject({
  /** Hold back removals when a sync would remove more than this share of the hub's nodes. */
  maxDeletePercent: z.number().min(0).max(100).default(50),
});

/** An SQL identifier the bridge quotes itself: letters, digits and `_`, so no quoting rule of either database is ever in play. */
const SqlIdentifier = z
  .string()
  .max(63)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an SQL identifier: letters, digits and "_", not starting with a digit');

/** `spec.statusWriteback`: one row per node in a table of the hub's own database (health read-back). */
export const StatusWriteback = z.strictObject({
  table: SqlIdentifier,
  /** PostgreSQL schema, or MySQL database, of the table; default: the connection's. */
  schema: SqlIdentifier.optional(),
  /** Create the table when it is missing (the DDL is in docs/health.md). */
  create: z.boolean().default(true),
});
export type StatusWriteback = z.infer<typeof StatusWriteback>;

export const HubSpec = z
  .strictObject({
    source: HubSource,
    valueMappings: ValueMappings,
    extraValueMappings: z.record(VariableName, z.string().min(1)).default({}),
    publish: Publish.default(Publish.parse({})),
    deletionGuard: DeletionGuard.default({ maxDeletePercent: 50 }),
    /** Which engine (Argo CD, Flux, none) applies the nodes, and its settings. */
    gitops: Gitops.prefault({}),
    /** Health read-back writes one row per node into this table of the source database. */
    statusWriteback: StatusWriteback.optional(),
    /**
     * The scope of CRD kinds the bridge has no schema for, by `Kind.group` (or `Kind`):
     * `Cluster` objects get no namespace and are one object across the hub's nodes.
     */
    kindScopes: z
      .record(
        z.string().regex(/^[A-Za-z][A-Za-z0-9]*(\.[a-z0-9.-]+)?$/, 'expected Kind or Kind.group'),
        z.enum(['Cluster', 'Namespaced']),
      )
      .optional(),
  })
  .superRefine(checkGitopsAgainstPublish)
  .superRefine(checkClusters)
  .superRefine((spec, ctx) => {
    if (spec.statusWriteback !== undefined && spec.source.type === 'pglite') {
      ctx.addIssue({
        code: 'custom',
        path: ['statusWriteback'],
        message: 'needs a mysql or postgresql source: an embedded pglite database is not one the row owner can read',
      });
    }
  });
export type HubSpec = z.infer<typeof HubSpec>;

/** A cluster column needs the clusters it may name; `cluster` is then a template variable an extra mapping may not take. */
function checkClusters(
  spec: {
    valueMappings: { cluster?: string | undefined };
    extraValueMappings: Record<string, string>;
    gitops: { clusters?: Array<{ name: string }> | undefined; defaultCluster?: string | undefined };
  },
  ctx: { addIssue(issue: { code: 'custom'; path: Array<string | number>; message: string }): void },
): void {
  const { clusters, defaultCluster } = spec.gitops;
  if (spec.valueMappings.cluster !== undefined && clusters === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['gitops', 'clusters'],
      message:
        'is required with valueMappings.cluster: list the clusters a row may name (name, and server for Argo CD)',
    });
  }
  if (spec.valueMappings.cluster === undefined && (clusters !== undefined || defaultCluster !== undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['valueMappings', 'cluster'],
      message: "is required with spec.gitops.clusters: map the column that names each row's cluster",
    });
  }
  if (spec.valueMappings.cluster !== undefined && 'cluster' in spec.extraValueMappings) {
    ctx.addIssue({
      code: 'custom',
      path: ['extraValueMappings', 'cluster'],
      message: 'is the template variable valueMappings.cluster defines: rename this mapping',
    });
  }
}

export const Metadata = z.looseObject({
  name: ObjectName,
  namespace: ObjectName.optional(),
});

export const HubFile = z.strictObject({
  apiVersion: z.literal('operator.lynq.sh/v1'),
  kind: z.literal('LynqHub'),
  metadata: Metadata,
  spec: HubSpec,
});
export type HubFile = z.infer<typeof HubFile>;
