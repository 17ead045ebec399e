/**
 * `https://…`, `ssh://…`, `file://…` or scp-like `git@host:path`: a repository URL (one an
 * engine or GitHub can reach); anything else is a local path.
 */
export function isRemoteUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^/]+:/.test(repo);
}
