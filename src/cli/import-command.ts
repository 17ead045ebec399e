import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { importLynqFiles, type ImportedDocument } from '../config/lynq-import.ts';
import { ConfigError } from '../errors.ts';
import type { Io } from './io.ts';
import { EXIT_CONFIG, EXIT_OK } from './exit-codes.ts';

/**
 * `lynq import [FILE|DIR…] [--out DIR]`: Lynq's hubs and forms into the bridge's. With
 * `--out`, hubs go to `DIR/hubs/<name>.yaml` and forms to `DIR/forms/<name>.yaml` (so
 * `lynq validate --hubs DIR/hubs --forms DIR/forms` checks them) and the report goes to
 * stdout; without it, the files are printed to stdout and the report to stderr.
 * Exit 0 when everything was imported, 2 when anything was refused or unreadable (the rest
 * is still written).
 */
export async function runImport(paths: readonly string[], options: { out?: string }, io: Io): Promise<number> {
  if (paths.length === 0) throw new ConfigError('lynq import needs at least one file or folder');
  const inputs: Array<{ file: string; text: string }> = [];
  for (const file of await inputFiles(paths)) inputs.push({ file, text: await readFile(file, 'utf8') });
  const report = options.out === undefined ? io.err : io.out;
  const documents: string[] = [];
  let problems = 0;
  let imported = 0;
  // What this run wrote where: a second hub or form of one name would silently overwrite the first.
  const written = new Map<string, string>();
  for (const { file, documents: docs } of importLynqFiles(inputs)) {
    for (const found of docs) {
      const target =
        found.output === undefined || options.out === undefined
          ? undefined
          : path.join(options.out, found.kind === 'LynqHub' ? 'hubs' : 'forms', `${found.name}.yaml`);
      const first = target === undefined ? undefined : written.get(target);
      const doc =
        first === undefined
          ? found
          : {
              ...found,
              output: undefined,
              error: `a ${found.kind === 'LynqHub' ? 'hub' : 'form'} of this name was imported from ${first} already: rename one (metadata.name)`,
            };
      if (target !== undefined && first === undefined) written.set(target, file);
      if (doc.error !== undefined || doc.refused.length > 0) problems++;
      report.write(`${summary(file, doc, doc.output === undefined ? undefined : target)}\n`);
      for (const change of doc.changes)
        report.write(`  translated  resource ${change.resource}, ${change.field}: ${change.from}  =>  ${change.to}\n`);
      for (const refusal of doc.refused)
        report.write(
          `  refused     resource ${refusal.resource}, ${refusal.field}: ${refusal.from}: ${refusal.reason}\n`,
        );
      for (const note of doc.differences) report.write(`  differs     ${note}\n`);
      if (doc.output === undefined) continue;
      imported++;
      if (target === undefined) {
        documents.push(doc.output);
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, doc.output);
    }
  }
  if (documents.length > 0) io.out.write(documents.join('---\n'));
  if (imported === 0) {
    io.err.write(
      `lynq: nothing imported: no LynqHub or LynqForm in ${paths.join(', ')} (a List of them, as kubectl get -o yaml gives, is read too)\n`,
    );
    return EXIT_CONFIG;
  }
  return problems > 0 ? EXIT_CONFIG : EXIT_OK;
}

function summary(file: string, doc: ImportedDocument, target: string | undefined): string {
  const what = doc.kind === 'other' ? doc.name : `${doc.kind === 'LynqHub' ? 'hub' : 'form'} ${doc.name}`;
  if (doc.error !== undefined) return `${file}: ${what}: not imported: ${doc.error}`;
  if (doc.kind === 'other') return `${file}: ${what}: left out (neither a LynqHub nor a LynqForm)`;
  if (doc.refused.length > 0)
    return `${file}: ${what}: not written: ${doc.refused.length} template${doc.refused.length === 1 ? '' : 's'} refused, ${doc.changes.length} translated`;
  const where = target === undefined ? '' : ` -> ${target}`;
  if (doc.kind === 'LynqHub') return `${file}: ${what}: kept as it is${where}`;
  return `${file}: ${what}: ${doc.changes.length} template${doc.changes.length === 1 ? '' : 's'} translated${where}`;
}

async function inputFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(given);
    } catch (cause) {
      throw new ConfigError('cannot read this file or folder', { file: given }, { cause });
    }
    if (!info.isDirectory()) {
      files.push(given);
      continue;
    }
    // Subfolders too: Lynq's repositories keep hubs/ and forms/ (or one folder per environment) below the one given.
    const entries = await readdir(given, { recursive: true, withFileTypes: true });
    const names = entries
      .filter((entry) => entry.isFile() && (entry.name.endsWith('.yaml') || entry.name.endsWith('.yml')))
      .map((entry) => path.join(entry.parentPath, entry.name));
    files.push(...names.sort());
  }
  return files;
}
