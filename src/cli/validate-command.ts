import path from 'node:path';
import { isPlainObject } from '../render/canonical-yaml.ts';
import { localProblems } from '../config/local-checks.ts';
import { collectConfig, formatPath, type Config } from '../config/load.ts';
import { formSelectors } from '../config/row-selector.ts';
import { lynqDifferences } from '../config/lynq-notes.ts';
import { unknownScopes } from '../config/kind-scope.ts';
import { writtenAs } from '../config/lynq-syntax.ts';
import { unknownFieldWarnings } from '../config/unknown-fields.ts';
import { isLynqError, messageOf, SourceError } from '../errors.ts';
import { engineLimits } from '../gitops/limits.ts';
import { readHubRows } from '../sources/factory.ts';
import { defaultSecretEnv } from '../config/secrets.ts';
import { templateVariables } from '../plan/render-hub.ts';
import { TemplateEngine } from '../render/template.ts';
import type { CommandContext } from './io.ts';
import { EXIT_CONFIG, EXIT_NOT_PUBLISHED, EXIT_OK } from './exit-codes.ts';
import { rolloutChecks } from './rollout-notes.ts';

/**
 * Every file parsed and cross-checked (collectConfig, with the publish settings a sync needs), then every template of every form
 * compiled against its hub's variables, so a typo fails here and not on 10,000 nodes.
 * Then a note for each resource policy the hub's engine cannot express exactly.
 */
export async function runValidate(
  options: { hubs: string; forms: string; repo?: string; filesOnly?: boolean; connect?: boolean },
  context: CommandContext,
): Promise<number> {
  const { io } = context;
  // Everything a sync checks before it reads a database, all at once: files, schemas, publish settings, templates.
  const { config, problems: loadProblems } = await collectConfig({
    hubsDir: options.hubs,
    formsDir: options.forms,
    publishing: { repoOverride: options.repo },
  });
  const rollout = rolloutChecks(config, io.env);
  const local: string[] = [];
  if (options.filesOnly !== true) {
    for (const hub of config.hubs.values())
      for (const problem of await localProblems(hub, { env: io.env, repoOverride: options.repo }))
        local.push(problem.message);
  }
  const problems = [
    ...loadProblems.map((problem) => problem.message),
    ...local,
    ...(loadProblems.some((problem) => inFolder(problem.where.file, options.forms))
      ? []
      : noForms(config, options.forms)),
    ...checkTemplates(config),
    ...rollout.problems,
  ];
  // Only files that check out are worth a connection: a broken hub would fail before its rows anyway.
  const rows =
    options.connect === true && problems.length === 0
      ? await rowProblems(config, context)
      : { problems: [], unreachable: false };
  problems.push(...rows.problems);
  for (const problem of problems) io.err.write(`lynq: ${problem}\n`);
  // A database that could not be read is a source failure, as in a sync; a column the table lacks is the files'.
  if (rows.unreachable) return EXIT_NOT_PUBLISHED;
  if (problems.length > 0) return EXIT_CONFIG;
  // Not errors: where Argo CD or Flux cannot express a policy exactly, say so per resource.
  for (const form of config.forms)
    for (const note of engineLimits(config.hubs.get(form.spec.hubId)!, form)) io.out.write(`note: ${note}\n`);
  for (const form of config.forms)
    for (const note of lynqDifferences(config.hubs.get(form.spec.hubId)!, form)) io.out.write(`note: ${note}\n`);
  for (const note of rollout.notes) io.out.write(`note: ${note}\n`);
  for (const hub of config.hubs.values()) {
    const forms = config.forms.filter((form) => form.spec.hubId === hub.name);
    for (const line of unknownScopes(forms, hub.spec.kindScopes)) io.out.write(`warning: ${line}\n`);
  }
  for (const form of config.forms) for (const line of unknownFieldWarnings(form)) io.out.write(`warning: ${line}\n`);
  const resources = config.forms.reduce((sum, form) => sum + form.resources.length, 0);
  io.out.write(`ok: ${config.hubs.size} hubs, ${config.forms.length} forms, ${resources} resources\n`);
  return EXIT_OK;
}

/** `--connect`: each hub's rows read once as a sync reads them; a missing column, an invalid uid or an unreachable database, named. */
async function rowProblems(
  config: Config,
  context: CommandContext,
): Promise<{ problems: string[]; unreachable: boolean }> {
  const problems: string[] = [];
  let unreachable = false;
  for (const hub of config.hubs.values()) {
    try {
      await readHubRows(hub, { secretEnv: defaultSecretEnv(context.secrets, context.io.env), logger: context.logger });
    } catch (error) {
      if (!isLynqError(error)) throw error;
      unreachable ||= error instanceof SourceError;
      problems.push(messageOf(error));
    }
  }
  return { problems, unreachable };
}

/** A hub no form renders would publish nothing: a sync of it fails, so validate says so (once every form has loaded: a broken one may name it). */
function noForms(config: Config, formsDir: string): string[] {
  const used = new Set(config.forms.map((form) => form.spec.hubId));
  return [...config.hubs.values()]
    .filter((hub) => !used.has(hub.name))
    .map(
      (hub) =>
        `${hub.file}, hub ${hub.name}: no form in ${path.resolve(formsDir)} names this hub (spec.hubId: ${hub.name}), so a sync has nothing to render; add one, or pass --forms DIR`,
    );
}

const inFolder = (file: string | undefined, dir: string): boolean =>
  file !== undefined && path.resolve(path.dirname(file)) === path.resolve(dir);

export function checkTemplates(config: Config): string[] {
  const problems: string[] = [];
  for (const form of config.forms) {
    const hub = config.hubs.get(form.spec.hubId)!;
    const engine = new TemplateEngine(templateVariables(hub));
    // Row selectors first: with the line they are at (a template leaf's field says where it is).
    for (const { path: at, expression, resource } of formSelectors(form.spec)) {
      try {
        engine.checkSelector(expression, {
          file: form.file,
          line: form.lineOf?.(at),
          form: form.name,
          resource,
          field: resource === undefined ? formatPath(at) : 'when',
        });
      } catch (error) {
        if (!isLynqError(error)) throw error;
        problems.push(messageOf(error));
      }
    }
    for (const resource of form.resources) {
      const where = { file: form.file, form: form.name, resource: resource.id };
      const leaves: Array<[string, string]> = [];
      collectStrings(resource.spec, 'spec', leaves);
      if (resource.nameTemplate !== undefined) leaves.push(['nameTemplate', resource.nameTemplate]);
      if (resource.targetNamespace !== undefined) leaves.push(['targetNamespace', resource.targetNamespace]);
      for (const [key, value] of Object.entries(resource.labelsTemplate)) leaves.push([`labelsTemplate.${key}`, value]);
      for (const [key, value] of Object.entries(resource.annotationsTemplate))
        leaves.push([`annotationsTemplate.${key}`, value]);
      for (const [field, source] of leaves) {
        try {
          engine.compile(source, { ...where, field });
        } catch (error) {
          if (!isLynqError(error)) throw error;
          problems.push(messageOf(error) + writtenAs(form.spec, error.where));
        }
      }
    }
  }
  return problems;
}

function collectStrings(value: unknown, at: string, out: Array<[string, string]>): void {
  if (typeof value === 'string') out.push([at, value]);
  else if (Array.isArray(value)) for (const [i, item] of value.entries()) collectStrings(item, `${at}[${i}]`, out);
  else if (isPlainObject(value))
    for (const [key, item] of Object.entries(value)) collectStrings(item, `${at}.${key}`, out);
}
