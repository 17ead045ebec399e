import { loadConfig } from '../config/load.ts';
import { defaultSecretEnv } from '../config/secrets.ts';
import { ConfigError } from '../errors.ts';
import type { HistoryEntry } from '../git/history.ts';
import { parseNodeRef } from './arguments.ts';
import { nodePaths } from '../plan/prefixes.ts';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { checkRoot } from '../render/paths.ts';
import type { CommandContext } from './io.ts';
import { openHubRepo } from './repo-wiring.ts';
import { EXIT_OK } from './exit-codes.ts';

export type HistoryOptions = {
  hubs: string;
  forms: string;
  repo?: string;
  patch: boolean;
  json: boolean;
  limit?: number;
};

/**
 * `lynq history hub/form/uid`: every change to one node in the manifests repository's
 * target branch, newest first: when, which commit, who, what and why, and the pull
 * request it came through. Reads the cache clone after a fetch; never writes.
 */
export async function runHistory(name: string, options: HistoryOptions, context: CommandContext): Promise<number> {
  const node = parseNodeRef(name);
  const config = await loadConfig({
    hubsDir: options.hubs,
    formsDir: options.forms,
    publishing: { repoOverride: options.repo },
  });
  const hub = config.hubs.get(node.hub);
  if (hub === undefined)
    throw new ConfigError(
      `no hub named ${JSON.stringify(node.hub)} (hubs: ${[...config.hubs.keys()].join(', ') || 'none'})`,
    );
  const root = checkRoot(hub.spec.publish.root, { hub: hub.name, file: hub.file, field: 'spec.publish.root' });
  const secretEnv = defaultSecretEnv(context.secrets, context.io.env);
  // GitHub is loaded only when git has to borrow its token (a GitHub App): history stays quick to start.
  const credentials = async (forHub: typeof hub) => {
    const { createForges } = await import('./forge-wiring.ts');
    return createForges({ logger: context.logger, secretEnv, dryRun: false, out: context.io.out }).credentials(forHub);
  };
  const repo = await openHubRepo(hub, {
    repoOverride: options.repo,
    logger: context.logger,
    secretEnv,
    cacheDir: defaultCacheDir(context.io.env),
    credentials,
  });
  const { branch } = hub.spec.publish;
  const paths = nodePaths(hub, root, node.form, node.uid);
  try {
    const head = await repo.fetch(branch);
    const entries =
      head === undefined ? [] : await repo.history(head, { paths, node, patch: options.patch, limit: options.limit });
    const out = context.io.out;
    if (options.json) {
      out.write(`${JSON.stringify({ node: name, branch, paths, entries }, null, 2)}\n`);
    } else if (entries.length === 0) {
      out.write(`no changes to ${name} on ${branch} (looked at ${paths.join(', ')})\n`);
    } else if (options.patch) {
      out.write(entries.map(block).join('\n'));
    } else {
      out.write(table(entries));
    }
    return EXIT_OK;
  } finally {
    await repo.close();
  }
}

export { parseNodeRef };

function table(entries: readonly HistoryEntry[]): string {
  const rows = entries.map((entry) => [
    shortDate(entry.date),
    entry.commit.slice(0, 12),
    entry.author,
    entry.change,
    entry.pullRequest === undefined ? '' : `#${entry.pullRequest}`,
    entry.why,
  ]);
  const header = ['date', 'commit', 'author', 'change', 'pr', 'why'];
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

function block(entry: HistoryEntry): string {
  const pr = entry.pullRequest === undefined ? '' : ` (pull request #${entry.pullRequest})`;
  const why = entry.why ? `: ${entry.why}` : '';
  return `commit ${entry.commit}${pr}\nAuthor: ${entry.author} <${entry.email}>\nDate:   ${entry.date}\nChange: ${entry.change}${why}\n\n${entry.patch ?? ''}`;
}

/** `2024-05-01 10:00:00Z` from git's ISO date, in UTC. */
function shortDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}
