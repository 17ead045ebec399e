import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { GitError as SimpleGitError, simpleGit, type SimpleGit } from 'simple-git';
import { GitError, type ErrorWhere } from '../errors.ts';
import type { SecretRegistry } from '../logger.ts';

/** Credentials for the manifests repository, already resolved from env or file. */
export type GitAuth = {
  token?: string;
  username?: string;
  /** Path of an SSH private key file. */
  sshKeyFile?: string;
  knownHostsFile?: string;
};

export type GitOptions = {
  auth?: GitAuth;
  registry: SecretRegistry;
  /** How long one git command may take before it is killed. */
  timeoutMs?: number;
  /** Cancels every git command started with these options: its whole process group is killed. */
  signal?: AbortSignal;
};

const DEFAULT_TIMEOUT_MS = 120_000;

const ASKPASS = fileURLToPath(new URL('./askpass.sh', import.meta.url));

/**
 * The one place that decides how git runs: no prompts, C locale, no system or user
 * config that could change output, credentials through GIT_ASKPASS or GIT_SSH_COMMAND
 * (never in URLs or arguments).
 */
export function gitEnvironment(options: GitOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  };
  const auth = options.auth;
  if (auth?.token !== undefined) {
    options.registry.add(auth.token);
    env.GIT_ASKPASS = ASKPASS;
    env.LYNQ_GIT_USERNAME = auth.username ?? 'x-access-token';
    env.LYNQ_GIT_PASSWORD = auth.token;
  }
  if (auth?.sshKeyFile !== undefined) {
    const hostKeys =
      auth.knownHostsFile !== undefined
        ? `-o UserKnownHostsFile=${shellQuote(auth.knownHostsFile)} -o StrictHostKeyChecking=yes`
        : '-o StrictHostKeyChecking=accept-new';
    env.GIT_SSH_COMMAND = `ssh -i ${shellQuote(auth.sshKeyFile)} -o IdentitiesOnly=yes -o BatchMode=yes ${hostKeys}`;
  }
  return env;
}

/** What simple-git reports for a finished command, before it decides whether that failed. */
type SimpleGitExit = { exitCode: number; stdOut: Buffer[]; stdErr: Buffer[] };

/**
 * The one simple-git factory. simple-git refuses environments that set askpass, ssh
 * command or config paths unless told; here those values are ours (gitEnvironment).
 * `timeoutMs` 0 leaves simple-git's own (inactivity) timeout off: gitText below
 * enforces the runner's total-time rule through `signal` instead. Any exit code other
 * than 0 fails (simple-git's default lets a silent exit 1 pass, `cat-file -e` says no that way).
 */
export function createGit(dir: string, options: GitOptions, onExit?: (exit: SimpleGitExit) => void): SimpleGit {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return simpleGit({
    baseDir: dir,
    binary: 'git',
    maxConcurrentProcesses: 4,
    ...(timeoutMs > 0 ? { timeout: { block: timeoutMs } } : {}),
    ...(options.signal !== undefined ? { abort: options.signal } : {}),
    // Done when git's output closes, like the runner. simple-git's default also ends 50 ms
    // after git exits, and that timer outlives the command (a sync left a timer behind).
    completion: { onExit: false },
    errors: (error, result) => {
      onExit?.(result);
      // Scrubbed: this text becomes the message of simple-git's error, kept as our GitError's cause.
      return (
        error ??
        (result.exitCode !== 0
          ? Buffer.from(options.registry.scrub(Buffer.concat([...result.stdOut, ...result.stdErr]).toString('utf8')))
          : undefined)
      );
    },
    unsafe: { allowUnsafeAskPass: true, allowUnsafeSshCommand: true, allowUnsafeConfigPaths: true },
  }).env(gitEnvironment(options));
}

