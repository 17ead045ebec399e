/**
 * The commit in an engine's revision text: Argo CD reports a bare sha; Flux
 * `<branch>@sha1:<sha>` (v1) or `<branch>/<sha>` (v1beta2). Anything else (a tag name, a
 * Helm version) is kept as text and never counts as containing a commit.
 */
export function commitOfRevision(revision: string | undefined): string | undefined {
  if (revision === undefined) return undefined;
  const match = /(?:^|[@:/])([0-9a-f]{40})$/.exec(revision.trim());
  return match ? match[1] : undefined;
}
