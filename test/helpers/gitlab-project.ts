import type { GitLabFake, GitLabReply, GitLabRequest } from './gitlab-fake.ts';
import { cloneWorkTree, revParse } from './git.ts';

type Body = Record<string, unknown>;

export type StoredMergeRequest = {
  id: number;
  iid: number;
  title: string;
  description: string;
  source: string;
  target: string;
  sha: string;
  state: 'opened' | 'closed' | 'merged';
  labels: string[];
  reviewerIds: number[];
  autoMerge: { squash: boolean; sha?: string } | undefined;
  /** Commits GitLab associates with it once merged: the source head and the merge commit. */
  commits: string[];
};

export type StoredStatus = { id: number; sha: string; name: string; status: string; description: string | null };

export type StoredUser = { id: number; username: string; name: string };

const STAMP = '2024-01-01T00:00:00.000Z';
const WEB = 'https://gitlab.example.test';

/**
 * One GitLab project's merge requests, notes and users on the GitLab fake, in memory,
 * with heads read from the real bare repository git pushes to (as GitLab tracks a merge
 * request's source branch). `merge` merges for real in that repository. The behaviour
 * follows GitLab's documentation: a second open merge request for the same source and
 * target branches is refused with 409; a draft's title starts with `Draft:`; a merge
 * with "merge when pipeline succeeds" on a project whose pipeline is running waits.
 */
export class FakeGitLabProject {
  readonly mergeRequests: StoredMergeRequest[] = [];
  readonly notes = new Map<number, Array<{ id: number; body: string; system: boolean }>>();
  readonly users: StoredUser[] = [
    { id: 11, username: 'alice', name: 'Alice' },
    { id: 12, username: 'bob', name: 'Bob' },
  ];
  readonly statuses: StoredStatus[] = [];
  private nextNote = 1;

  constructor(
    fake: GitLabFake,
    /** `group/project`, as in the repository URL. */
    readonly path: string,
    private readonly bareDir: string,
    readonly projectId = 42,
  ) {
    const mrs = '/projects/{id}/merge_requests';
    fake.on('GET', mrs, (request) => this.guard(request, () => this.list(request)));
    fake.on('POST', mrs, (request) => this.guard(request, () => this.create(request.body as Body)));
    fake.on('PUT', `${mrs}/{merge_request_iid}`, (request) => this.guard(request, () => this.update(request)));
    fake.on('PUT', `${mrs}/{merge_request_iid}/merge`, (request) => this.guard(request, () => this.autoMerge(request)));
    fake.on('GET', `${mrs}/{merge_request_iid}/notes`, (request) => this.guard(request, () => this.listNotes(request)));
    fake.on('POST', `${mrs}/{merge_request_iid}/notes`, (request) => this.guard(request, () => this.addNote(request)));
    fake.on('PUT', `${mrs}/{merge_request_iid}/notes/{note_id}`, (request) =>
      this.guard(request, () => this.editNote(request)),
    );
    fake.on('GET', '/projects/{id}/repository/commits/{sha}/statuses', (request) =>
      this.guard(request, () => this.listStatuses(request)),
    );
    fake.on('POST', '/projects/{id}/statuses/{sha}', (request) => this.guard(request, () => this.setStatus(request)));
    fake.on('GET', '/projects/{id}/repository/commits/{sha}/merge_requests', (request) =>
      this.guard(request, () => ({
        status: 200,
        body: this.mergeRequests
          .filter((mr) => mr.commits.includes(request.params.sha!) || mr.sha === request.params.sha)
          .map((mr) => this.json(mr)),
      })),
    );
    fake.on('GET', '/users', (request) => ({
      status: 200,
      body: this.users.filter((user) => user.username === request.query.get('username')).map((user) => userBasic(user)),
    }));
  }

  mr(iid: number): StoredMergeRequest {
    const found = this.mergeRequests.find((mr) => mr.iid === iid);
    if (found === undefined) throw new Error(`no merge request !${iid}`);
    return found;
  }

