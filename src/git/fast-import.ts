import { blobIdOf, type FileContent } from '../plan/types.ts';
import type { GitProcess, RunResult } from './git.ts';
import type { StagingPlan } from './fast-import-staging.ts';
import { filePairs, inWideFolder, type WidePlan } from './wide-folders.ts';

export type Author = { name: string; email: string };

export type CommitInput = {
  /** The commit the new one builds on; undefined for the first commit of a branch. */
  parent: string | undefined;
  /** Path → content, or the id of a blob git already holds (stored ahead, or in the clone). */
  writes: ReadonlyMap<string, FileContent>;
  deletes: readonly string[];
  message: string;
  author: Author;
  /** Seconds since the epoch (passed in, so tests control it). */
  time: number;
};

/**
 * Time a commit's end may take on top of the git timeout, per file it writes: fast-import
 * builds every tree after the last input, and a first sync of 100,000 nodes (700,000
 * files) took longer than the 120 s default on this project's busy 2-core machine.
 */
const COMMIT_MS_PER_FILE = 1;

/** Stored contents are sent in pieces about this big: well below what git's stdin buffers (a socket pair), so a send rarely waits. */
const SEND_BYTES = 32 * 1024;

/**
 * Stored files wait until about this much has come, then go to git grouped by their place
 * in the store() call that brought them (the n-th file of each node: the same kind of
 * file). fast-import deltas each blob against the one before it only, so in node order
 * (namespace, service, deployment, …) hardly any delta is found; grouped, most are: less
 * git CPU for the blobs and a smaller pack (bench/RESULTS.md has the figures).
 */
const GROUP_BYTES = 256 * 1024;

/**
 * One `git fast-import` run that ends in one commit. File contents can be stored before
 * the commit is known (store: while the sync still renders, so git compresses them on
 * the other core); the commit names every file by its blob id, and stores the contents it
 * is given (fast-import skips a blob it already has). Nothing stored is kept here: the
 * caller keeps the ids.
 */
export class FastImport {
  /** Blob commands not yet sent: many small writes to a pipe cost more than git's work. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Stored contents not yet queued, by their place in their store() call (GROUP_BYTES says why). */
  private grouped: string[][] = [];
  private groupedBytes = 0;

  constructor(private readonly git: GitProcess) {}

  /** Store these files' contents (path → content; one node's files per call), sent in pieces; resolves when git is ready for more. */
  store(files: Iterable<readonly [string, string]>): Promise<void> {
    let place = 0;
    for (const [, content] of files) {
      (this.grouped[place++] ??= []).push(content);
      this.groupedBytes += content.length;
    }
    if (this.groupedBytes >= GROUP_BYTES) this.queueGrouped();
    if (this.pendingBytes < SEND_BYTES) return Promise.resolve();
    return this.git.write(this.takePending());
  }

  /**
   * Build the commit, writing new folders where `staging` says and replacing wide folders
   * whole (`wide`: their changed children first go into a commit that nothing keeps, so
   * their trees exist), end the run, and say the new commit's id (its output).
   * fast-import builds a commit on a branch: `ref`, which it is told to drop again before
   * it ends (a `reset` without `from`), so git writes no ref and none is left to delete.
   */
  commit(input: CommitInput, ref: string, staging: StagingPlan, wide?: WidePlan): Promise<RunResult> {
    this.queueGrouped();
    for (const content of input.writes.values()) if (typeof content === 'string') this.blob(content);
    const pending = this.pending;
    this.pending = [];
    return this.git.end(
      inPieces(pending, commitCommands(input, ref, staging, wide)),
      input.writes.size * COMMIT_MS_PER_FILE,
    );
  }

  /** End a run that made no commit: what was stored stays as unreferenced objects (the sync may name them by id still), which git gc prunes. */
  async abandon(): Promise<void> {
    this.queueGrouped();
    const pending = this.pending;
    this.pending = [];
    await this.git.end(inPieces(pending, ['done\n'])).catch(() => undefined);
  }

