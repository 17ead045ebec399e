import type { EnsureResult, PullRequest, PullRequestClient, PullRequestSpec } from './types.ts';

/**
 * Dry run as an adapter (Renovate's `local` platform in spirit): no request reaches the
 * forge. It knows no pull requests, so it reports what a sync would open, and writes
 * each action it would take to `out`.
 */
export class DryRunPullRequests implements PullRequestClient {
  readonly repository: string;

  constructor(
    private readonly out: NodeJS.WritableStream,
    repository: string,
    private readonly token: () => Promise<string | undefined> = async () => undefined,
  ) {
    this.repository = repository;
  }

  async findOpenPullRequest(): Promise<PullRequest | undefined> {
    return undefined;
  }

  async findClosedPullRequest(): Promise<PullRequest | undefined> {
    return undefined;
  }

  async ensurePullRequest(spec: PullRequestSpec): Promise<EnsureResult> {
    const extras = [spec.draft ? 'as a draft' : '', spec.labels.length > 0 ? `labels ${spec.labels.join(', ')}` : '', spec.autoMerge !== 'off' ? `auto-merge (${spec.autoMerge})` : '']
      .filter(Boolean)
      .join('; ');
    this.out.write(`dry run: would open or update the pull request from ${spec.branch} into ${spec.base} in ${this.repository}: ${spec.title}${extras ? ` (${extras})` : ''}\n`);
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

  async ensureComment(pullRequest: PullRequest): Promise<'created' | 'exists'> {
    this.out.write(`dry run: would comment on pull request #${pullRequest.number} in ${this.repository}\n`);
    return 'created';
  }

  /** A GitHub App's installation token may still be needed to read the repository with git. */
  gitToken(): Promise<string | undefined> {
    return this.token();
  }
}