  /** Merge in GitLab: a real merge (or squash) commit on the target branch; the merge request is merged. */
  async merge(iid: number, how: 'merge' | 'squash' = 'merge'): Promise<string> {
    const mr = this.mr(iid);
    const work = await cloneWorkTree(this.bareDir, {
      env: { GIT_COMMITTER_NAME: 'GitLab', GIT_COMMITTER_EMAIL: 'gitlab@example.test' },
    });
    try {
      await work.git('checkout', '--quiet', mr.target);
      if (how === 'merge') {
        await work.git(
          'merge',
          '--quiet',
          '--no-ff',
          `origin/${mr.source}`,
          '-m',
          `Merge branch '${mr.source}' into '${mr.target}'`,
          '-m',
          mr.title,
          '-m',
          `See merge request ${this.path}!${iid}`,
        );
      } else {
        await work.git('merge', '--quiet', '--squash', `origin/${mr.source}`);
        await work.git('commit', '--quiet', '-m', mr.title);
      }
      await work.git('push', '--quiet', 'origin', mr.target);
      mr.state = 'merged';
      const merged = (await work.git('rev-parse', 'HEAD')).trim();
      mr.commits.push(mr.sha, merged);
      return merged;
    } finally {
      await work.cleanup();
    }
  }

  private guard(
    request: GitLabRequest,
    answer: () => GitLabReply | Promise<GitLabReply>,
  ): GitLabReply | Promise<GitLabReply> {
    const id = request.params.id;
    if (id !== this.path && id !== String(this.projectId))
      return { status: 404, body: { message: '404 Project Not Found' } };
    if (
      request.params.merge_request_iid !== undefined &&
      !this.mergeRequests.some((mr) => mr.iid === Number(request.params.merge_request_iid))
    ) {
      return { status: 404, body: { message: '404 Not found' } };
    }
    return answer();
  }

  /** An open merge request follows its source branch (GitLab updates `sha` on push). */
  private async refresh(mr: StoredMergeRequest): Promise<void> {
    if (mr.state !== 'opened') return;
    const head = await revParse(this.bareDir, `refs/heads/${mr.source}`);
    if (head !== undefined) mr.sha = head;
  }

