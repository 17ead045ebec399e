import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Hub } from '../config/load.ts';
import { ConfigError } from '../errors.ts';
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
 * repository is and what the last commit wrote. `files`: where the demo's hub and form
 * files are (the package's own; tests hand in copies they can edit).
 */
export async function runDemo(
  options: { dir: string },
  context: CommandContext,
  files = { hubsDir: DEMO_HUBS_DIR, formsDir: DEMO_FORMS_DIR },
): Promise<number> {
  const { io } = context;
  // The container image carries neither the demo's files nor its database (pglite): say so,
  // rather than ask for a --hubs the demo does not take.
  if (!existsSync(files.hubsDir)) {
    throw new ConfigError(
      `lynq demo needs its hub and form files (${files.hubsDir}) and the embedded Postgres (pglite), which this installation leaves out, as the container image does: run the demo from the npm package (npm install -g lynq-gitops-bridge) or a clone`,
    );
  }
  const repo = path.resolve(options.dir, 'manifests.git');
  // Checked before anything is created, so a broken installation leaves no half-made repository;
  // loaded once, with the checks the sync below would make (loading is most of a second run's start-up).
  const config = await loadConfig({ ...files, publishing: { repoOverride: repo } });
  if (!existsSync(path.join(repo, 'HEAD'))) {
    await mkdir(repo, { recursive: true });
    await createGit(repo, { registry: context.secrets }).raw(['init', '--bare', '--initial-branch=main']);
    io.out.write(`created the demo manifests repository ${repo}\n`);
  }
  const hub = config.hubs.get(DEMO_HUB);
  const database = await demoDatabase(hub, path.resolve(options.dir));
  if (hub !== undefined) config.hubs.set(DEMO_HUB, database.adjust(hub));
  const git = createGit(repo, { registry: context.secrets });
  const head = () => git.raw(['rev-parse', '--verify', '--quiet', 'main']).catch(() => '');
  const before = await head();
  const code = await runSync(
    {
      hubs: files.hubsDir,
      forms: files.formsDir,
      hub: DEMO_HUB,
      repo,
      dryRun: false,
      diff: false,
      allowDeletions: false,
      config,
    },
    context,
  );
  await database.afterSync();
  // This run's commit, if it made one: a run that changed nothing does not show the last one again as if it were new.
  const log =
    (await head()) === before
      ? ''
      : await git.raw(['log', '--max-count=1', '--stat=120', '--format=%n%h %s%n%n%b', 'main']).catch(() => '');
  io.out.write(`\nmanifests repository: ${repo}\n`);
  io.out.write(`look around:  git clone ${repo} /tmp/lynq-demo && ls -R /tmp/lynq-demo/nodes\n`);
  io.out.write(
    `change a row: edit ${database.seedFile} (the demo database is made again from it when it changes) and run it again\n`,
  );
  if (log.trim() !== '') io.out.write(`\nthis run's commit:${log}`);
  return code;
}

/** What the demo database's folder was last seeded from: the seed file, and pglite (its folders belong to one Postgres version). */
export const DEMO_SEEDED_FILE = 'pglite.seeded';

/**
 * The demo keeps its embedded database in `<dir>/pglite` between runs: opening a database
 * takes a fraction of the time and memory of creating one (initdb, then the seed) on every
 * run. `<dir>/pglite.seeded` holds a hash of the seed file and of the pglite version it was
 * seeded with; when either changed, the folder is removed and the sync's source seeds a
 * new one, so an edited row in the seed file is one commit, as before.
 */
async function demoDatabase(
  hub: Hub | undefined,
  dir: string,
): Promise<{ seedFile: string; adjust(hub: Hub): Hub; afterSync(): Promise<void> }> {
  const settings = hub?.spec.source.pglite;
  if (hub === undefined || settings?.seedFile === undefined)
    throw new ConfigError(`the demo hub (${DEMO_HUB}) must be a pglite hub with a seedFile`, {
      file: hub?.file,
      field: 'spec.source.pglite.seedFile',
    });
  const seedFile = path.resolve(path.dirname(hub.file), settings.seedFile);
  const dataDir = path.join(dir, 'pglite');
  const seededFile = path.join(dir, DEMO_SEEDED_FILE);
  // An unreadable seed file is left for the source to report, as it would without this.
  const seed = await readFile(seedFile).catch(() => undefined);
  const wanted =
    seed === undefined
      ? undefined
      : createHash('sha256')
          .update(`pglite ${await pgliteVersion()}\n`)
          .update(seed)
          .digest('hex');
  const seeded = await readFile(seededFile, 'utf8').catch(() => undefined);
  if (wanted === undefined || seeded?.trim() !== wanted) {
    await rm(seededFile, { force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
  return {
    seedFile,
    adjust: (found) => ({
      ...found,
      spec: { ...found.spec, source: { ...found.spec.source, pglite: { ...settings, dataDir } } },
    }),
    async afterSync() {
      // Written only once the folder holds a database: a run stopped while seeding leaves no mark, so the next one starts again.
      const seededNow = (await readdir(dataDir).catch(() => [])).length > 0;
      if (wanted !== undefined && seeded?.trim() !== wanted && seededNow) await writeFile(seededFile, `${wanted}\n`);
    },
  };
}

async function pgliteVersion(): Promise<string> {
  // The package exports no package.json; it sits one folder above the module's dist/.
  const manifest = new URL('../package.json', import.meta.resolve('@electric-sql/pglite'));
  return (JSON.parse(await readFile(manifest, 'utf8')) as { version: string }).version;
}
