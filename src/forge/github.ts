import { createOctokit, forgeFailure, statusOf, type GitHubClient, type OctokitOptions } from './octokit.ts';
import { pullRequestChanges } from './pull-request-changes.ts';
import { parseRepoUrl, type RepoCoordinates } from './repo-url.ts';
import type {
  CommitReport,
  CredentialProvider,
  EnsureResult,
  PullRequest,
  PullRequestClient,
  PullRequestSpec,
  WriteAction,
} from './types.ts';

/** The fields of GitHub's pull-request objects (full and simple) that the bridge reads. */
type GitHubPull = {
  number: number;
  html_url: string;
  title: string;
  body: string | null;
  labels: Array<{ name?: string }>;
  head: { sha: string; ref: string };
  base: { ref: string };
  state: string;
  merged_at: string | null;
  draft?: boolean;
  auto_merge: unknown;
  node_id: string;
};

const COMMENT_KEY = (key: string) => `<!-- lynq:comment ${key} -->`;

const ENABLE_AUTO_MERGE = `mutation($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!) {
  enablePullRequestAutoMerge(input: { pullRequestId: $pullRequestId, mergeMethod: $mergeMethod }) {
    pullRequest { number }
  }
}`;

/** Pull requests on GitHub (or GitHub Enterprise Server) through the REST API. */
export class GitHubPullRequests implements PullRequestClient {
  readonly repository: string;
  private readonly owner: string;
  private readonly repo: string;

  constructor(
    private readonly octokit: GitHubClient,
    coordinates: RepoCoordinates,
  ) {
    this.owner = coordinates.owner;
    this.repo = coordinates.repo;
    this.repository = `${coordinates.owner}/${coordinates.repo}`;
  }

  async findOpenPullRequest(branch: string, base: string): Promise<PullRequest | undefined> {
    const { data } = await this.call(`looking for the open pull request from ${branch}`, () =>
      this.octokit.rest.pulls.list({
        owner: this.owner,
        repo: this.repo,
        state: 'open',
        head: `${this.owner}:${branch}`,
        base,
        per_page: 10,
      }),
    );
    const found = data.find((pull) => pull.head.ref === branch && pull.base.ref === base);
    return found === undefined ? undefined : toPullRequest(found);
  }

  async findClosedPullRequest(branch: string, base: string, headSha: string): Promise<PullRequest | undefined> {
    const { data } = await this.call(`looking for closed pull requests from ${branch}`, () =>
      this.octokit.rest.pulls.list({
        owner: this.owner,
        repo: this.repo,
        state: 'closed',
        head: `${this.owner}:${branch}`,
        base,
        sort: 'updated',
        direction: 'desc',
        per_page: 20,
      }),
    );
    const found = data.find((pull) => pull.head.ref === branch && pull.head.sha === headSha);
    return found === undefined ? undefined : toPullRequest(found);
  }

  async ensurePullRequest(spec: PullRequestSpec, existing: PullRequest | undefined): Promise<EnsureResult> {
    if (existing !== undefined) return this.update(spec, existing);
    let created: PullRequest;
    try {
      const { data } = await this.octokit.rest.pulls.create({
        owner: this.owner,
        repo: this.repo,
        head: spec.branch,
        base: spec.base,
        title: spec.title,
        body: spec.body,
        draft: spec.draft,
      });
      created = toPullRequest(data);
    } catch (error) {
      // A create retried after a 5xx may have worked the first time: GitHub then says 422.
      const already = statusOf(error) === 422 ? await this.findOpenPullRequest(spec.branch, spec.base) : undefined;
      if (already === undefined)
        throw forgeFailure(error, `opening a pull request from ${spec.branch} into ${spec.base}`, this.repository);
      return this.update(spec, already);
    }
    const warnings: string[] = [];
    if (spec.labels.length > 0) created.labels = await this.addLabels(created.number, spec.labels);
    const reviewers = [...spec.reviewers];
    const teams = [...spec.teamReviewers];
    if (reviewers.length + teams.length > 0) {
      // A reviewer who cannot review (not a collaborator, the token's own user) is not worth failing the sync over.
      try {
        await this.octokit.rest.pulls.requestReviewers({
          owner: this.owner,
          repo: this.repo,
          pull_number: created.number,
          reviewers,
          team_reviewers: teams,
        });
      } catch (error) {
        warnings.push(
          forgeFailure(
            error,
            `asking ${[...reviewers, ...teams].join(', ')} for review on #${created.number}`,
            this.repository,
          ).message,
        );
      }
    }
    warnings.push(...(await this.ensureAutoMerge(spec, created)));
    return { action: 'created', pullRequest: created, warnings };
  }