  private json(mr: StoredMergeRequest) {
    const draft = /^draft:/i.test(mr.title);
    const author = userBasic({ id: 99, username: 'lynq-bot', name: 'Lynq bot' });
    return {
      id: 1000 + mr.iid,
      iid: mr.iid,
      project_id: this.projectId,
      title: mr.title,
      description: mr.description,
      state: mr.state,
      created_at: STAMP,
      updated_at: STAMP,
      merged_at: mr.state === 'merged' ? STAMP : null,
      closed_at: mr.state === 'closed' ? STAMP : null,
      target_branch: mr.target,
      source_branch: mr.source,
      author,
      reviewers: mr.reviewerIds.map((id) =>
        userBasic(this.users.find((user) => user.id === id) ?? { id, username: `user${id}`, name: `User ${id}` }),
      ),
      labels: [...mr.labels],
      draft,
      work_in_progress: draft,
      merge_when_pipeline_succeeds: mr.autoMerge !== undefined,
      detailed_merge_status: draft ? 'draft_status' : 'mergeable',
      sha: mr.sha,
      merge_commit_sha: null,
      squash_commit_sha: null,
      squash: mr.autoMerge?.squash ?? false,
      web_url: `${WEB}/${this.path}/-/merge_requests/${mr.iid}`,
      references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${this.path}!${mr.iid}` },
    };
  }

  private async list(request: GitLabRequest): Promise<GitLabReply> {
    const state = request.query.get('state') ?? 'all';
    const source = request.query.get('source_branch');
    const target = request.query.get('target_branch');
    for (const mr of this.mergeRequests) await this.refresh(mr);
    let found = this.mergeRequests.filter(
      (mr) =>
        (state === 'all' || mr.state === state) &&
        (source === null || mr.source === source) &&
        (target === null || mr.target === target),
    );
    // GitLab's default order is created_at desc; updated_at desc puts the last touched first.
    if ((request.query.get('sort') ?? 'desc') === 'desc') found = [...found].reverse();
    const perPage = Number(request.query.get('per_page') ?? 20);
    return { status: 200, body: found.slice(0, perPage).map((mr) => this.json(mr)), headers: { 'x-next-page': '' } };
  }

  private async create(body: Body): Promise<GitLabReply> {
    const source = String(body.source_branch);
    const target = String(body.target_branch);
    const sha = await revParse(this.bareDir, `refs/heads/${source}`);
    if (sha === undefined || (await revParse(this.bareDir, `refs/heads/${target}`)) === undefined) {
      return {
        status: 400,
        body: { message: { [sha === undefined ? 'source_branch' : 'target_branch']: ['is invalid'] } },
      };
    }
    const open = this.mergeRequests.find((mr) => mr.state === 'opened' && mr.source === source && mr.target === target);
    if (open !== undefined)
      return {
        status: 409,
        body: { message: [`Another open merge request already exists for this source branch: !${open.iid}`] },
      };
    const mr: StoredMergeRequest = {
      id: 1000 + this.mergeRequests.length + 1,
      iid: this.mergeRequests.length + 1,
      title: String(body.title),
      description: String(body.description ?? ''),
      source,
      target,
      sha,
      state: 'opened',
      labels: typeof body.labels === 'string' ? splitLabels(body.labels) : [],
      reviewerIds: Array.isArray(body.reviewer_ids) ? (body.reviewer_ids as number[]) : [],
      autoMerge: undefined,
      commits: [],
    };
    this.mergeRequests.push(mr);
    return { status: 201, body: this.json(mr) };
  }

  private async update(request: GitLabRequest): Promise<GitLabReply> {
    const mr = this.mr(Number(request.params.merge_request_iid));
    const body = (request.body ?? {}) as Body;
    if (typeof body.title === 'string') mr.title = body.title;
    if (typeof body.description === 'string') mr.description = body.description;
    if (typeof body.labels === 'string') mr.labels = splitLabels(body.labels);
    if (typeof body.add_labels === 'string')
      for (const label of splitLabels(body.add_labels)) if (!mr.labels.includes(label)) mr.labels.push(label);
    if (typeof body.remove_labels === 'string')
      mr.labels = mr.labels.filter((label) => !splitLabels(body.remove_labels as string).includes(label));
    if (Array.isArray(body.reviewer_ids)) mr.reviewerIds = body.reviewer_ids as number[];
    if (body.state_event === 'close' && mr.state === 'opened') mr.state = 'closed';
    if (body.state_event === 'reopen' && mr.state === 'closed') mr.state = 'opened';
    await this.refresh(mr);
    return { status: 200, body: this.json(mr) };
  }

  /** "Merge when pipeline succeeds": this project's pipeline is always running, so GitLab waits (it merges at once only without one). */
  private async autoMerge(request: GitLabRequest): Promise<GitLabReply> {
    const mr = this.mr(Number(request.params.merge_request_iid));
    const body = (request.body ?? {}) as Body;
    await this.refresh(mr);
    if (mr.state !== 'opened') return { status: 422, body: { message: 'Branch cannot be merged' } };
    if (/^draft:/i.test(mr.title)) return { status: 405, body: { message: '405 Method Not Allowed' } };
    if (typeof body.sha === 'string' && body.sha !== mr.sha)
      return { status: 409, body: { message: 'SHA does not match HEAD of source branch' } };
    if (body.merge_when_pipeline_succeeds !== true && body.auto_merge !== true)
      return { status: 422, body: { message: 'the fake merges only when the pipeline succeeds' } };
    mr.autoMerge = { squash: body.squash === true, ...(typeof body.sha === 'string' ? { sha: body.sha } : {}) };
    return { status: 200, body: this.json(mr) };
  }

  private listNotes(request: GitLabRequest): GitLabReply {
    const iid = Number(request.params.merge_request_iid);
    const notes = this.notes.get(iid) ?? [];
    const ordered = request.query.get('sort') === 'asc' ? notes : [...notes].reverse();
    return { status: 200, body: ordered.map((note) => this.noteJson(iid, note)), headers: { 'x-next-page': '' } };
  }

  private addNote(request: GitLabRequest): GitLabReply {
    const iid = Number(request.params.merge_request_iid);
    const note = { id: this.nextNote++, body: String(((request.body ?? {}) as Body).body ?? ''), system: false };
    this.notes.set(iid, [...(this.notes.get(iid) ?? []), note]);
    return { status: 201, body: this.noteJson(iid, note) };
  }

  private editNote(request: GitLabRequest): GitLabReply {
    const iid = Number(request.params.merge_request_iid);
    const note = (this.notes.get(iid) ?? []).find((candidate) => candidate.id === Number(request.params.note_id));
    if (note === undefined) return { status: 404, body: { message: '404 Note Not Found' } };
    note.body = String(((request.body ?? {}) as Body).body);
    return { status: 200, body: this.noteJson(iid, note) };
  }

  private listStatuses(request: GitLabRequest): GitLabReply {
    const name = request.query.get('name');
    let found = this.statuses.filter(
      (status) => status.sha === request.params.sha && (name === null || status.name === name),
    );
    if (request.query.get('sort') === 'desc') found = [...found].reverse();
    return { status: 200, body: found.map((status) => statusJson(status)) };
  }

  /** As GitLab: a status in the state the named one already has is refused (no transition). */
  private setStatus(request: GitLabRequest): GitLabReply {
    const body = (request.body ?? {}) as Body;
    const sha = request.params.sha!;
    const name = String(body.name ?? 'default');
    const latest = this.statuses.filter((status) => status.sha === sha && status.name === name).at(-1);
    if (latest !== undefined && latest.status === body.state)
      return {
        status: 400,
        body: { message: `Cannot transition status via :${String(body.state)} from :${latest.status}` },
      };
    const status: StoredStatus = {
      id: 700 + this.statuses.length,
      sha,
      name,
      status: String(body.state),
      description: typeof body.description === 'string' ? body.description : null,
    };
    this.statuses.push(status);
    return { status: 201, body: statusJson(status) };
  }

  /** A note a person (or GitLab itself) left, to see that the bridge leaves it alone. */
  addForeignNote(iid: number, body: string, system = false): void {
    this.notes.set(iid, [...(this.notes.get(iid) ?? []), { id: this.nextNote++, body, system }]);
  }

  private noteJson(iid: number, note: { id: number; body: string; system: boolean }) {
    return {
      id: note.id,
      type: null,
      body: note.body,
      author: userBasic({ id: 99, username: 'lynq-bot', name: 'Lynq bot' }),
      created_at: STAMP,
      updated_at: STAMP,
      system: note.system,
      noteable_id: 1000 + iid,
      noteable_type: 'MergeRequest',
      noteable_iid: iid,
      resolvable: false,
      internal: false,
    };
  }
}

function statusJson(status: StoredStatus) {
  const finished = ['success', 'failed', 'canceled', 'skipped'].includes(status.status);
  return {
    id: status.id,
    sha: status.sha,
    ref: 'main',
    status: status.status,
    name: status.name,
    target_url: null,
    description: status.description,
    created_at: STAMP,
    started_at: status.status === 'pending' ? null : STAMP,
    finished_at: finished ? STAMP : null,
    allow_failure: false,
    coverage: null,
    author: userBasic({ id: 99, username: 'lynq-bot', name: 'Lynq bot' }),
  };
}

function userBasic(user: StoredUser) {
  return {
    id: user.id,
    username: user.username,
    name: user.name,
    state: 'active',
    locked: false,
    avatar_url: null,
    web_url: `${WEB}/${user.username}`,
  };
}

function splitLabels(labels: string): string[] {
  return labels
    .split(',')
    .map((label) => label.trim())
    .filter((label) => label !== '');
}
