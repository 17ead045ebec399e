/**
 * The forge side of pull requests, apart from the git side (branches are pushed and
 * deleted with git, by src/git). GitHub (github.ts) and GitLab (gitlab/) implement it; a
 * Gitea or Bitbucket would be one more folder, and the sync core would not change.
 * Verbs follow one rule: `find*` answers undefined when absent, `ensure*` creates or
 * updates and says which, and nothing writes when there is nothing to change.
 */

export type PullRequest = {
  number: number;
  /** The page people open. */
  url: string;
  title: string;
  body: string;
  labels: string[];
  /** The commit the pull request's branch pointed at when the forge last looked. */
  headSha: string;
  state: 'open' | 'closed';
  merged: boolean;
  draft: boolean;
  /** Auto-merge is switched on. */
  autoMerge: boolean;
  /** The forge's global id (GitHub's GraphQL node id), for calls that need it. */
  nodeId: string;
};

export type AutoMerge = 'off' | 'merge' | 'squash' | 'rebase';

/** What the pull request should look like after `ensurePullRequest`. */
export type PullRequestSpec = {
  /** The bot branch (head) and the target branch (base). */
  branch: string;
  base: string;
  title: string;
  body: string;
  labels: readonly string[];
  /** Labels this bridge set earlier and may take away again; labels people added stay. */
  ownedLabels: readonly string[];
  /** Asked for review when the pull request is opened (not again on later syncs). */
  reviewers: readonly string[];
  teamReviewers: readonly string[];
  draft: boolean;
  autoMerge: AutoMerge;
};

export type EnsureAction = 'created' | 'updated' | 'unchanged';

export type EnsureResult = {
  action: EnsureAction;
  pullRequest: PullRequest;
  /** Things that did not work but do not undo the pull request (auto-merge refused, …). */
  warnings: string[];
};

export interface PullRequestClient {
  /** `owner/repo` on `host`, for messages. */
  readonly repository: string;
  /** The open pull request from `branch` into `base`. */
  findOpenPullRequest(branch: string, base: string): Promise<PullRequest | undefined>;
  /** The most recent closed pull request from `branch` into `base` whose head was `headSha`. */
  findClosedPullRequest(branch: string, base: string, headSha: string): Promise<PullRequest | undefined>;
  /** Create the pull request, or bring `existing` in line with `spec`; no write when it already is. */
  ensurePullRequest(spec: PullRequestSpec, existing: PullRequest | undefined): Promise<EnsureResult>;
  /** Comment, then close (a comment says why; a bare close would not). */
  closePullRequest(pullRequest: PullRequest, comment: string): Promise<void>;
  /** Whether a comment carrying `key` (see `ensureComment`) is already on the pull request. */
  hasComment(pullRequest: PullRequest, key: string): Promise<boolean>;
  /** Post `body` unless a comment carrying `key` is already there (so a rerun does not repeat it). */
  ensureComment(pullRequest: PullRequest, key: string, body: string): Promise<'created' | 'exists'>;
  /** The one comment carrying `key`, created, or edited in place when its body differs; no write when it says this already. */
  upsertComment(pullRequest: PullRequest, key: string, body: string): Promise<WriteAction>;
  /** The merged pull request that brought commit `sha` to its target branch, if the forge knows one. */
  findMergedPullRequest(sha: string): Promise<PullRequest | undefined>;
  /**
   * The deploy result of commit `sha` as the forge shows it (GitLab: a commit status;
   * GitHub: a check run), named `report.name`; written only when the forge shows
   * something else.
   */
  ensureCommitReport(sha: string, report: CommitReport): Promise<WriteAction>;
}

export type WriteAction = 'created' | 'updated' | 'unchanged';

/** A deploy result on a commit: pending while nodes roll out, then success or failure. */
export type CommitReport = {
  /** `lynq/<hub>`. */
  name: string;
  state: 'pending' | 'success' | 'failure';
  /** One line (GitLab shows at most 255 characters; longer is cut). */
  summary: string;
  /** A longer text where the forge has room for one (GitHub's check run output). */
  details: string;
};

/**
 * Where tokens come from, apart from the pull-request client: the API client asks for
 * one per request and git borrows one for pushing over HTTPS, so neither holds a
 * credential that may expire (a GitHub App's installation token lives an hour).
 */
export interface CredentialProvider {
  /** Names the credential for pacing and logs (`token:<hash>`, `app:<id>`), never the secret. */
  readonly identity: string;
  /** A token good for the API and for git over HTTPS on the repository at `repoUrl`. */
  tokenFor(repoUrl: string): Promise<string>;
  /** The user name git sends with that token over HTTPS (GitLab: `oauth2`); the hub's `auth.username` when absent. */
  readonly gitUsername?: string;
}