  private async update(spec: PullRequestSpec, existing: PullRequest): Promise<EnsureResult> {
    let pull = existing;
    let action: EnsureResult['action'] = 'unchanged';
    const changes = pullRequestChanges(spec, existing);
    if (changes.title !== undefined || changes.body !== undefined) {
      const patch: { title?: string; body?: string } = {};
      if (changes.title !== undefined) patch.title = changes.title;
      if (changes.body !== undefined) patch.body = changes.body;
      const { data } = await this.call(`updating pull request #${existing.number}`, () =>
        this.octokit.rest.pulls.update({ owner: this.owner, repo: this.repo, pull_number: existing.number, ...patch }),
      );
      pull = toPullRequest(data);
      action = 'updated';
    }
    if (changes.addLabels.length > 0) {
      pull = { ...pull, labels: await this.addLabels(pull.number, changes.addLabels) };
      action = 'updated';
    }
    for (const label of changes.removeLabels.filter((name) => pull.labels.includes(name))) {
      await this.call(`removing label ${label} from #${pull.number}`, () =>
        this.octokit.rest.issues.removeLabel({
          owner: this.owner,
          repo: this.repo,
          issue_number: pull.number,
          name: label,
        }),
      );
      pull = { ...pull, labels: pull.labels.filter((name) => name !== label) };
      action = 'updated';
    }
    const warnings = await this.ensureAutoMerge(spec, pull);
    if (changes.autoMerge !== undefined && !pull.autoMerge && warnings.length === 0) action = 'updated';
    return { action, pullRequest: pull, warnings };
  }

  private async addLabels(number: number, labels: readonly string[]): Promise<string[]> {
    const { data } = await this.call(`labelling #${number} with ${labels.join(', ')}`, () =>
      this.octokit.rest.issues.addLabels({
        owner: this.owner,
        repo: this.repo,
        issue_number: number,
        labels: [...labels],
      }),
    );
    return data.map((label) => label.name);
  }

  /** GitHub's auto-merge exists only in GraphQL. A refusal (not allowed on the repository, …) is a warning. */
  private async ensureAutoMerge(spec: PullRequestSpec, pull: PullRequest): Promise<string[]> {
    if (spec.autoMerge === 'off' || pull.autoMerge) return [];
    try {
      await this.octokit.graphql(ENABLE_AUTO_MERGE, {
        pullRequestId: pull.nodeId,
        mergeMethod: spec.autoMerge.toUpperCase(),
      });
      return [];
    } catch (error) {
      // GraphQL refusals come as a list of errors; say them on one line.
      const errors = (error as { errors?: Array<{ message?: string }> }).errors;
      const detail =
        errors?.map((item) => item.message).join('; ') || (error instanceof Error ? error.message : String(error));
      return [`auto-merge was not switched on for #${pull.number} in ${this.repository}: ${detail}`];
    }
  }

  async closePullRequest(pullRequest: PullRequest, comment: string): Promise<void> {
    await this.call(`commenting on #${pullRequest.number}`, () =>
      this.octokit.rest.issues.createComment({
        owner: this.owner,
        repo: this.repo,
        issue_number: pullRequest.number,
        body: comment,
      }),
    );
    await this.call(`closing #${pullRequest.number}`, () =>
      this.octokit.rest.pulls.update({
        owner: this.owner,
        repo: this.repo,
        pull_number: pullRequest.number,
        state: 'closed',
      }),
    );
  }

  async hasComment(pullRequest: PullRequest, key: string): Promise<boolean> {
    const marker = COMMENT_KEY(key);
    const comments = await this.call(`reading the comments of #${pullRequest.number}`, () =>
      this.octokit.paginate(this.octokit.rest.issues.listComments, {
        owner: this.owner,
        repo: this.repo,
        issue_number: pullRequest.number,
        per_page: 100,
      }),
    );
    return comments.some((comment) => comment.body?.includes(marker));
  }

  async ensureComment(pullRequest: PullRequest, key: string, body: string): Promise<'created' | 'exists'> {
    if (await this.hasComment(pullRequest, key)) return 'exists';
    await this.call(`commenting on #${pullRequest.number}`, () =>
      this.octokit.rest.issues.createComment({
        owner: this.owner,
        repo: this.repo,
        issue_number: pullRequest.number,
        body: `${body}\n\n${COMMENT_KEY(key)}\n`,
      }),
    );
    return 'created';
  }

