import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { combineProblems, ConfigError, problemsOf } from '../errors.ts';
import { dagLevels } from './dag.ts';
import {
  FormFile,
  RESOURCE_LISTS,
  RESOURCE_LIST_NAMES,
  type FormSpec,
  type ResourceList,
  type TResource,
} from './form-schema.ts';
import { HubFile, type HubSpec } from './hub-schema.ts';
import { acceptLynqSyntax } from './lynq-syntax.ts';
import { selectorFindings } from './row-selector.ts';
import { formFindings, publishFindings, type PublishCheckOptions } from './static-checks.ts';
import { formatPath, parseYamlFile } from './yaml-file.ts';

export type Hub = {
  name: string;
  /** Default namespace of rendered resources (Lynq: the namespace of the LynqNode). */
  namespace: string;
  file: string;
  spec: HubSpec;
  /** The line of a field in the hub file (`['spec', 'valueMappings', 'uid']`), for errors found later (a mapped column the table lacks). */
  lineOf?: (path: ReadonlyArray<string | number>) => number | undefined;
};

/** A form resource with what the bridge derives from the form: its list and DAG level. */
export type FormResource = TResource & {
  list: ResourceList;
  /** The kind the list implies (`deployments` → Deployment); undefined for `manifests`. */
  expectedKind: string | undefined;
  level: number;
};

export type Form = {
  name: string;
  file: string;
  spec: FormSpec;
  /** All resources, in dependency order (level, then the form's own order). */
  resources: FormResource[];
  /** The line of a field in the form file (`['spec', 'rows', 'when']`), for problems found later (a selector naming a variable the hub lacks). */
  lineOf?: (path: ReadonlyArray<string | number>) => number | undefined;
};

export type Config = {
  hubs: Map<string, Hub>;
  forms: Form[];
};

export type LoadOptions = {
  hubsDir: string;
  formsDir: string;
  /** Check that every hub can publish (repository, root, pull-request settings), as sync and history need; `--repo` stands in for `spec.publish.repo`. */
  publishing?: PublishCheckOptions;
};

/** Load, validate and cross-check every hub and form file; every problem found is thrown at once (one ConfigError, one line each). */
export async function loadConfig(options: LoadOptions): Promise<Config> {
  const { config, problems } = await collectConfig(options);
  if (problems.length > 0) throw combineProblems(problems);
  return config;
}

/** Every hub and form that loads, and every problem of the others: for `lynq validate`, which reports them all. */
export async function collectConfig(options: LoadOptions): Promise<{ config: Config; problems: ConfigError[] }> {
  const problems: ConfigError[] = [];
  const hubs = new Map<string, Hub>();
  const hubFiles = await yamlFiles(options.hubsDir, 'hubs', problems);
  for (const file of hubFiles) {
    const text = await readConfigText(file, problems);
    if (text === undefined) continue;
    const { hub, problems: found } = readHub(file, text, options.publishing);
    problems.push(...found);
    if (hub === undefined) continue;
    const existing = hubs.get(hub.name);
    if (existing)
      problems.push(new ConfigError(`hub ${hub.name} is defined twice (also in ${existing.file})`, { file }));
    else hubs.set(hub.name, hub);
  }
  const forms: Form[] = [];
  const formFiles = await yamlFiles(options.formsDir, 'forms', problems);
  for (const file of formFiles) {
    const text = await readConfigText(file, problems);
    if (text === undefined) continue;
    const { form, problems: found } = readForm(file, text);
    problems.push(...found);
    if (form === undefined) continue;
    const twin = forms.find((other) => other.name === form.name);
    if (twin) {
      problems.push(new ConfigError(`form ${form.name} is defined twice (also in ${twin.file})`, { file }));
      continue;
    }
    if (!hubs.has(form.spec.hubId)) {
      // A hub that failed to load is reported already; a form of it is not an orphan.
      if (!problems.some((problem) => hubFiles.includes(problem.where.file ?? ''))) {
        problems.push(
          new ConfigError(
            `spec.hubId names hub ${JSON.stringify(form.spec.hubId)}, which no file in ${path.resolve(options.hubsDir)} defines (hubs: ${[...hubs.keys()].join(', ') || 'none'})`,
            {
              file,
              field: 'spec.hubId',
            },
          ),
        );
      }
      continue;
    }
    forms.push(form);
  }
  return { config: { hubs, forms }, problems };
}

/**
 * A hub or form file's text; a file that cannot be read (a folder named `x.yaml`, no
 * permission) is a ConfigError naming its path and what to do, never a bare `EISDIR`.
 * With `problems`, the error is added there (undefined returned) instead of thrown.
 */
export async function readConfigText(file: string, problems?: ConfigError[]): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && problems === undefined) throw cause;
    const reason =
      code === 'EISDIR'
        ? 'is a folder, not a file: rename it (no .yaml or .yml ending) or move it out of the folder'
        : code === 'EACCES'
          ? 'cannot be read: permission denied'
          : `cannot be read (${code ?? (cause as Error).message})`;
    const error = new ConfigError(reason, { file }, { cause });
    if (problems === undefined) throw error;
    problems.push(error);
    return undefined;
  }
}

