import { ConfigError, type ErrorWhere } from '../../errors.ts';
import { parseRepoUrl } from '../repo-url.ts';

/**
 * A GitLab project's full path from its repository URL: every segment after the host,
 * because GitLab nests projects in groups and subgroups (`acme/platform/manifests`).
 * The forms people paste are those `parseRepoUrl` reads, which also checks the URL.
 */
export function projectPath(url: string, where: ErrorWhere = {}): string {
  parseRepoUrl(url, where);
  const scp = /^(?:[^@/]+@)?[^:/]+:(?!\/)(.+)$/.exec(url);
  const pathname = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? decodeURIComponent(new URL(url).pathname) : scp![1]!;
  const parts = pathname
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter((part) => part !== '');
  if (parts.some((part) => !/^[A-Za-z0-9_.-]+$/.test(part)))
    throw new ConfigError(
      `cannot read a GitLab project path from the repository URL: expected …/<group>/<project>(.git)`,
      where,
    );
  return parts.join('/');
}
