import path from 'node:path';
import { ConfigError, type ErrorWhere } from '../errors.ts';

/**
 * The repository root folder for nodes (`spec.publish.root`): relative, normalised,
 * inside the repository. Checked once per hub.
 */
export function checkRoot(root: string, where: ErrorWhere): string {
  const normalised = path.posix.normalize(root.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (
    path.posix.isAbsolute(normalised) ||
    normalised === '..' ||
    normalised.startsWith('../') ||
    normalised === '.' ||
    normalised === ''
  ) {
    throw new ConfigError(`root ${JSON.stringify(root)} must be a folder inside the repository, like "nodes"`, where);
  }
  if (normalised.split('/').some((segment) => segment === '.git' || !/^[A-Za-z0-9._-]+$/.test(segment))) {
    throw new ConfigError(
      `root ${JSON.stringify(root)} must be folder names of letters, digits, ".", "_" and "-", not inside .git`,
      where,
    );
  }
  return normalised;
}
