import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { dagLevels } from './dag.ts';
import { FormFile, RESOURCE_LISTS, RESOURCE_LIST_NAMES, type FormSpec, type ResourceList, type TResource } from './form-schema.ts';
import { HubFile, type HubSpec } from './hub-schema.ts';
import { acceptLynqSyntax } from './lynq-syntax.ts';
import { toPlainData } from './yaml-limits.ts';

export type Hub = {
  name: string;
  /** Default namespace of rendered resources (Lynq: the namespace of the LynqNode). */
  namespace: string;
  file: string;
  spec: HubSpec;
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
};

export type Config = {
  hubs: Map<string, Hub>;
  forms: Form[];
};

export type LoadOptions = { hubsDir: string; formsDir: string };

/** Load, validate and cross-check every hub and form file; the first problem found is thrown. */
export async function loadConfig(options: LoadOptions): Promise<Config> {
  const hubs = new Map<string, Hub>();
  for (const file of await yamlFiles(options.hubsDir, 'hubs')) {
    const hub = parseHub(file, await readFile(file, 'utf8'));
    const existing = hubs.get(hub.name);
    if (existing) throw new ConfigError(`hub ${hub.name} is defined twice (also in ${existing.file})`, { file });
    hubs.set(hub.name, hub);
  }
  const forms: Form[] = [];
  for (const file of await yamlFiles(options.formsDir, 'forms')) {
    const form = parseForm(file, await readFile(file, 'utf8'));
    const twin = forms.find((other) => other.name === form.name);
    if (twin) throw new ConfigError(`form ${form.name} is defined twice (also in ${twin.file})`, { file });
    if (!hubs.has(form.spec.hubId)) {
      throw new ConfigError(`spec.hubId names hub ${JSON.stringify(form.spec.hubId)}, which no file in ${options.hubsDir} defines`, {
        file,
        field: 'spec.hubId',
      });
    }
    forms.push(form);
  }
  return { hubs, forms };
}

async function yamlFiles(dir: string, what: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw new ConfigError(`cannot read the ${what} folder`, { file: dir }, { cause });
  }
  return names
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort()
    .map((name) => path.join(dir, name));
}

export function parseHub(file: string, text: string): Hub {
  const hub = parseFile(file, text, 'LynqHub', HubFile);
  return { name: hub.metadata.name, namespace: hub.metadata.namespace ?? 'default', file, spec: hub.spec };
}

export function parseForm(file: string, text: string): Form {
  const form = acceptLynqSyntax(file, text, () => parseFile(file, text, 'LynqForm', FormFile));
  const listed: Array<Omit<FormResource, 'level'>> = [];
  const seen = new Map<string, string>();
  for (const list of RESOURCE_LIST_NAMES) {
    form.spec[list].forEach((resource, index) => {
      const other = seen.get(resource.id);
      if (other !== undefined) {
        throw new ConfigError(`resource id ${resource.id} is used twice (also in spec.${other}); ids must be unique across all lists`, {
          file,
          field: `spec.${list}[${index}].id`,
        });
      }
      seen.set(resource.id, `${list}`);
      listed.push({ ...resource, list, expectedKind: RESOURCE_LISTS[list] });
    });
  }
  const levels = dagLevels(listed, { file, form: form.metadata.name });
  const resources = listed
    .map((resource, order) => ({ resource: { ...resource, level: levels.get(resource.id) ?? 0 }, order }))
    .sort((a, b) => a.resource.level - b.resource.level || a.order - b.order)
    .map(({ resource }) => resource);
  return { name: form.metadata.name, file, spec: form.spec, resources };
}

function parseFile<S extends z.ZodType>(file: string, text: string, kind: string, schema: S): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const line = lineCounter.linePos(syntax.pos[0]).line;
    throw new ConfigError(`not valid YAML: ${syntax.message.split('\n')[0]}`, { file, line }, { cause: syntax });
  }
  const raw: unknown = toPlainData(doc, lineCounter, file);
  const actual = isRecord(raw) ? raw.kind : undefined;
  if (actual !== kind) {
    throw new ConfigError(`expected kind: ${kind}, found ${actual === undefined ? 'no kind' : `kind: ${String(actual)}`}`, { file });
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const fieldPath = issue.path.map(String);
  throw new ConfigError(issueMessage(issue), { file, field: formatPath(fieldPath), line: lineOf(doc, lineCounter, fieldPath) }, { cause: parsed.error });
}

/** zod puts the reason for a bad record key in a nested issue; surface it. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues[0] !== undefined) return `key ${issue.issues[0].message}`;
  return issue.message;
}

/** The line of the deepest YAML node on the path that exists (a missing field points at its parent). */
function lineOf(doc: Document, lineCounter: LineCounter, fieldPath: string[]): number | undefined {
  for (let depth = fieldPath.length; depth >= 0; depth--) {
    const node = doc.getIn(fieldPath.slice(0, depth).map((part) => (/^\d+$/.test(part) ? Number(part) : part)), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

export function formatPath(parts: readonly (string | number)[]): string {
  return parts.map((part, i) => (typeof part === 'number' || /^\d+$/.test(String(part)) ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
