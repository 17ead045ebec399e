import type { PushOutcome } from './repo-types.ts';
import type { RunResult } from './git.ts';
import type { CloneGit, CloneTurns } from './repo-git.ts';

/** A remote head asked before the clone is ready (RepoOptions.branch). */
export type EarlyHead = { branch: string; result: Promise<RunResult | undefined> };

/**
 * The clone and its remote: a branch's head, fetched only when the clone lacks it; a push
 * or a branch deletion leased on the head the sync saw, decided by state (a head that
 * moved is a race, `moved`), never by git's wording. Changes take their turn at the lock.
 */
export class RemoteBranches {
  constructor(
    private readonly git: CloneGit,
    private readonly turns: CloneTurns,
    /**
     * Commits the clone is known to hold (its refs' as its open found them, then each
     * commit fetched or built here), so a fetch can tell it has the remote head without
     * asking git: the open checked every ref's commit, and gc prunes only what nothing
     * reaches, weeks later.
     */
    private readonly held: Set<string>,
    /**
     * The remote head asked while the clone was opened, for the first fetch of that branch
     * only. In a box that is emptied, not a field that is reassigned: a wrapper made with
     * Object.create(repo) would set its own field and leave this one to be used again.
     */
    private readonly early: { head?: EarlyHead },
  ) {}

  async fetch(branch: string): Promise<string | undefined> {
    const head = await this.remoteHead(branch);
    if (head === undefined) return undefined;
    // Already have it (no-op syncs, a read-back after a push): skip the fetch.
    if (!this.held.has(head) && (await this.git.run(['cat-file', '-e', `${head}^{commit}`])).code !== 0) {
      const fetched = await this.turns.locked(() =>
        this.git.run([
          'fetch',
          '--no-tags',
          '--quiet',
          'origin',
          `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
        ]),
      );
      if (fetched.code !== 0) throw this.git.failure(`fetching ${branch} from ${this.git.url}`, fetched);
    }
    this.held.add(head);
    return head;
  }

  private async remoteHead(branch: string): Promise<string | undefined> {
    const asked = this.early.head;
    this.early.head = undefined;
    const early = asked?.branch === branch ? await asked.result : undefined;
    const result =
      early?.code === 0 ? early : await this.git.run(['ls-remote', '--heads', 'origin', `refs/heads/${branch}`]);
    if (result.code !== 0) throw this.git.failure(`reading ${this.git.url}`, result);
    const line = result.stdout
      .toString('utf8')
      .split('\n')
      .find((item) => item.endsWith(`\trefs/heads/${branch}`));
    return line?.split('\t')[0];
  }

  push(commit: string, branch: string, expected: string | undefined): Promise<PushOutcome> {
    return this.turns.locked(() => this.pushLocked(commit, branch, expected));
  }

  private async pushLocked(commit: string, branch: string, expected: string | undefined): Promise<PushOutcome> {
    // The lease makes "the remote is still at `expected`" part of the push: a branch that
    // was rewound or deleted since our fetch is a race too, never silently overwritten.
    const lease = `--force-with-lease=refs/heads/${branch}:${expected ?? ''}`;
    const result = await this.git.run(['push', '--porcelain', lease, 'origin', `${commit}:refs/heads/${branch}`]);
    if (result.code === 0) {
      await this.git.run(['update-ref', `refs/remotes/origin/${branch}`, commit]);
      return 'pushed';
    }
    return this.pushFailed(result, branch, expected, 'pushing to');
  }

  deleteBranch(branch: string, expected: string): Promise<PushOutcome> {
    return this.turns.locked(() => this.deleteBranchLocked(branch, expected));
  }

  private async deleteBranchLocked(branch: string, expected: string): Promise<PushOutcome> {
    const result = await this.git.run([
      'push',
      '--porcelain',
      `--force-with-lease=refs/heads/${branch}:${expected}`,
      'origin',
      `:refs/heads/${branch}`,
    ]);
    if (result.code === 0) {
      await this.git.run(['update-ref', '-d', `refs/remotes/origin/${branch}`]);
      return 'pushed';
    }
    return this.pushFailed(result, branch, expected, 'deleting');
  }

  /** Decide by state, not by git's wording: if the remote head moved, it was a race. */
  private async pushFailed(
    result: RunResult,
    branch: string,
    expected: string | undefined,
    action: string,
  ): Promise<PushOutcome> {
    const now = await this.remoteHead(branch);
    if (now !== expected) return 'moved';
    const status = result.stdout
      .toString('utf8')
      .split('\n')
      .find((line) => line.startsWith('!'));
    throw this.git.failure(`${action} ${branch} of ${this.git.url}`, {
      stderr: [status, result.stderr].filter(Boolean).join('\n'),
    });
  }
}
