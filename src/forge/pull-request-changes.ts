import type { AutoMerge, PullRequest, PullRequestSpec } from './types.ts';

/**
 * What `ensurePullRequest` would change on an open pull request: worked out in one
 * place so the GitHub client (which makes the changes) and the dry run (which says
 * "would update #12") cannot disagree.
 */
export type PullRequestChanges = {
  title?: string;
  body?: string;
  addLabels: string[];
  /** Labels this bridge set earlier and no longer wants; labels people added are never here. */
  removeLabels: string[];
  /** Auto-merge to switch on (it is never switched off by the bridge). */
  autoMerge?: Exclude<AutoMerge, 'off'>;
};

export function pullRequestChanges(spec: PullRequestSpec, existing: PullRequest): PullRequestChanges {
  const changes: PullRequestChanges = {
    addLabels: spec.labels.filter((label) => !existing.labels.includes(label)),
    removeLabels: spec.ownedLabels.filter((label) => !spec.labels.includes(label) && existing.labels.includes(label)),
  };
  if (existing.title !== spec.title) changes.title = spec.title;
  if (existing.body !== spec.body) changes.body = spec.body;
  if (spec.autoMerge !== 'off' && !existing.autoMerge) changes.autoMerge = spec.autoMerge;
  return changes;
}

export function hasChanges(changes: PullRequestChanges): boolean {
  return describeChanges(changes) !== '';
}

/** `title, body, labels +a -b, auto-merge (squash)`: for a person, in a fixed order. */
export function describeChanges(changes: PullRequestChanges): string {
  const labels = [
    ...changes.addLabels.map((label) => `+${label}`),
    ...changes.removeLabels.map((label) => `-${label}`),
  ];
  return [
    changes.title === undefined ? '' : 'title',
    changes.body === undefined ? '' : 'body',
    labels.length === 0 ? '' : `labels ${labels.join(' ')}`,
    changes.autoMerge === undefined ? '' : `auto-merge (${changes.autoMerge})`,
  ]
    .filter(Boolean)
    .join(', ');
}
