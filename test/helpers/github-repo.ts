import type { GitHubFake, FakeReply, FakeRequest } from './github-fake.ts';
import { serveGraphql } from './github-graphql.ts';
import { checkRun, issueComment, label, pullRequest, type StoredCheckRun, type StoredPull } from './github-objects.ts';
import { cloneWorkTree, revParse } from './git.ts';

type Body = Record<string, unknown>;

/**
 * One repository's pull requests, labels and comments on the GitHub fake, kept in
 * memory, with heads read from the real bare repository that the git side pushes to
 * (as GitHub tracks a pull request's branch). `merge` merges for real in that
 * repository, with GitHub's merge-commit or squash subject.
 */
export class FakeRepository {
  readonly pulls: StoredPull[] = [];
  readonly comments = new Map<number, Array<{ id: number; body: string }>>();
  readonly checkRuns: StoredCheckRun[] = [];
  /** Commits each merged pull request brought (its head and the merge commit), for GET …/commits/{sha}/pulls. */
  readonly mergedCommits = new Map<number, string[]>();
  private readonly labelIds = new Map<string, number>();
  private nextComment = 1;

  constructor(
    private readonly fake: GitHubFake,
    readonly owner: string,
    readonly name: string,
    private readonly bareDir: string,
  ) {
    const repo = '/repos/{owner}/{repo}';
    fake.on('GET', `${repo}/pulls`, (request) => this.guard(request, () => this.list(request)));
    fake.on('POST', `${repo}/pulls`, (request) => this.guard(request, () => this.create(request.body as Body)));
    fake.on('PATCH', `${repo}/pulls/{pull_number}`, (request) => this.guard(request, () => this.update(request)));
    fake.on('POST', `${repo}/pulls/{pull_number}/requested_reviewers`, (request) =>
      this.guard(request, () => this.requestReviewers(request)),
    );
    fake.on('POST', `${repo}/issues/{issue_number}/labels`, (request) =>
      this.guard(request, () => this.addLabels(request)),
    );
    fake.on('DELETE', `${repo}/issues/{issue_number}/labels/{name}`, (request) =>
      this.guard(request, () => this.removeLabel(request)),
    );
    fake.on('GET', `${repo}/issues/{issue_number}/comments`, (request) =>
      this.guard(request, () => this.listComments(request)),
    );
    fake.on('POST', `${repo}/issues/{issue_number}/comments`, (request) =>
      this.guard(request, () => this.comment(request)),
    );
  }

  /** The routes of deploy reports: check runs, the pull requests of a commit, editing a comment. */
  serveDeployReports(): void {
    const repo = '/repos/{owner}/{repo}';
    this.fake.on('GET', `${repo}/commits/{ref}/check-runs`, (request) =>
      this.guard(request, () => {
        const runs = this.checkRuns.filter(
          (run) =>
            run.headSha === request.params.ref &&
            (request.query.get('check_name') === null || run.name === request.query.get('check_name')),
        );
        return {
          status: 200,
          body: {
            total_count: runs.length,
            check_runs: [...runs].reverse().map((run) => checkRun(this.owner, this.name, run)),
          },
        };
      }),
    );
    this.fake.on('POST', `${repo}/check-runs`, (request) =>
      this.guard(request, () => {
        const body = request.body as {
          name: string;
          head_sha: string;
          status?: string;
          conclusion?: string;
          output?: { title: string; summary: string };
        };
        const run: StoredCheckRun = {
          id: 900 + this.checkRuns.length,
          name: body.name,
          headSha: body.head_sha,
          status: body.status ?? 'queued',
          conclusion: body.conclusion ?? null,
          title: body.output?.title ?? '',
          summary: body.output?.summary ?? '',
        };
        this.checkRuns.push(run);
        return { status: 201, body: checkRun(this.owner, this.name, run) };
      }),
    );
    this.fake.on('PATCH', `${repo}/check-runs/{check_run_id}`, (request) =>
      this.guard(request, () => {
        const run = this.checkRuns.find((candidate) => candidate.id === Number(request.params.check_run_id));
        if (run === undefined)
          return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
        const body = request.body as {
          status?: string;
          conclusion?: string;
          output?: { title: string; summary: string };
        };
        if (body.status !== undefined) run.status = body.status;
        run.conclusion = body.status === 'completed' ? (body.conclusion ?? null) : null;
        if (body.output !== undefined) Object.assign(run, { title: body.output.title, summary: body.output.summary });
        return { status: 200, body: checkRun(this.owner, this.name, run) };
      }),
    );
    this.fake.on('GET', `${repo}/commits/{commit_sha}/pulls`, (request) =>
      this.guard(request, async () => {
        const found = this.pulls.filter(
          (pull) =>
            pull.headSha === request.params.commit_sha ||
            (this.mergedCommits.get(pull.number) ?? []).includes(request.params.commit_sha!),
        );
        return { status: 200, body: await Promise.all(found.map((pull) => this.json(pull))) };
      }),
    );
    this.fake.on('PATCH', `${repo}/issues/comments/{comment_id}`, (request) =>
      this.guard(request, () => {
        const id = Number(request.params.comment_id);
        for (const [number, comments] of this.comments) {
          const comment = comments.find((candidate) => candidate.id === id);
          if (comment === undefined) continue;
          comment.body = String((request.body as { body: string }).body);
          return { status: 200, body: issueComment(this.owner, this.name, number, id, comment.body) };
        }
        return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
      }),
    );
  }

