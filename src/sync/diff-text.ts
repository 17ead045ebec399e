import { InternalError } from '../errors.ts';
import type { BlobReader, FileChanges, TreeListing } from '../plan/types.ts';

/**
 * The unified diff of `changes` against what Git has (`existing`), file by file in path
 * order. With `maxChars`, files are added while they fit, so an excerpt is a prefix that ends at
 * a file boundary, and `omittedFiles` says how many were left out. The diff library is loaded
 * here, on first use: only `--diff` and pull-request bodies need it.
 */
export async function unifiedDiff(
  changes: FileChanges,
  existing: TreeListing,
  readBlobs: BlobReader,
  options: { maxChars?: number } = {},
): Promise<{ text: string; files: number; omittedFiles: number; totalChars: number }> {
  const { createTwoFilesPatch } = await import('diff');
  const paths = [...new Set([...changes.writes.keys(), ...changes.deletes])].sort();
  // Old contents, and the new ones git already holds (stored ahead of the commit: only their ids are kept).
  const stored = [...changes.writes.values()].filter((file) => typeof file !== 'string').map((file) => file.blob);
  const before = await readBlobs([
    ...paths.map((file) => existing.get(file)).filter((id): id is string => id !== undefined),
    ...stored,
  ]);
  const parts: string[] = [];
  let used = 0;
  let totalChars = 0;
  let full = false;
  for (const file of paths) {
    const id = existing.get(file);
    const old = id === undefined ? '' : (before.get(id) ?? '');
    const write = changes.writes.get(file);
    const next = write === undefined ? '' : typeof write === 'string' ? write : before.get(write.blob);
    if (next === undefined)
      throw new InternalError(
        `the new content of ${file} (blob ${typeof write === 'string' ? '' : write?.blob}) was stored ahead, but git does not have it`,
      );
    const patch = createTwoFilesPatch(
      id === undefined ? '/dev/null' : `a/${file}`,
      changes.writes.has(file) ? `b/${file}` : '/dev/null',
      old,
      next,
      '',
      '',
      { context: 3 },
    )
      // git's own shape: no separator line, no tab after the file names.
      .replace(/^=+\n/, '')
      .replace(/^(---|\+\+\+) (.*)\t$/gm, '$1 $2');
    totalChars += patch.length;
    // Stop at the first file that does not fit: the excerpt is a prefix, in path order.
    if (full || (options.maxChars !== undefined && used + patch.length > options.maxChars)) {
      full = true;
      continue;
    }
    parts.push(patch);
    used += patch.length;
  }
  return { text: parts.join(''), files: paths.length, omittedFiles: paths.length - parts.length, totalChars };
}
