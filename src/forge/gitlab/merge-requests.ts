import { pullRequestChanges } from '../pull-request-changes.ts';
import type {
  CommitReport,
  EnsureResult,
  PullRequest,
  PullRequestClient,
  PullRequestSpec,
  WriteAction,
} from '../types.ts';
import { GitLabClient, gitLabFailure, statusOf, type GitLabOptions } from './client.ts';
import { projectPath } from './project-path.ts';

/** The fields of GitLab's merge-request objects that the bridge reads. */
type GitLabMergeRequest = {
  id: number;
  iid: number;
  web_url: string;
  title: string;
  description: string | null;
  labels: string[];
  sha: string | null;
  source_branch: string;
  target_branch: string;
  state: string;
  draft?: boolean;
  merge_when_pipeline_succeeds?: boolean;
};

type GitLabNote = { id: number; body: string; system?: boolean };

type GitLabCommitStatus = { id: number; name: string; status: string; description: string | null };

/** A deploy result as a commit status: `pending` while nodes roll out, then `success` or `failed`. */
const STATUS_STATE: Record<CommitReport['state'], string> = {
  pending: 'pending',
  success: 'success',
  failure: 'failed',
};

const COMMENT_KEY = (key: string) => `<!-- lynq:comment ${key} -->`;

/** GitLab marks a draft by its title; the bridge compares titles without the mark. */
const DRAFT_PREFIX = /^\s*(?:\[draft\]|\(draft\)|draft:|draft\s*-)\s*/i;

/**
 * Merge requests on GitLab (gitlab.com or self-managed) through the REST API v4: the
 * same contract as GitHub's pull requests, the GitLab way (one PUT carries title,
 * description and label changes; drafts are a `Draft:` title; auto-merge is "merge when
 * the pipeline succeeds"; reviewers are user ids).
 */
export class GitLabMergeRequests implements PullRequestClient {
  readonly repository: string;
  private readonly base: string;
  private readonly project: string;

  constructor(
    private readonly api: GitLabClient,
    project: string,
  ) {
    this.repository = project;
    this.project = `/projects/${encodeURIComponent(project)}`;
    this.base = `${this.project}/merge_requests`;
  }

  async findOpenPullRequest(branch: string, base: string): Promise<PullRequest | undefined> {
    const { data } = await this.call(`looking for the open merge request from ${branch}`, () =>
      this.api.get<GitLabMergeRequest[]>(this.base, {
        state: 'opened',
        source_branch: branch,
        target_branch: base,
        per_page: 10,
      }),
    );
    const found = data.find((mr) => mr.source_branch === branch && mr.target_branch === base);
    return found === undefined ? undefined : toPullRequest(found);
  }

  async findClosedPullRequest(branch: string, base: string, headSha: string): Promise<PullRequest | undefined> {
    // `closed` on GitLab is closed without merging; merged ones have their own state.
    const { data } = await this.call(`looking for closed merge requests from ${branch}`, () =>
      this.api.get<GitLabMergeRequest[]>(this.base, {
        state: 'closed',
        source_branch: branch,
        target_branch: base,
        order_by: 'updated_at',
        sort: 'desc',
        per_page: 20,
      }),
    );
    const found = data.find((mr) => mr.source_branch === branch && mr.sha === headSha);
    return found === undefined ? undefined : toPullRequest(found);
  }

  async ensurePullRequest(spec: PullRequestSpec, existing: PullRequest | undefined): Promise<EnsureResult> {
    if (existing !== undefined) return this.update(spec, existing);
    const warnings: string[] = [];
    const reviewerIds = await this.reviewerIds(spec.reviewers, warnings);
    let created: PullRequest;
    try {
      const { data } = await this.api.post<GitLabMergeRequest>(this.base, {
        source_branch: spec.branch,
        target_branch: spec.base,
        title: spec.draft ? `Draft: ${spec.title}` : spec.title,
        description: spec.body,
        ...(spec.labels.length > 0 ? { labels: spec.labels.join(',') } : {}),
        ...(reviewerIds.length > 0 ? { reviewer_ids: reviewerIds } : {}),
      });
      created = toPullRequest(data);
    } catch (error) {
      // A create retried after a 5xx may have worked the first time: GitLab then says 409.
      const already = statusOf(error) === 409 ? await this.findOpenPullRequest(spec.branch, spec.base) : undefined;
      if (already === undefined)
        throw gitLabFailure(error, `opening a merge request from ${spec.branch} into ${spec.base}`, this.repository);
      return this.update(spec, already);
    }
    warnings.push(...(await this.ensureAutoMerge(spec, created)));
    return { action: 'created', pullRequest: created, warnings };
  }

