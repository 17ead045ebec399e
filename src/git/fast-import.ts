import type { GitProcess, RunResult } from './git.ts';
import type { StagingPlan } from './fast-import-staging.ts';
import { inWideFolder, type WidePlan } from './wide-folders.ts';

export type Author = { name: string; email: string };

export type CommitInput = {
  /** The commit the new one builds on; undefined for the first commit of a branch. */
  parent: string | undefined;
  writes: ReadonlyMap<string, string>;
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
 * One `git fast-import` run that ends in one commit. File contents can be stored before
 * the commit is known (store: while the sync still renders, so git compresses them on
 * the other core); the commit then names them by mark and stores only what is left.
 * Blobs come first, each with a mark, and the commit names them: fast-import's `inline`
 * form grows its memory a file at a time (2.6 s of system time for 70,000 files).
 */
export class FastImport {
  /** Path → what store() sent for it; the commit names the blob when the content is still the same. */
  private readonly stored = new Map<string, { content: string; mark: number }>();
  private marks = 0;
  /** Blob commands not yet sent: many small writes to a pipe cost more than git's work. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly git: GitProcess) {}

  /** Store these files' contents (path → content), sent in pieces; resolves when git is ready for more. */
  store(files: Iterable<readonly [string, string]>): Promise<void> {
    for (const [file, content] of files) this.stored.set(file, { content, mark: this.blob(content) });
    if (this.pendingBytes < SEND_BYTES) return Promise.resolve();
    return this.git.write(this.takePending());
  }

  /**
   * Build the commit on `ref`, writing new folders where `staging` says and replacing wide
   * folders whole (`wide`: their changed children first go into a commit on `<ref>-trees`
   * that nothing keeps, so their trees exist), and end the run.
   */
  commit(input: CommitInput, ref: string, staging: StagingPlan, wide?: WidePlan): Promise<RunResult> {
    const inWide = (file: string): boolean => inWideFolder(wide, file);
    const marks = [...input.writes].filter(([file]) => !inWide(file)).map(([file, content]) => [file, this.markOf(file, content)] as const);
    const trees: string[] = [];
    for (const folder of wide?.rebuilt ?? []) {
      for (const [name, file] of folder.files)
        trees.push(`M 100644 ${'id' in file ? file.id : `:${this.markOf(`${folder.folder}/${name}`, file.content)}`} ${fastImportPath(`${folder.staging}/${name}`)}`);
    }
    for (const [file, content] of wide?.blobs ?? []) this.markOf(file, content);
    const who = `${input.author.name} <${input.author.email}> ${Math.floor(input.time)} +0000`;
    // Built and sent a piece at a time: at 100,000 nodes the commands alone are ~100 MB.
    const out = new Pieces(this.pending);
    this.pending = [];
    if (trees.length > 0) {
      out.text(`commit ${ref}-trees\ncommitter ${who}\ndata 0\n`);
      for (const line of trees) out.line(line);
      out.text('\n');
    }
    const message = Buffer.from(input.message, 'utf8');
    out.text(`commit ${ref}\nauthor ${who}\ncommitter ${who}\ndata ${message.length}\n`);
    out.bytes(message);
    out.text('\n');
    if (input.parent !== undefined) out.line(`from ${input.parent}`);
    for (const file of input.deletes) if (!inWide(file)) out.line(`D ${fastImportPath(file)}`);
    for (const [folder, tree] of wide?.replaced ?? []) out.line(tree === undefined ? `D ${fastImportPath(folder)}` : `M 040000 ${tree} ${fastImportPath(folder)}`);
    for (const [file, mark] of marks) out.line(`M 100644 :${mark} ${fastImportPath(staging.stagedPath.get(file) ?? file)}`);
    for (const { staging: from, folder } of staging.folders) out.line(`R ${fastImportPath(from)} ${fastImportPath(folder)}`);
    out.line('done');
    return this.git.end(out.pieces(), input.writes.size * COMMIT_MS_PER_FILE);
  }

  /** The mark of a blob with this content: the one stored ahead for this path when the content is the same, else a new one. */
  private markOf(file: string, content: string): number {
    const stored = this.stored.get(file);
    return stored?.content === content ? stored.mark : this.blob(content);
  }

  /** End a run that made no commit: what was stored stays as unreferenced objects, which git gc prunes. */
  async abandon(): Promise<void> {
    this.pending = [];
    await this.git.end(['done\n']).catch(() => undefined);
  }

  /** Queue a blob command for `content`; its mark. */
  private blob(content: string): number {
    const mark = ++this.marks;
    const bytes = Buffer.from(content, 'utf8');
    this.pending.push(Buffer.from(`blob\nmark :${mark}\ndata ${bytes.length}\n`), bytes, Buffer.from('\n'));
    this.pendingBytes += bytes.length;
    return mark;
  }

  private takePending(): Buffer {
    const chunk = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    return chunk;
  }
}

/** Input for git in pieces of about SEND_BYTES: few writes to the pipe, and never the whole stream in one buffer. */
class Pieces {
  private readonly done: Buffer[] = [];
  private current: Buffer[] = [];
  private size = 0;
  private lines: string[] = [];

  constructor(start: readonly Buffer[]) {
    for (const chunk of start) this.bytes(chunk);
  }

  line(text: string): void {
    this.lines.push(text);
    if (this.lines.length >= 1024) this.flushLines();
  }

  text(text: string): void {
    this.bytes(Buffer.from(text, 'utf8'));
  }

  bytes(chunk: Buffer): void {
    this.flushLines();
    this.current.push(chunk);
    this.size += chunk.length;
    if (this.size >= SEND_BYTES) this.cut();
  }

  /** The pieces, in order (end() writes them one by one, waiting when git is behind). */
  *pieces(): Generator<Buffer> {
    this.flushLines();
    this.cut();
    yield* this.done.splice(0);
  }

  private flushLines(): void {
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    this.bytes(Buffer.from(text, 'utf8'));
  }

  private cut(): void {
    if (this.current.length === 0) return;
    this.done.push(this.current.length === 1 ? this.current[0]! : Buffer.concat(this.current));
    this.current = [];
    this.size = 0;
  }
}

/** Paths are checked before they get here; quote anyway if one ever needs it. */
function fastImportPath(file: string): string {
  return /^["\s]|[\n\\"]/.test(file) ? JSON.stringify(file) : file;
}