  /** GitHub's auto-merge, which only GraphQL can switch on; `refuse` answers as a repository that does not allow it. */
  serveAutoMerge(options: { refuse?: string } = {}): void {
    serveGraphql(this.fake, {
      enablePullRequestAutoMerge: ({ input }) => {
        const { pullRequestId, mergeMethod } = input as { pullRequestId: string; mergeMethod: string };
        if (options.refuse !== undefined) throw new Error(options.refuse);
        const pull = this.pull(Number(pullRequestId.replace(/^PR_/, '')));
        pull.autoMerge = mergeMethod.toLowerCase();
        return { pullRequest: { number: pull.number } };
      },
    });
  }

  pull(number: number): StoredPull {
    const found = this.pulls.find((pull) => pull.number === number);
    if (found === undefined) throw new Error(`no pull request #${number}`);
    return found;
  }

  open(): StoredPull[] {
    return this.pulls.filter((pull) => pull.state === 'open');
  }

  /** Merge on GitHub: a real merge (or squash) commit on the base branch, then the pull request is merged. */
  async merge(number: number, how: 'merge' | 'squash' = 'merge'): Promise<string> {
    const pull = this.pull(number);
    const work = await cloneWorkTree(this.bareDir, {
      env: { GIT_COMMITTER_NAME: 'GitHub', GIT_COMMITTER_EMAIL: 'noreply@github.com' },
    });
    try {
      await work.git('checkout', '--quiet', pull.base);
      if (how === 'merge') {
        await work.git(
          'merge',
          '--quiet',
          '--no-ff',
          `origin/${pull.head}`,
          '-m',
          `Merge pull request #${number} from ${this.owner}/${pull.head}`,
          '-m',
          pull.title,
        );
      } else {
        await work.git('merge', '--quiet', '--squash', `origin/${pull.head}`);
        await work.git('commit', '--quiet', '-m', `${pull.title} (#${number})`, '-m', pull.body);
      }
      await work.git('push', '--quiet', 'origin', pull.base);
      pull.state = 'closed';
      pull.merged = true;
      const merged = (await work.git('rev-parse', 'HEAD')).trim();
      this.mergedCommits.set(number, [pull.headSha, merged]);
      return merged;
    } finally {
      await work.cleanup();
    }
  }

  private async guard(request: FakeRequest, answer: () => FakeReply | Promise<FakeReply>): Promise<FakeReply> {
    if (request.params.owner !== this.owner || request.params.repo !== this.name)
      return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
    return answer();
  }

  private async json(pull: StoredPull): Promise<unknown> {
    return pullRequest(this.owner, this.name, pull, (name) => this.labelId(name));
  }

  private labelId(name: string): number {
    let id = this.labelIds.get(name);
    if (id === undefined) this.labelIds.set(name, (id = 500 + this.labelIds.size));
    return id;
  }

  /** Like GitHub: an open pull request follows its branch, and is closed when the branch is deleted. */
  private async refresh(pull: StoredPull): Promise<void> {
    if (pull.state !== 'open') return;
    const head = await revParse(this.bareDir, `refs/heads/${pull.head}`);
    if (head === undefined) pull.state = 'closed';
    else pull.headSha = head;
  }

