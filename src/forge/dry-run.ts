import { describeChanges, hasChanges, pullRequestChanges } from './pull-request-changes.ts';
import type {
  CommitReport,
  EnsureResult,
  PullRequest,
  PullRequestClient,
  PullRequestSpec,
  WriteAction,
} from './types.ts';

/**
 * Dry run as an adapter (Renovate's `local` platform in spirit). With a `reader` (the
 * real client, made read-only: its every write throws before it is sent), it reads what
 * exists, so it says "would update #12", and meets the refusal a sync would meet (a
 * token that cannot read the repository fails the dry run too). Without one (no
 * credentials), it knows no pull requests and says what a sync would open or update.
 * Each action it would take goes to `out`; none is taken.
 */
export class DryRunPullRequests implements PullRequestClient {
  readonly repository: string;

  constructor(
    private readonly out: NodeJS.WritableStream,
    repository: string,
    private readonly reader: PullRequestClient | undefined,
  ) {
    this.repository = repository;
  }

  async findOpenPullRequest(branch: string, base: string): Promise<PullRequest | undefined> {
    return this.reader?.findOpenPullRequest(branch, base);
  }

  async findClosedPullRequest(branch: string, base: string, headSha: string): Promise<PullRequest | undefined> {
    return this.reader?.findClosedPullRequest(branch, base, headSha);
  }

  async ensurePullRequest(spec: PullRequestSpec, existing: PullRequest | undefined): Promise<EnsureResult> {
    const between = `from ${spec.branch} into ${spec.base} in ${this.repository}`;
    if (existing !== undefined) {
      const changes = pullRequestChanges(spec, existing);
      if (!hasChanges(changes)) {
        this.out.write(`dry run: pull request #${existing.number} ${between} already says this: ${spec.title}\n`);
        return { action: 'unchanged', pullRequest: existing, warnings: [] };
      }
      this.out.write(
        `dry run: would update pull request #${existing.number} ${between} (${describeChanges(changes)}): ${spec.title}\n`,
      );
      const labels = [
        ...existing.labels.filter((label) => !changes.removeLabels.includes(label)),
        ...changes.addLabels,
      ];
      return {
        action: 'updated',
        pullRequest: {
          ...existing,
          title: spec.title,
          body: spec.body,
          labels,
          autoMerge: existing.autoMerge || spec.autoMerge !== 'off',
        },
        warnings: [],
      };
    }
    const extras = [
      spec.draft ? 'as a draft' : '',
      spec.labels.length > 0 ? `labels ${spec.labels.join(', ')}` : '',
      spec.autoMerge !== 'off' ? `auto-merge (${spec.autoMerge})` : '',
    ]
      .filter(Boolean)
      .join('; ');
    // Offline, an open pull request may exist unseen: the wording says so.
    const verb = this.reader === undefined ? 'would open or update the pull request' : 'would open a pull request';
    this.out.write(`dry run: ${verb} ${between}: ${spec.title}${extras ? ` (${extras})` : ''}\n`);
    const pullRequest: PullRequest = {
      number: 0,
      url: '',
      title: spec.title,
      body: spec.body,
      labels: [...spec.labels],
      headSha: '',
      state: 'open',
      merged: false,
      draft: spec.draft,
      autoMerge: spec.autoMerge !== 'off',
      nodeId: '',
    };
    return { action: 'created', pullRequest, warnings: [] };
  }

  async closePullRequest(pullRequest: PullRequest): Promise<void> {
    this.out.write(`dry run: would close pull request #${pullRequest.number} in ${this.repository}\n`);
  }

  async hasComment(pullRequest: PullRequest, key: string): Promise<boolean> {
    return (await this.reader?.hasComment(pullRequest, key)) ?? false;
  }

  async upsertComment(pullRequest: PullRequest): Promise<WriteAction> {
    this.out.write(`dry run: would write a comment on pull request #${pullRequest.number} in ${this.repository}\n`);
    return 'updated';
  }

  async findMergedPullRequest(sha: string): Promise<PullRequest | undefined> {
    return this.reader?.findMergedPullRequest(sha);
  }

  async ensureCommitReport(sha: string, report: CommitReport): Promise<WriteAction> {
    this.out.write(
      `dry run: would report ${report.name} ${report.state} on ${sha.slice(0, 12)} in ${this.repository}\n`,
    );
    return 'updated';
  }

  async ensureComment(pullRequest: PullRequest, key: string): Promise<'created' | 'exists'> {
    if (await this.hasComment(pullRequest, key)) return 'exists';
    this.out.write(`dry run: would comment on pull request #${pullRequest.number} in ${this.repository}\n`);
    return 'created';
  }
}
