import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.ts';
import { createGit } from '../git/git.ts';
import type { CommandContext } from './io.ts';
import { runSync } from './sync-command.ts';

export const DEMO_HUB = 'demo';

/**
 * The demo's hub and form ship with the bridge: they are read from the installed package,
 * not from the current folder, so `lynq demo` works wherever it is run.
 */
export const DEMO_HUBS_DIR = fileURLToPath(new URL('../../hubs', import.meta.url));
export const DEMO_FORMS_DIR = fileURLToPath(new URL('../../forms', import.meta.url));

/**
 * `npm start`: a real sync of the demo hub (embedded Postgres, seeded from
 * hubs/demo-seed.sql) into a bare repository it creates on first run, then where that
 * repository is and what the last commit wrote.
 */
export async function runDemo(options: { dir: string }, context: CommandContext): Promise<number> {
  const { io } = context;
  // Checked before anything is created, so a broken installation leaves no half-made repository.
  await loadConfig({ hubsDir: DEMO_HUBS_DIR, formsDir: DEMO_FORMS_DIR });
  const repo = path.resolve(options.dir, 'manifests.git');
  if (!existsSync(path.join(repo, 'HEAD'))) {
    await mkdir(repo, { recursive: true });
    await createGit(repo, { registry: context.secrets }).raw(['init', '--bare', '--initial-branch=main']);
    io.out.write(`created the demo manifests repository ${repo}\n`);
  }
  const code = await runSync({ hubs: DEMO_HUBS_DIR, forms: DEMO_FORMS_DIR, hub: DEMO_HUB, repo, dryRun: false, diff: false, allowDeletions: false }, context);
  const git = createGit(repo, { registry: context.secrets });
  const log = await git.raw(['log', '--max-count=1', '--stat=120', '--format=%n%h %s%n%n%b', 'main']).catch(() => '');
  io.out.write(`\nmanifests repository: ${repo}\n`);
  io.out.write(`look around:  git clone ${repo} /tmp/lynq-demo && ls -R /tmp/lynq-demo/nodes\n`);
  io.out.write(`change a row: edit ${path.join(DEMO_HUBS_DIR, 'demo-seed.sql')} (the demo database is re-seeded on every run) and run it again\n`);
  if (log.trim() !== '') io.out.write(`\nlast commit:${log}`);
  return code;
}
