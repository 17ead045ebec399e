/**
 * `https://…`, `ssh://…`, `file://…` or scp-like `git@host:path`: a repository URL (one an
 * engine or GitHub can reach); anything else is a local path.
 */
export function isRemoteUrl(repo: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^/]+:/.test(repo);
}

/**
 * Why a repository URL must not be used as written: it carries credentials (a password,
 * or any user part of an http(s) URL, where a token often stands as the user name). git
 * would store them in the cache clone's config and print them in its messages.
 * Undefined when the URL is fine.
 */
export function urlCredentialProblem(repo: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(repo)) return undefined;
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    return undefined;
  }
  const http = url.protocol === 'http:' || url.protocol === 'https:';
  if (url.password === '' && (url.username === '' || !http)) return undefined;
  return `has credentials in it (${redactUrl(repo)}); put the token in spec.publish.auth.token (a secret from the environment or a file) and keep the URL without them`;
}

/** The URL with its user part (and password) replaced, fit to print. */
export function redactUrl(repo: string): string {
  return repo.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}
