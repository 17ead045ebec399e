import type { Author, ManifestsRepo, PushOutcome } from '../git/manifests-repo.ts';
import type { FileChanges, TreeListing } from '../plan/types.ts';
import { unifiedDiff } from './diff-text.ts';

export type PublishRequest = {
  repo: ManifestsRepo;
  /** The hub whose nodes these are. */
  hub: string;
  changes: FileChanges;
  /** The head the plan was made against, and what Git had then under the hub's folders. */
  head: string | undefined;
  existing: TreeListing;
  branch: string;
  message: string;
  author: Author;
};

export type PublishResult = { outcome: 'published'; commit: string | undefined } | { outcome: 'moved' };

/** A bot-branch commit, already built, to be pushed over the branch's current head. */
export type BranchPushRequest = {
  repo: ManifestsRepo;
  branch: string;
  commit: string;
  /** The branch head it replaces (undefined: the branch does not exist yet). */
  expected: string | undefined;
  /** For a dry run's diff: the changes the commit carries, and what the target had. */
  changes: FileChanges;
  existing: TreeListing;
};

export type BranchDeleteRequest = { repo: ManifestsRepo; branch: string; expected: string };

/**
 * Where a plan's writes go: real pushes, or (dry run) a description of them on stdout.
 * Everything else a sync does (reading, planning, building commits in the cache clone)
 * is the same in both.
 */
export interface Publisher {
  /** Commit the changes on the target branch and push. */
  publish(request: PublishRequest): Promise<PublishResult>;
  /** Force-push a bot branch, with a lease on its current head. */
  pushBranch(request: BranchPushRequest): Promise<PushOutcome>;
  deleteBranch(request: BranchDeleteRequest): Promise<PushOutcome>;
}

export class PushPublisher implements Publisher {
  constructor(private readonly clock: () => number) {}

  async publish(request: PublishRequest): Promise<PublishResult> {
    const commit = await request.repo.commit({
      parent: request.head,
      writes: request.changes.writes,
      deletes: request.changes.deletes,
      message: request.message,
      author: request.author,
      time: this.clock() / 1000,
    });
    const pushed = await request.repo.push(commit, request.branch, request.head);
    return pushed === 'pushed' ? { outcome: 'published', commit } : { outcome: 'moved' };
  }

  pushBranch(request: BranchPushRequest): Promise<PushOutcome> {
    // push() leases on `expected`: another push to the bot branch since our fetch is a race, not overwritten.
    return request.repo.push(request.commit, request.branch, request.expected);
  }

  deleteBranch(request: BranchDeleteRequest): Promise<PushOutcome> {
    return request.repo.deleteBranch(request.branch, request.expected);
  }
}

/**
 * Dry run as an adapter: nothing is committed or pushed. The per-node plan is printed
 * by the command's report; this prints the diff when asked, and the branch actions.
 */
export class DryRunPublisher implements Publisher {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly withDiff: boolean,
  ) {}

  async publish(request: PublishRequest): Promise<PublishResult> {
    if (this.withDiff) await this.writeDiff(request.repo, request.changes, request.existing);
    return { outcome: 'published', commit: undefined };
  }

  async pushBranch(request: BranchPushRequest): Promise<PushOutcome> {
    this.out.write(
      `dry run: would push the pull-request branch ${request.branch}${request.expected === undefined ? ' (new)' : ''}\n`,
    );
    if (this.withDiff) await this.writeDiff(request.repo, request.changes, request.existing);
    return 'pushed';
  }

  async deleteBranch(request: BranchDeleteRequest): Promise<PushOutcome> {
    this.out.write(`dry run: would delete the branch ${request.branch}\n`);
    return 'pushed';
  }

  private async writeDiff(repo: ManifestsRepo, changes: FileChanges, existing: TreeListing): Promise<void> {
    this.out.write((await unifiedDiff(changes, existing, (ids) => repo.readBlobs(ids))).text);
  }
}