  private async list(request: FakeRequest): Promise<FakeReply> {
    const state = request.query.get('state') ?? 'open';
    const head = request.query.get('head');
    const base = request.query.get('base');
    for (const pull of this.pulls) await this.refresh(pull);
    let found = this.pulls.filter(
      (pull) =>
        (state === 'all' || pull.state === state) &&
        (head === null || `${this.owner}:${pull.head}` === head) &&
        (base === null || pull.base === base),
    );
    if (request.query.get('direction') === 'desc' || request.query.get('sort') === 'updated')
      found = [...found].reverse();
    return { status: 200, body: await Promise.all(found.map((pull) => this.json(pull))) };
  }

  private async create(body: Body): Promise<FakeReply> {
    const head = String(body.head);
    const base = String(body.base);
    const headSha = await revParse(this.bareDir, `refs/heads/${head}`);
    const baseSha = await revParse(this.bareDir, `refs/heads/${base}`);
    if (headSha === undefined || baseSha === undefined) {
      return {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', field: headSha === undefined ? 'head' : 'base', code: 'invalid' }],
          documentation_url: 'https://docs.github.com/rest',
        },
      };
    }
    if (this.pulls.some((pull) => pull.state === 'open' && pull.head === head && pull.base === base)) {
      return {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [
            {
              resource: 'PullRequest',
              code: 'custom',
              message: `A pull request already exists for ${this.owner}:${head}.`,
            },
          ],
          documentation_url: 'https://docs.github.com/rest',
        },
      };
    }
    const pull: StoredPull = {
      number: this.pulls.length + 1,
      title: String(body.title ?? ''),
      body: String(body.body ?? ''),
      head,
      base,
      headSha,
      baseSha,
      state: 'open',
      merged: false,
      draft: body.draft === true,
      labels: [],
      reviewers: [],
      teams: [],
      autoMerge: undefined,
    };
    this.pulls.push(pull);
    return {
      status: 201,
      body: await this.json(pull),
      headers: { location: `https://api.github.com/repos/${this.owner}/${this.name}/pulls/${pull.number}` },
    };
  }

  private async update(request: FakeRequest): Promise<FakeReply> {
    const pull = this.pull(Number(request.params.pull_number));
    const body = (request.body ?? {}) as Body;
    if (typeof body.title === 'string') pull.title = body.title;
    if (typeof body.body === 'string') pull.body = body.body;
    if (body.state === 'closed' || body.state === 'open') pull.state = body.state;
    await this.refresh(pull);
    return { status: 200, body: await this.json(pull) };
  }

  private async requestReviewers(request: FakeRequest): Promise<FakeReply> {
    const pull = this.pull(Number(request.params.pull_number));
    const body = (request.body ?? {}) as { reviewers?: string[]; team_reviewers?: string[] };
    pull.reviewers.push(...(body.reviewers ?? []));
    pull.teams.push(...(body.team_reviewers ?? []));
    return { status: 201, body: await this.json(pull) };
  }

  private async addLabels(request: FakeRequest): Promise<FakeReply> {
    const pull = this.pull(Number(request.params.issue_number));
    for (const name of ((request.body ?? {}) as { labels?: string[] }).labels ?? [])
      if (!pull.labels.includes(name)) pull.labels.push(name);
    return { status: 200, body: pull.labels.map((name) => label(name, this.labelId(name))) };
  }

  private async removeLabel(request: FakeRequest): Promise<FakeReply> {
    const pull = this.pull(Number(request.params.issue_number));
    const name = request.params.name!;
    if (!pull.labels.includes(name))
      return {
        status: 404,
        body: { message: 'Label does not exist', documentation_url: 'https://docs.github.com/rest' },
      };
    pull.labels = pull.labels.filter((item) => item !== name);
    return { status: 200, body: pull.labels.map((item) => label(item, this.labelId(item))) };
  }

  private async listComments(request: FakeRequest): Promise<FakeReply> {
    const number = Number(request.params.issue_number);
    return {
      status: 200,
      body: (this.comments.get(number) ?? []).map((comment) =>
        issueComment(this.owner, this.name, number, comment.id, comment.body),
      ),
    };
  }

  private async comment(request: FakeRequest): Promise<FakeReply> {
    const number = Number(request.params.issue_number);
    const comment = { id: this.nextComment++, body: String(((request.body ?? {}) as Body).body ?? '') };
    this.comments.set(number, [...(this.comments.get(number) ?? []), comment]);
    return { status: 201, body: issueComment(this.owner, this.name, number, comment.id, comment.body) };
  }
}