  private queueGrouped(): void {
    for (const group of this.grouped) for (const content of group ?? []) this.blob(content);
    this.grouped = [];
    this.groupedBytes = 0;
  }

  /** Queue a blob command for `content` (no mark: the commit names it by id). */
  private blob(content: string): void {
    const bytes = Buffer.from(content, 'utf8');
    this.pending.push(Buffer.from(`blob\ndata ${bytes.length}\n`), bytes, Buffer.from('\n'));
    this.pendingBytes += bytes.length;
  }

  private takePending(): Buffer {
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return chunk;
  }
}

/** The commit's commands, made as git reads them: at 100,000 nodes they are ~100 MB. */
function* commitCommands(
  input: CommitInput,
  ref: string,
  staging: StagingPlan,
  wide: WidePlan | undefined,
): Generator<string | Buffer> {
  const inWide = (file: string): boolean => inWideFolder(wide, file);
  const who = `${input.author.name} <${input.author.email}> ${Math.floor(input.time)} +0000`;
  if (wide !== undefined && wide.rebuilt.length > 0) {
    yield `commit ${ref}-trees\ncommitter ${who}\ndata 0\n`;
    for (const folder of wide.rebuilt)
      for (const [name, id] of filePairs(folder.files))
        yield `M 100644 ${id} ${fastImportPath(`${folder.staging}/${name}`)}\n`;
    yield '\n';
  }
  const message = Buffer.from(input.message, 'utf8');
  yield `commit ${ref}\nmark :1\nauthor ${who}\ncommitter ${who}\ndata ${message.length}\n`;
  yield message;
  yield '\n';
  if (input.parent !== undefined) yield `from ${input.parent}\n`;
  for (const file of input.deletes) if (!inWide(file)) yield `D ${fastImportPath(file)}\n`;
  for (const [folder, tree] of wide?.replaced ?? [])
    yield tree === undefined ? `D ${fastImportPath(folder)}\n` : `M 040000 ${tree} ${fastImportPath(folder)}\n`;
  for (const [file, content] of input.writes)
    if (!inWide(file)) yield `M 100644 ${blobIdOf(content)} ${fastImportPath(staging.stagedPath.get(file) ?? file)}\n`;
  for (const { staging: from, folder } of staging.folders)
    yield `R ${fastImportPath(from)} ${fastImportPath(folder)}\n`;
  // The commit's id on stdout; then neither branch is written (the objects are, and the caller names the commit by id).
  yield `\nget-mark :1\nreset ${ref}\n\n`;
  if (wide !== undefined && wide.rebuilt.length > 0) yield `reset ${ref}-trees\n\n`;
  yield 'done\n';
}

/** Input for git in pieces of about SEND_BYTES: few writes to the pipe, and never the whole stream in one buffer. */
function* inPieces(start: readonly Buffer[], rest: Iterable<string | Buffer>): Generator<Buffer> {
  let current: Buffer[] = [];
  let size = 0;
  let text = '';
  const cut = function* (): Generator<Buffer> {
    if (text !== '') {
      current.push(Buffer.from(text, 'utf8'));
      text = '';
    }
    if (current.length > 0) yield current.length === 1 ? current[0]! : Buffer.concat(current);
    current = [];
    size = 0;
  };
  for (const chunk of start) {
    current.push(chunk);
    size += chunk.length;
    if (size >= SEND_BYTES) yield* cut();
  }
  for (const chunk of rest) {
    if (typeof chunk === 'string') {
      text += chunk;
      size += chunk.length;
    } else {
      if (text !== '') current.push(Buffer.from(text, 'utf8'));
      text = '';
      current.push(chunk);
      size += chunk.length;
    }
    if (size >= SEND_BYTES) yield* cut();
  }
  yield* cut();
}

/** Paths are checked before they get here; quote anyway if one ever needs it. */
function fastImportPath(file: string): string {
  return /^["\s]|[\n\\"]/.test(file) ? JSON.stringify(file) : file;
}