/**
 * A git command that reads or writes the local repository and prints text, through
 * simple-git (the factory above), answered in the runner's RunResult shape so that both
 * paths fail alike (gitFailure): the same environment, the same total-time timeout (a
 * timer on the AbortSignal simple-git is given, not simple-git's inactivity timer) and
 * the same abort. This is the one place simple-git's errors become ours (as `cause`).
 *
 * Not for commands that talk to a remote (ls-remote, fetch, push): simple-git stops a
 * command by sending SIGINT to git alone, and git-remote-http (a child of git, in our
 * own process group) lives on holding the connection; the runner starts git in its own
 * process group and kills all of it. Not for commands that print nothing either (update-ref,
 * cat-file -e): simple-git waits 50 ms more after a command that wrote no output.
 */
export async function gitText(dir: string, args: readonly string[], options: GitOptions): Promise<RunResult> {
  const command = commandOf(args);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const clock = new AbortController();
  const timer = setTimeout(() => clock.abort(), timeoutMs);
  const signal = options.signal === undefined ? clock.signal : AbortSignal.any([options.signal, clock.signal]);
  let exit: SimpleGitExit | undefined;
  const git = createGit(dir, { ...options, timeoutMs: 0, signal }, (result) => {
    exit = result;
  });
  try {
    const stdout = await git.raw([...args]);
    return {
      stdout: Buffer.from(stdout, 'utf8'),
      stderr: options.registry.scrub(Buffer.concat(exit?.stdErr ?? []).toString('utf8')),
      code: 0,
      command,
    };
  } catch (cause) {
    if (!(cause instanceof SimpleGitError)) throw new GitError(`cannot run git ${command}`, {}, { cause });
    const result: RunResult = {
      stdout: Buffer.concat(exit?.stdOut ?? []),
      stderr: options.registry.scrub(Buffer.concat(exit?.stdErr ?? []).toString('utf8')),
      code: exit !== undefined && exit.exitCode > 0 && exit.exitCode < 256 ? exit.exitCode : 128,
      command,
      cause,
    };
    if (options.signal?.aborted) result.aborted = true;
    else if (clock.signal.aborted) result.timedOutAfterSeconds = timeoutMs / 1000;
    return result;
  } finally {
    clearTimeout(timer);
  }
}

export type RunResult = {
  stdout: Buffer;
  stderr: string;
  code: number;
  /** The git command (`fetch`, `push`…), for messages. */
  command?: string;
  /** Set when git was killed for taking longer than this many seconds. */
  timedOutAfterSeconds?: number;
  /** Set when git was killed because the caller's AbortSignal fired. */
  aborted?: boolean;
  /** What simple-git threw, for a command run through it (gitText). */
  cause?: unknown;
};

/** How much input may wait for git to read it before a write waits too. */
const QUEUED_BYTES_LIMIT = 1 << 20;

/** A git command being fed on stdin. */
export type GitProcess = {
  /** Send input. Resolves after one turn of the event loop or, when git is far behind, once it has read what was queued (or exited). */
  write(chunk: Buffer | string): Promise<void>;
  /**
   * Send the last input, close stdin and wait for git to exit. The timeout runs from here: while fed, git waits on us.
   * `extraMs` is added to it, for work that grows with the input (a commit of 700,000 files).
   */
  end(input?: Iterable<Buffer | string>, extraMs?: number): Promise<RunResult>;
};

/**
 * The streaming runner, for the git commands simple-git cannot drive with our
 * guarantees: those fed on stdin (fast-import while the sync renders, cat-file --batch),
 * since simple-git has no way to write to a command's stdin; those that talk to a remote
 * (ls-remote, fetch, push), since only a process group of their own lets a timeout or an
 * abort end git-remote-http too (see gitText); and those that print nothing (gitText).
 */
export function runGit(
  dir: string,
  args: readonly string[],
  options: GitOptions & { input?: Iterable<Buffer | string> },
): Promise<RunResult> {
  return startGit(dir, args, options).end(options.input);
}

/**
 * Start a git command to feed over time (fast-import storing files while the sync still
 * renders); runGit is this with all of the input at once.
 */