  async upsertComment(pullRequest: PullRequest, key: string, body: string): Promise<WriteAction> {
    const marker = COMMENT_KEY(key);
    const text = `${body}\n\n${marker}\n`;
    const comments = await this.call(`reading the comments of #${pullRequest.number}`, () =>
      this.octokit.paginate(this.octokit.rest.issues.listComments, {
        owner: this.owner,
        repo: this.repo,
        issue_number: pullRequest.number,
        per_page: 100,
      }),
    );
    const found = comments.find((comment) => comment.body?.includes(marker));
    if (found?.body === text) return 'unchanged';
    if (found !== undefined) {
      await this.call(`editing a comment on #${pullRequest.number}`, () =>
        this.octokit.rest.issues.updateComment({
          owner: this.owner,
          repo: this.repo,
          comment_id: found.id,
          body: text,
        }),
      );
      return 'updated';
    }
    await this.call(`commenting on #${pullRequest.number}`, () =>
      this.octokit.rest.issues.createComment({
        owner: this.owner,
        repo: this.repo,
        issue_number: pullRequest.number,
        body: text,
      }),
    );
    return 'created';
  }

  async findMergedPullRequest(sha: string): Promise<PullRequest | undefined> {
    const { data } = await this.call(`looking for the pull request of commit ${sha.slice(0, 12)}`, () =>
      this.octokit.rest.repos.listPullRequestsAssociatedWithCommit({
        owner: this.owner,
        repo: this.repo,
        commit_sha: sha,
        per_page: 10,
      }),
    );
    const found = data.find((pull) => pull.merged_at !== null);
    return found === undefined ? undefined : toPullRequest(found);
  }

  /** A check run named for the hub: in progress while pending, then completed with success or failure; written when it differs. */
  async ensureCommitReport(sha: string, report: CommitReport): Promise<WriteAction> {
    const { data } = await this.call(`reading the check runs of commit ${sha.slice(0, 12)}`, () =>
      this.octokit.rest.checks.listForRef({
        owner: this.owner,
        repo: this.repo,
        ref: sha,
        check_name: report.name,
        filter: 'latest',
        per_page: 10,
      }),
    );
    const existing = data.check_runs.find((run) => run.name === report.name);
    const wanted =
      report.state === 'pending'
        ? { status: 'in_progress' as const }
        : {
            status: 'completed' as const,
            conclusion: report.state === 'success' ? ('success' as const) : ('failure' as const),
          };
    const output = { title: report.summary.slice(0, 255), summary: report.details.slice(0, 65_000) };
    if (existing !== undefined) {
      const same =
        existing.status === wanted.status &&
        (existing.conclusion ?? undefined) === ('conclusion' in wanted ? wanted.conclusion : undefined) &&
        existing.output.title === output.title &&
        existing.output.summary === output.summary;
      if (same) return 'unchanged';
      await this.call(`updating check run ${report.name} on ${sha.slice(0, 12)}`, () =>
        this.octokit.rest.checks.update({
          owner: this.owner,
          repo: this.repo,
          check_run_id: existing.id,
          ...wanted,
          output,
        }),
      );
      return 'updated';
    }
    await this.call(`creating check run ${report.name} on ${sha.slice(0, 12)}`, () =>
      this.octokit.rest.checks.create({
        owner: this.owner,
        repo: this.repo,
        name: report.name,
        head_sha: sha,
        ...wanted,
        output,
      }),
    );
    return 'created';
  }

  private async call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw forgeFailure(error, operation, this.repository);
    }
  }
}

function toPullRequest(pull: GitHubPull): PullRequest {
  return {
    number: pull.number,
    url: pull.html_url,
    title: pull.title,
    body: pull.body ?? '',
    labels: pull.labels.map((label) => label.name ?? '').filter((name) => name !== ''),
    headSha: pull.head.sha,
    state: pull.state === 'open' ? 'open' : 'closed',
    merged: pull.merged_at !== null,
    draft: pull.draft ?? false,
    autoMerge: pull.auto_merge !== null && pull.auto_merge !== undefined,
    nodeId: pull.node_id,
  };
}

export type GitHubOptions = Omit<OctokitOptions, 'auth'> & {
  credentials: CredentialProvider;
  /** The manifests repository as the hub names it; owner and repository come from it. */
  repoUrl: string;
};

/**
 * A GitHub pull-request client for one repository, from settings already resolved.
 * With `readOnly` (a dry run), every write throws in the client before it is sent.
 */
export function openGitHub(options: GitHubOptions): GitHubPullRequests {
  const octokit = createOctokit({
    ...options,
    auth: { type: 'credentials', credentials: options.credentials, repoUrl: options.repoUrl },
  });
  return new GitHubPullRequests(octokit, parseRepoUrl(options.repoUrl));
}
