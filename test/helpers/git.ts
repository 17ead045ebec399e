import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Real, throwaway git repositories for tests (in the spirit of changesets' `gitdir()`):
 * a bare "remote", work-tree clones that act as "someone else", and readers that look
 * at a bare repository without a work tree.
 */

/** Environment for the test's own git calls: no system/global config, no prompts, a fixed identity. */
export function testGitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Someone Else',
    GIT_AUTHOR_EMAIL: 'someone@example.test',
    GIT_COMMITTER_NAME: 'Someone Else',
    GIT_COMMITTER_EMAIL: 'someone@example.test',
    ...extra,
  };
}

/** Run git in `cwd`; resolves to stdout (utf8), rejects with stderr in the message. */
export function git(cwd: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return gitBuffer(cwd, args, options).then((out) => out.toString('utf8'));
}

/** Like `git` but the raw bytes of stdout (for byte-exact checks). */
export function gitBuffer(
  cwd: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...args],
      { cwd, env: testGitEnv(options.env), encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error)
          reject(
            new Error(`git ${args.join(' ')} (in ${cwd}) failed: ${stderr.toString('utf8').trim() || error.message}`, {
              cause: error,
            }),
          );
        else resolve(stdout);
      },
    );
  });
}

/** A fresh temporary directory; `cleanup` removes it. */
export async function makeTempDir(prefix = 'lynq-test-'): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An empty bare repository whose default branch is `main`. */
export async function makeBareRepo(options: { dir?: string } = {}): Promise<{ dir: string; cleanup(): Promise<void> }> {
  let dir: string;
  let cleanup: () => Promise<void>;
  if (options.dir !== undefined) {
    dir = options.dir;
    await mkdir(dir, { recursive: true });
    cleanup = () => rm(dir, { recursive: true, force: true });
  } else {
    const temp = await makeTempDir('lynq-bare-');
    dir = temp.dir;
    cleanup = temp.cleanup;
  }
  await git(dir, ['init', '--quiet', '--bare', '--initial-branch=main']);
  return { dir, cleanup };
}

export type WorkTree = {
  dir: string;
  /** git in the work tree; resolves to stdout. */
  git(...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
};

/** A work-tree clone of `url` (a path or URL), for making commits as "someone else". */
export async function cloneWorkTree(url: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<WorkTree> {
  const temp = await makeTempDir('lynq-clone-');
  const dir = path.join(temp.dir, 'work');
  await git(temp.dir, ['clone', '--quiet', url, dir], options);
  // An empty remote leaves the clone on its own default branch name; make it `main`.
  await git(dir, ['symbolic-ref', 'HEAD', 'refs/heads/main']);
  return { dir, git: (...args: string[]) => git(dir, args, options), cleanup: temp.cleanup };
}

/** Write files (creating folders) in a work tree, stage everything and commit; resolves to the commit id. */
/** `env`: e.g. GIT_AUTHOR_DATE and GIT_COMMITTER_DATE, for a commit at a given time. */
export async function commitFiles(
  dir: string,
  files: Record<string, string>,
  message: string,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(dir, file);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, content, 'utf8');
  }
  await git(dir, ['add', '--all']);
  await git(dir, ['commit', '--quiet', '--no-verify', '-m', message], { env });
  return (await git(dir, ['rev-parse', 'HEAD'])).trim();
}

/** The commit id of `ref` in `repoDir`, or undefined when it does not exist. */
export async function revParse(repoDir: string, ref: string): Promise<string | undefined> {
  try {
    return (await git(repoDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Every file at `ref` (path → content, utf8). */
export async function readTree(bareDir: string, ref: string): Promise<Map<string, string>> {
  return new Map([...(await readTreeBytes(bareDir, ref))].map(([file, bytes]) => [file, bytes.toString('utf8')]));
}

/** Every file at `ref` (path → raw bytes). */
export async function readTreeBytes(bareDir: string, ref: string): Promise<Map<string, Buffer>> {
  const listing = (await gitBuffer(bareDir, ['ls-tree', '-r', '-z', '--full-tree', ref])).toString('utf8');
  const files = new Map<string, Buffer>();
  for (const entry of listing.split('\0')) {
    if (entry === '') continue;
    const tab = entry.indexOf('\t');
    const [, type, id] = entry.slice(0, tab).split(' ');
    if (type !== 'blob' || id === undefined) continue;
    files.set(entry.slice(tab + 1), await gitBuffer(bareDir, ['cat-file', 'blob', id]));
  }
  return files;
}

export async function commitCount(bareDir: string, ref: string): Promise<number> {
  return Number((await git(bareDir, ['rev-list', '--count', ref])).trim());
}

/** Commit subjects+bodies at `ref`, newest first. */
export async function logMessages(bareDir: string, ref: string): Promise<string[]> {
  const out = await git(bareDir, ['log', '--format=%B%x00', ref]);
  return out
    .split('\0')
    .map((message) => message.trim())
    .filter((message) => message !== '');
}

/** The node folders (`<root>/<hub>/<form>/<uid>`: their uids) that changed between two commits, sorted. */
export async function changedNodes(repo: string, from: string, to: string): Promise<string[]> {
  const files = (await git(repo, ['diff', '--name-only', from, to])).split('\n').filter(Boolean);
  return [...new Set(files.map((file) => file.split('/')[3]!))].sort();
}
