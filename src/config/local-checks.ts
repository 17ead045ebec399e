import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import type { SecretRef } from './hub-schema.ts';
import type { Hub } from './load.ts';
import { isRemoteUrl } from './repo-url.ts';
import { secretsDirOf } from './secrets.ts';

/**
 * What a sync would find wrong on this machine before it reaches any server, for
 * `lynq validate`: every secret reference resolvable (a variable set, a file readable;
 * no value is read), and a local manifests repository present.
 */
export async function localProblems(
  hub: Hub,
  options: { env: NodeJS.ProcessEnv; repoOverride?: string },
): Promise<ConfigError[]> {
  const problems: ConfigError[] = [];
  for (const [field, ref] of secretRefs(hub)) {
    const why = await unresolvable(ref, options.env);
    if (why !== undefined)
      problems.push(
        new ConfigError(why, { file: hub.file, line: hub.lineOf?.(field), hub: hub.name, field: field.join('.') }),
      );
  }
  const repo = options.repoOverride ?? hub.spec.publish.repo;
  if (repo !== undefined && !isRemoteUrl(repo)) {
    const full = options.repoOverride !== undefined ? path.resolve(repo) : path.resolve(path.dirname(hub.file), repo);
    const found = await stat(full).catch(() => undefined);
    if (found === undefined || !found.isDirectory()) {
      const field = ['spec', 'publish', 'repo'];
      const where =
        options.repoOverride !== undefined
          ? { hub: hub.name }
          : { file: hub.file, line: hub.lineOf?.(field), hub: hub.name, field: field.join('.') };
      const message = `the manifests repository ${full} ${found === undefined ? 'does not exist' : 'is not a folder'}: create it (git init --bare ${full}) or point ${options.repoOverride !== undefined ? '--repo' : 'spec.publish.repo'} at a repository`;
      problems.push(new ConfigError(message, where));
    }
  }
  return problems;
}

/** Every secret reference of a hub, with the path of its field. */
function secretRefs(hub: Hub): Array<[Array<string>, SecretRef]> {
  const refs: Array<[Array<string>, SecretRef | undefined]> = [];
  const { source, publish } = hub.spec;
  const settings = (source as Record<string, unknown>)[source.type] as { passwordRef?: SecretRef } | undefined;
  refs.push([['spec', 'source', source.type, 'passwordRef'], settings?.passwordRef]);
  refs.push([['spec', 'publish', 'auth', 'token'], publish.auth?.token]);
  refs.push([['spec', 'publish', 'auth', 'sshKey'], publish.auth?.sshKey]);
  refs.push([['spec', 'publish', 'platform', 'token'], publish.platform?.token]);
  refs.push([['spec', 'publish', 'platform', 'app', 'privateKey'], publish.platform?.app?.privateKey]);
  return refs.filter((entry): entry is [string[], SecretRef] => entry[1] !== undefined);
}

/** Why a reference cannot be resolved here, or undefined; reads no secret. */
async function unresolvable(ref: SecretRef, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if ('env' in ref)
    return env[ref.env] === undefined
      ? `environment variable ${ref.env} is not set: set it where lynq runs (a Secret as an env var in the cluster)`
      : undefined;
  const file = 'file' in ref ? ref.file : path.join(secretsDirOf(env), ref.name, ref.key);
  const readable = await access(file, constants.R_OK).then(
    () => true,
    () => false,
  );
  return readable
    ? undefined
    : `cannot read secret file ${file}: mount the Secret there, or point the reference at the file`;
}