  private async update(spec: PullRequestSpec, existing: PullRequest): Promise<EnsureResult> {
    let pull = existing;
    let action: EnsureResult['action'] = 'unchanged';
    const changes = pullRequestChanges(spec, existing);
    const removeLabels = changes.removeLabels.filter((name) => existing.labels.includes(name));
    const put: Record<string, string> = {};
    // A draft stays a draft until a person marks it ready: keep the mark on a new title.
    if (changes.title !== undefined) put.title = existing.draft ? `Draft: ${changes.title}` : changes.title;
    if (changes.body !== undefined) put.description = changes.body;
    if (changes.addLabels.length > 0) put.add_labels = changes.addLabels.join(',');
    if (removeLabels.length > 0) put.remove_labels = removeLabels.join(',');
    if (Object.keys(put).length > 0) {
      const { data } = await this.call(`updating merge request !${existing.number}`, () =>
        this.api.put<GitLabMergeRequest>(`${this.base}/${existing.number}`, put),
      );
      pull = toPullRequest(data);
      action = 'updated';
    }
    const warnings = await this.ensureAutoMerge(spec, pull);
    if (changes.autoMerge !== undefined && !pull.autoMerge && warnings.length === 0) action = 'updated';
    return { action, pullRequest: pull, warnings };
  }

  /** Usernames to user ids (`GET /users?username=`); one that GitLab does not know is a warning, not a failure. */
  private async reviewerIds(usernames: readonly string[], warnings: string[]): Promise<number[]> {
    const ids: number[] = [];
    for (const username of usernames) {
      const { data } = await this.call(`looking up reviewer ${username}`, () =>
        this.api.get<Array<{ id: number; username: string }>>('/users', { username }),
      );
      const user = data.find((candidate) => candidate.username.toLowerCase() === username.toLowerCase());
      if (user === undefined)
        warnings.push(
          `reviewer ${username} is not a GitLab user that this token can see; not asked for review in ${this.repository}`,
        );
      else ids.push(user.id);
    }
    return ids;
  }

  /**
   * "Merge when the pipeline succeeds" (GitLab 17.11 calls it auto-merge), for the head
   * the bridge pushed (`sha`), so a later push by someone else is not merged unseen. A
   * refusal (a draft, conflicts, not allowed) is a warning.
   */
  private async ensureAutoMerge(spec: PullRequestSpec, pull: PullRequest): Promise<string[]> {
    if (spec.autoMerge === 'off' || pull.autoMerge || pull.merged) return [];
    try {
      await this.api.put<GitLabMergeRequest>(`${this.base}/${pull.number}/merge`, {
        merge_when_pipeline_succeeds: true,
        squash: spec.autoMerge === 'squash',
        ...(pull.headSha !== '' ? { sha: pull.headSha } : {}),
      });
      return [];
    } catch (error) {
      return [
        `auto-merge was not switched on for !${pull.number} in ${this.repository}: ${gitLabFailure(error, 'setting merge when the pipeline succeeds', this.repository).detail}`,
      ];
    }
  }

  async closePullRequest(pullRequest: PullRequest, comment: string): Promise<void> {
    await this.call(`commenting on !${pullRequest.number}`, () =>
      this.api.post(`${this.base}/${pullRequest.number}/notes`, { body: comment }),
    );
    await this.call(`closing !${pullRequest.number}`, () =>
      this.api.put(`${this.base}/${pullRequest.number}`, { state_event: 'close' }),
    );
  }

  async hasComment(pullRequest: PullRequest, key: string): Promise<boolean> {
    const marker = COMMENT_KEY(key);
    const notes = await this.call(`reading the comments of !${pullRequest.number}`, () =>
      this.api.all<GitLabNote>(`${this.base}/${pullRequest.number}/notes`, { sort: 'asc', order_by: 'created_at' }),
    );
    return notes.some((note) => note.body.includes(marker));
  }

