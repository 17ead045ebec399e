import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseForm, parseHub, readConfigText, type Form, type Hub } from '../config/load.ts';
import { ConfigError, messageOf } from '../errors.ts';

/** A file that could not be used at the last load; its last good version (if any) is still in force. */
export type ConfigProblem = { file: string; error: string; keptLastGood: boolean };

export type ConfigSnapshot = { hubs: Map<string, Hub>; forms: Form[]; problems: ConfigProblem[] };

/**
 * The config of a long-running service, loaded file by file. Unlike `loadConfig` (which
 * stops at the first bad file, right for a one-shot command), one broken file here must
 * not stop the other hubs: it is reported, and its last good version stays in force until
 * it is fixed. A file removed from the folder takes its hub or form with it.
 */
export class ConfigStore {
  private readonly goodHubs = new Map<string, Hub>();
  private readonly goodForms = new Map<string, Form>();

  constructor(private readonly dirs: { hubsDir: string; formsDir: string }) {}

  /** Read both folders again. Throws a ConfigError only when a folder itself cannot be read. */
  async load(): Promise<ConfigSnapshot> {
    const problems: ConfigProblem[] = [];
    await this.readInto(this.dirs.hubsDir, 'hubs', this.goodHubs, parseHub, problems);
    await this.readInto(this.dirs.formsDir, 'forms', this.goodForms, parseForm, problems);

    const hubs = new Map<string, Hub>();
    for (const hub of [...this.goodHubs.values()].sort((a, b) => a.file.localeCompare(b.file))) {
      const twin = hubs.get(hub.name);
      if (twin !== undefined) {
        problems.push({
          file: hub.file,
          error: `${hub.file}: hub ${hub.name} is defined twice (also in ${twin.file}); this file is ignored`,
          keptLastGood: false,
        });
        continue;
      }
      hubs.set(hub.name, hub);
    }
    const forms: Form[] = [];
    for (const form of [...this.goodForms.values()].sort((a, b) => a.file.localeCompare(b.file))) {
      if (forms.some((other) => other.name === form.name)) {
        problems.push({
          file: form.file,
          error: `${form.file}: form ${form.name} is defined twice; this file is ignored`,
          keptLastGood: false,
        });
      } else if (!hubs.has(form.spec.hubId)) {
        problems.push({
          file: form.file,
          error: `${form.file}: spec.hubId names hub ${JSON.stringify(form.spec.hubId)}, which no file in ${this.dirs.hubsDir} defines`,
          keptLastGood: false,
        });
      } else {
        forms.push(form);
      }
    }
    return { hubs, forms, problems };
  }

  private async readInto<T>(
    dir: string,
    what: string,
    good: Map<string, T>,
    parse: (file: string, text: string) => T,
    problems: ConfigProblem[],
  ): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (cause) {
      throw new ConfigError(`cannot read the ${what} folder`, { file: dir }, { cause });
    }
    const files = names
      .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
      .map((name) => path.join(dir, name));
    for (const file of [...good.keys()]) if (!files.includes(file)) good.delete(file);
    for (const file of files) {
      try {
        good.set(file, parse(file, (await readConfigText(file))!));
      } catch (error) {
        // A file being replaced can vanish between readdir and read: it is gone, not broken.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          good.delete(file);
          continue;
        }
        problems.push({ file, error: messageOf(error), keptLastGood: good.has(file) });
      }
    }
  }
}