async function yamlFiles(dir: string, what: 'hubs' | 'forms', problems: ConfigError[]): Promise<string[]> {
  let names: string[];
  const full = path.resolve(dir);
  try {
    names = await readdir(dir);
  } catch (cause) {
    const reason =
      (cause as { code?: string }).code === 'ENOENT'
        ? 'there is no such folder'
        : (cause as { code?: string }).code === 'ENOTDIR'
          ? 'it is not a folder'
          : `it cannot be read (${(cause as Error).message})`;
    throw new ConfigError(
      `cannot read the ${what} folder ${full}: ${reason}; run lynq in the folder that holds hubs/ and forms/, or pass --${what} DIR`,
      {},
      { cause },
    );
  }
  const files = names
    .filter((name) => (name.endsWith('.yaml') || name.endsWith('.yml')) && !name.startsWith('.'))
    .sort()
    .map((name) => path.join(dir, name));
  // No forms is a valid state for bootstrap (and for a hub whose forms were all removed); sync says so itself.
  if (files.length === 0 && what === 'hubs') {
    problems.push(
      new ConfigError(
        `no ${what === 'hubs' ? 'hub' : 'form'} files (*.yaml or *.yml) in ${full}: nothing to ${what === 'hubs' ? 'sync' : 'render'}; pass --${what} DIR if they are elsewhere`,
      ),
    );
  }
  return files;
}

export function parseHub(file: string, text: string, publishing?: PublishCheckOptions): Hub {
  const { hub, problems } = readHub(file, text, publishing);
  if (problems.length > 0 || hub === undefined) throw combineProblems(problems);
  return hub;
}

function readHub(
  file: string,
  text: string,
  publishing: PublishCheckOptions | undefined,
): { hub?: Hub; problems: ConfigError[] } {
  const parsed = parseYamlFile(file, text, 'LynqHub', HubFile);
  if (parsed.data === undefined) return { problems: parsed.problems };
  const hub: Hub = {
    name: parsed.data.metadata.name,
    namespace: parsed.data.metadata.namespace ?? 'default',
    file,
    spec: parsed.data.spec,
    lineOf: parsed.lineOf,
  };
  if (publishing === undefined) return { hub, problems: [] };
  const problems = publishFindings(hub, publishing).map(
    (finding) =>
      new ConfigError(finding.message, {
        file,
        line: parsed.lineOf(finding.path),
        hub: hub.name,
        field: formatPath(finding.path),
      }),
  );
  // The hub is kept with its publish problems, so its forms and secrets are still checked (validate reports everything at once).
  return { hub, problems };
}

export function parseForm(file: string, text: string): Form {
  const { form, problems } = readForm(file, text);
  if (problems.length > 0 || form === undefined) throw combineProblems(problems);
  return form;
}

function readForm(file: string, text: string): { form?: Form; problems: ConfigError[] } {
  let parsed: ReturnType<typeof parseYamlFile<typeof FormFile>> | undefined;
  let form: FormFile;
  try {
    // Lynq's Go-template forms are translated first (config/lynq-syntax.ts); a file that does not parse stops there.
    form = acceptLynqSyntax(file, text, () => {
      parsed = parseYamlFile(file, text, 'LynqForm', FormFile);
      if (parsed.data === undefined) throw combineProblems(parsed.problems);
      return parsed.data;
    });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { problems: parsed !== undefined && parsed.problems.length > 0 ? parsed.problems : problemsOf(error) };
  }
  const lineOf = parsed?.lineOf ?? (() => undefined);
  const name = form.metadata.name;
  const problems = [...formFindings(form.spec, RESOURCE_LIST_NAMES), ...selectorFindings(form.spec)].map(
    (finding) =>
      new ConfigError(finding.message, {
        file,
        line: lineOf(finding.path),
        form: name,
        field: formatPath(finding.path),
      }),
  );
  const listed: Array<Omit<FormResource, 'level'>> = [];
  const seen = new Map<string, string>();
  for (const list of RESOURCE_LIST_NAMES) {
    form.spec[list].forEach((resource, index) => {
      const other = seen.get(resource.id);
      if (other !== undefined) {
        problems.push(
          new ConfigError(
            `resource id ${resource.id} is used twice (also in spec.${other}); ids must be unique across all lists`,
            {
              file,
              line: lineOf(['spec', list, index, 'id']),
              field: `spec.${list}[${index}].id`,
            },
          ),
        );
        return;
      }
      seen.set(resource.id, `${list}`);
      listed.push({ ...resource, list, expectedKind: RESOURCE_LISTS[list] });
    });
  }
  let levels: Map<string, number>;
  try {
    levels = dagLevels(listed, { file, form: name });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { problems: [...problems, error] };
  }
  if (problems.length > 0) return { problems };
  const resources = listed
    .map((resource, order) => ({ resource: { ...resource, level: levels.get(resource.id) ?? 0 }, order }))
    .sort((a, b) => a.resource.level - b.resource.level || a.order - b.order)
    .map(({ resource }) => resource);
  return { form: { name, file, spec: form.spec, resources, lineOf: parsed?.lineOf }, problems: [] };
}

export { formatPath };
