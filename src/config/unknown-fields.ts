import { formatWhere } from '../errors.ts';
import { closestName } from './did-you-mean.ts';
import { type FormSpec, RESOURCE_LIST_NAMES } from './form-schema.ts';
import { BUILT_IN_KIND_MODELS, BUILT_IN_MODEL_FIELDS } from './k8s-fields.ts';
import { isPlainObject } from './plain-object.ts';
import { formatPath } from './yaml-file.ts';

/**
 * Fields a built-in kind does not have. The API server drops an unknown field (or, with
 * strict field validation, refuses the object), so `env:` one level out of its container
 * is committed, applied, and does nothing: `lynq validate` warns of it, with the place the
 * field belongs when the kind has it nearby. The schemas know only each kind's fields, not
 * what a template will put there, so a templated key or value is not looked into.
 */

export type UnknownField = {
  /** Path parts from the manifest's root to the unknown field. */
  path: Array<string | number>;
  /** Where it may belong, relative to the object it is in (`containers[].env`), or a near spelling. */
  hint?: string;
};

type Field = { model?: string; shape: 'one' | 'list' | 'map' };

const parsed = new Map<string, Map<string, Field>>();

function fieldsOf(model: string): Map<string, Field> {
  let fields = parsed.get(model);
  if (fields !== undefined) return fields;
  fields = new Map();
  for (const entry of (BUILT_IN_MODEL_FIELDS[model] ?? '').split(' ')) {
    if (entry === '') continue;
    const [name, ref] = entry.split(':') as [string, string | undefined];
    if (ref === undefined) fields.set(name, { shape: 'one' });
    else if (ref.endsWith('[]')) fields.set(name, { model: ref.slice(0, -2), shape: 'list' });
    else if (ref.endsWith('{}')) fields.set(name, { model: ref.slice(0, -2), shape: 'map' });
    else fields.set(name, { model: ref, shape: 'one' });
  }
  parsed.set(model, fields);
  return fields;
}

const TEMPLATE = /\{\{|\{%/;

/** The unknown fields of a manifest of a built-in kind; none for a kind the table does not describe. */
export function unknownFields(manifest: Record<string, unknown>): UnknownField[] {
  const model = BUILT_IN_KIND_MODELS[`${String(manifest.apiVersion)} ${String(manifest.kind)}`];
  if (model === undefined) return [];
  const found: UnknownField[] = [];
  walk(manifest, model, [], [], found);
  return found;
}

type Enclosing = { model: string; at: Array<string | number> };

function walk(
  value: unknown,
  model: string,
  at: Array<string | number>,
  ancestors: Enclosing[],
  found: UnknownField[],
): void {
  if (!isPlainObject(value)) return;
  const fields = fieldsOf(model);
  for (const [key, child] of Object.entries(value)) {
    if (TEMPLATE.test(key)) continue;
    const field = fields.get(key);
    if (field === undefined) {
      // sops: is the encryption envelope of a SOPS-encrypted file, not a field of the kind.
      if (at.length === 0 && key === 'sops') continue;
      found.push({ path: [...at, key], hint: hintFor(key, model, ancestors) });
      continue;
    }
    if (field.model === undefined || (typeof child === 'string' && TEMPLATE.test(child))) continue;
    const inner = [{ model, at }, ...ancestors];
    if (field.shape === 'one') walk(child, field.model, [...at, key], inner, found);
    else if (field.shape === 'list' && Array.isArray(child))
      for (const [index, item] of child.entries()) walk(item, field.model, [...at, key, index], inner, found);
    else if (field.shape === 'map' && isPlainObject(child))
      for (const [name, item] of Object.entries(child)) walk(item, field.model, [...at, key, name], inner, found);
  }
}

/** Where a field may belong: a field of an object a few levels in (`containers[].env`), of an enclosing object (`spec.replicas`), or a near spelling. */
function hintFor(key: string, model: string, ancestors: readonly Enclosing[]): string | undefined {
  const inside = pathInside(key, model);
  if (inside !== undefined) return inside;
  const enclosing = ancestors.find((ancestor) => fieldsOf(ancestor.model).has(key));
  if (enclosing !== undefined) return formatPath([...enclosing.at, key]);
  return closestName(key, fieldsOf(model).keys());
}

/** The shortest path (three levels at most) from a model to a field of that name, breadth first. */
function pathInside(key: string, model: string): string | undefined {
  let frontier: Array<{ model: string; path: string }> = [{ model, path: '' }];
  const seen = new Set([model]);
  for (let depth = 0; depth < 3; depth++) {
    const next: Array<{ model: string; path: string }> = [];
    for (const { model: current, path } of frontier) {
      for (const [name, field] of fieldsOf(current)) {
        if (field.model === undefined || seen.has(field.model)) continue;
        seen.add(field.model);
        const step = `${path === '' ? '' : `${path}.`}${name}${field.shape === 'list' ? '[]' : field.shape === 'map' ? '.<name>' : ''}`;
        if (fieldsOf(field.model).has(key)) return `${step}.${key}`;
        next.push({ model: field.model, path: step });
      }
    }
    frontier = next;
  }
  return undefined;
}

/** One warning line per unknown field of each built-in resource of a form, with its file, line and where it may belong. */
export function unknownFieldWarnings(form: {
  name: string;
  file: string;
  spec: FormSpec;
  lineOf?: (path: ReadonlyArray<string | number>) => number | undefined;
}): string[] {
  const lines: string[] = [];
  for (const list of RESOURCE_LIST_NAMES) {
    for (const [index, resource] of form.spec[list].entries()) {
      const { apiVersion, kind } = resource.spec;
      for (const field of unknownFields(resource.spec)) {
        const where = formatWhere({
          file: form.file,
          line: form.lineOf?.(['spec', list, index, 'spec', ...field.path]),
          form: form.name,
          resource: resource.id,
        });
        const hint = field.hint === undefined ? '' : ` (did you mean ${field.hint}?)`;
        lines.push(
          `${where}unknown field ${formatPath(field.path)}${hint}: ${String(kind)} (${String(apiVersion)}) has no such field, so Kubernetes drops it, or refuses the object under strict field validation`,
        );
      }
    }
  }
  return lines;
}