export function startGit(dir: string, args: readonly string[], options: GitOptions): GitProcess {
  // Its own process group, so a timeout also ends the helpers git starts
  // (git-remote-http keeps the pipes open after git itself is killed).
  const child = spawn('git', args, {
    cwd: dir,
    env: gitEnvironment(options),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  let exited = false;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const command = commandOf(args);
  let timedOut = false;
  let allowedMs = timeoutMs;
  let aborted = false;
  const abort = (): void => {
    aborted = true;
    killGroup(child.pid);
  };
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });
  const result = new Promise<RunResult>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      exited = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      reject(new GitError(`cannot run git ${command}`, {}, { cause: error }));
    });
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      const result: RunResult = {
        stdout: Buffer.concat(out),
        stderr: options.registry.scrub(Buffer.concat(err).toString('utf8')),
        code: code ?? (signal ? 128 : 1),
        command,
      };
      if (timedOut) result.timedOutAfterSeconds = allowedMs / 1000;
      if (aborted) result.aborted = true;
      resolve(result);
    });
  });
  // Handled here too: a process that fails to start before end() is awaited must not crash the sync.
  result.catch(() => undefined);
  child.stdin.on('error', () => undefined); // the exit code tells what went wrong
  const write = async (chunk: Buffer | string): Promise<void> => {
    if (exited) return;
    child.stdin.write(chunk);
    const queued = child.stdin.writableLength;
    // All of it is with the kernel: git reads it while the caller goes on.
    if (queued === 0) return;
    // What git's stdin could not take waits in our queue and only moves on while the event
    // loop runs: give it a turn, so git is not starved while the caller computes. Far
    // behind, wait until git has read it all (memory stays bounded).
    if (queued <= QUEUED_BYTES_LIMIT) return new Promise((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => {
      const done = (): void => {
        child.stdin.off('drain', done);
        child.off('close', done);
        resolve();
      };
      child.stdin.on('drain', done);
      child.once('close', done);
    });
  };
  return {
    write,
    async end(input, extraMs = 0) {
      allowedMs = timeoutMs + extraMs;
      if (!exited) {
        timer = setTimeout(() => {
          timedOut = true;
          killGroup(child.pid);
        }, allowedMs);
      }
      for (const chunk of input ?? []) await write(chunk);
      child.stdin.end();
      return result;
    },
  };
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Turn a failed command into a GitError whose message says what was tried, without
 * secrets. Actions that talk to a remote name it (`fetching main from <url>`); a command
 * that was killed says so: which git command, and after how long or that it was cancelled.
 */
export function gitFailure(action: string, result: RunResult | { stderr: string }, where: ErrorWhere = {}): GitError {
  const run = result as RunResult;
  const cause = run.cause === undefined ? undefined : { cause: run.cause };
  if (run.aborted) return new GitError(`${action}: git ${run.command ?? ''} was cancelled`, where, cause);
  if (run.timedOutAfterSeconds !== undefined)
    return new GitError(
      `${action}: git ${run.command ?? ''} timed out after ${run.timedOutAfterSeconds} s`,
      where,
      cause,
    );
  // git's first line says what went wrong (the rest is advice, often several lines): keep it, and the last two.
  const lines = result.stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const first = lines.find((line) => /^(fatal|error|remote: error):/.test(line)) ?? lines[0];
  const stderr = (lines.length <= 3 ? lines : [first!, ...lines.slice(-2).filter((line) => line !== first)]).join(
    ' | ',
  );
  const hint = /does not appear to be a git repository/.test(first ?? '')
    ? ' (to start a new local manifests repository: git init --bare <path>)'
    : /refusing to update checked out branch/.test(first ?? '')
      ? ' (push to a bare repository: git init --bare <path>, or git clone --bare of this one)'
      : '';
  return new GitError(`${action} failed${stderr ? `: ${stderr}` : ''}${hint}`, where, cause);
}

/** The git subcommand of an argument list (past `-c key=value` options). */
function commandOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-c' || args[i] === '-C') i++;
    else if (!args[i]!.startsWith('-')) return args[i]!;
  }
  return args[0] ?? '';
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