  async ensureComment(pullRequest: PullRequest, key: string, body: string): Promise<'created' | 'exists'> {
    if (await this.hasComment(pullRequest, key)) return 'exists';
    await this.call(`commenting on !${pullRequest.number}`, () =>
      this.api.post(`${this.base}/${pullRequest.number}/notes`, { body: `${body}\n\n${COMMENT_KEY(key)}\n` }),
    );
    return 'created';
  }

  async upsertComment(pullRequest: PullRequest, key: string, body: string): Promise<WriteAction> {
    const marker = COMMENT_KEY(key);
    const text = `${body}\n\n${marker}\n`;
    const notes = await this.call(`reading the comments of !${pullRequest.number}`, () =>
      this.api.all<GitLabNote>(`${this.base}/${pullRequest.number}/notes`, { sort: 'asc', order_by: 'created_at' }),
    );
    const found = notes.find((note) => !note.system && note.body.includes(marker));
    if (found?.body === text) return 'unchanged';
    if (found !== undefined) {
      await this.call(`editing a comment on !${pullRequest.number}`, () =>
        this.api.put(`${this.base}/${pullRequest.number}/notes/${found.id}`, { body: text }),
      );
      return 'updated';
    }
    await this.call(`commenting on !${pullRequest.number}`, () =>
      this.api.post(`${this.base}/${pullRequest.number}/notes`, { body: text }),
    );
    return 'created';
  }

  async findMergedPullRequest(sha: string): Promise<PullRequest | undefined> {
    const { data } = await this.call(`looking for the merge request of commit ${sha.slice(0, 12)}`, () =>
      this.api.get<GitLabMergeRequest[]>(`${this.project}/repository/commits/${sha}/merge_requests`, { per_page: 10 }),
    );
    const found = data.find((mr) => mr.state === 'merged');
    return found === undefined ? undefined : toPullRequest(found);
  }

  /**
   * A commit status named for the hub, sent when its state differs from GitLab's latest
   * one of that name. GitLab refuses a status in the state it already has, so a changed
   * summary alone waits for the next change of state.
   */
  async ensureCommitReport(sha: string, report: CommitReport): Promise<WriteAction> {
    const { data } = await this.call(`reading the statuses of commit ${sha.slice(0, 12)}`, () =>
      this.api.get<GitLabCommitStatus[]>(`${this.project}/repository/commits/${sha}/statuses`, {
        name: report.name,
        order_by: 'id',
        sort: 'desc',
        per_page: 10,
      }),
    );
    const existing = data.find((status) => status.name === report.name);
    const state = STATUS_STATE[report.state];
    if (existing?.status === state) return 'unchanged';
    await this.call(`setting status ${report.name} on ${sha.slice(0, 12)}`, () =>
      this.api.post(`${this.project}/statuses/${sha}`, {
        state,
        name: report.name,
        description: report.summary.slice(0, 255),
      }),
    );
    return existing === undefined ? 'created' : 'updated';
  }

  private async call<T>(operation: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw gitLabFailure(error, operation, this.repository);
    }
  }
}

function toPullRequest(mr: GitLabMergeRequest): PullRequest {
  const draft = mr.draft ?? DRAFT_PREFIX.test(mr.title);
  return {
    number: mr.iid,
    url: mr.web_url,
    title: draft ? mr.title.replace(DRAFT_PREFIX, '') : mr.title,
    body: mr.description ?? '',
    labels: [...mr.labels],
    headSha: mr.sha ?? '',
    state: mr.state === 'opened' || mr.state === 'locked' ? 'open' : 'closed',
    merged: mr.state === 'merged',
    draft,
    autoMerge: mr.merge_when_pipeline_succeeds === true,
    nodeId: String(mr.id),
  };
}

/** A merge-request client for the project at `repoUrl`; with `readOnly` (a dry run), every write throws before it is sent. */
export function openGitLab(options: GitLabOptions): GitLabMergeRequests {
  return new GitLabMergeRequests(new GitLabClient(options), projectPath(options.repoUrl));
}
