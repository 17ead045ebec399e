import { createTwoFilesPatch } from 'diff';
import type { Author, ManifestsRepo } from '../git/manifests-repo.ts';
import type { FileChanges, TreeListing } from '../plan/types.ts';

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

/** Where a plan goes: a real push, or (dry run) a description of it on stdout. */
export interface Publisher {
  publish(request: PublishRequest): Promise<PublishResult>;
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
}

/**
 * Dry run as an adapter: nothing is committed or pushed. The per-node plan is printed
 * by the command's report; this prints the diff when asked.
 */
export class DryRunPublisher implements Publisher {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly withDiff: boolean,
  ) {}

  async publish(request: PublishRequest): Promise<PublishResult> {
    if (this.withDiff) await this.writeDiff(request);
    return { outcome: 'published', commit: undefined };
  }

  private async writeDiff({ repo, changes, existing }: PublishRequest): Promise<void> {
    const paths = [...new Set([...changes.writes.keys(), ...changes.deletes])].sort();
    const before = await repo.readBlobs(paths.map((file) => existing.get(file)).filter((id): id is string => id !== undefined));
    for (const file of paths) {
      const id = existing.get(file);
      const old = id === undefined ? '' : (before.get(id) ?? '');
      const next = changes.writes.get(file) ?? '';
      this.out.write(createTwoFilesPatch(id === undefined ? '/dev/null' : `a/${file}`, changes.writes.has(file) ? `b/${file}` : '/dev/null', old, next, '', '', { context: 3 }));
    }
  }
}
