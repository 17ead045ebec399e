import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { combineProblems, ConfigError, type ErrorWhere } from '../errors.ts';
import {
  GoTemplateError,
  looksLikeGoTemplate,
  translateGoTemplate,
  UnknownGoFunctionError,
} from './go-template/translate.ts';
import { isPlainObject } from './plain-object.ts';
import { RESOURCE_LIST_NAMES, type FormFile, type FormSpec, type TResource } from './form-schema.ts';

/** Declares a form's template syntax: `go` (Lynq's) or `nunjucks` (the bridge's); detected when absent. */
export const ANNOTATION_TEMPLATE_SYNTAX = 'lynq.sh/template-syntax';

export type TemplateSyntax = 'go' | 'nunjucks';
export type LeafChange = { resource: string; field: string; from: string; to: string };
export type LeafRefusal = {
  resource: string;
  field: string;
  from: string;
  reason: string /** The name was called as an unknown function (a variable without its dot?). */;
  unknownFunction?: boolean;
};
export type SpecTranslation = { spec: FormSpec; changes: LeafChange[]; refused: LeafRefusal[] };

/**
 * Forms that came in Go syntax, keyed (weakly) by their translated spec: the original of
 * each translated leaf by resource and field, so errors found later can quote what the
 * user wrote, and `lynq validate` knows which forms get Lynq's notes.
 */
const goForms = new WeakMap<FormSpec, Map<string, string>>();
const leafKey = (resource: string, field: string): string => `${resource}\u0000${field}`;

/** True when the form was written in Lynq's Go-template syntax and translated at load. */
export function cameInGoSyntax(spec: FormSpec): boolean {
  return goForms.has(spec);
}

/** For an error found in a translated leaf: ` (written as "{{ .x }}")`, else ''. */
export function writtenAs(spec: FormSpec, where: ErrorWhere): string {
  if (where.resource === undefined || where.field === undefined) return '';
  const original = goForms.get(spec)?.get(leafKey(where.resource, where.field));
  return original === undefined ? '' : ` (written in Lynq's syntax as ${JSON.stringify(original)})`;
}

/**
 * Lynq's files as they are: a template left unquoted in YAML is reported with the fix, and a
 * form in Go-template syntax (declared with the annotation, or detected) is translated into
 * the bridge's templates. `parse` is the loader's own parse-and-validate of the file.
 */
export function acceptLynqSyntax(file: string, text: string, parse: () => FormFile): FormFile {
  const unquoted = unquotedTemplates(file, text);
  if (unquoted.length > 0) throw combineProblems(unquoted);
  const form = parse();
  const syntax = templateSyntax(form, file);
  if (syntax === 'nunjucks') return form;
  const { spec, refused, changes } = translateFormSpec(form.spec);
  if (refused.length > 0) {
    const why = detectedBecause(form);
    throw combineProblems(
      refused.map(
        (refusal) =>
          new ConfigError(
            `Go template ${JSON.stringify(refusal.from)}: ${refusal.reason}${refusal.unknownFunction === true ? why : ''}`,
            {
              file,
              form: form.metadata.name,
              resource: refusal.resource,
              field: refusal.field,
            },
          ),
      ),
    );
  }
  goForms.set(spec, new Map(changes.map((change) => [leafKey(change.resource, change.field), change.from])));
  return { ...form, spec };
}

/** The declared syntax, else `go` when any templated leaf uses Go's syntax. */
export function templateSyntax(form: FormFile, file: string): TemplateSyntax {
  const annotations = isPlainObject(form.metadata.annotations) ? form.metadata.annotations : {};
  const declared = annotations[ANNOTATION_TEMPLATE_SYNTAX];
  if (declared === 'go' || declared === 'nunjucks') return declared;
  if (declared !== undefined) {
    throw new ConfigError(
      `annotation ${ANNOTATION_TEMPLATE_SYNTAX} must be "go" or "nunjucks", not ${JSON.stringify(declared)}`,
      {
        file,
        form: form.metadata.name,
        field: `metadata.annotations.${ANNOTATION_TEMPLATE_SYNTAX}`,
      },
    );
  }
  return goSyntaxLeaf(form) === undefined ? 'nunjucks' : 'go';
}

/** The first leaf written in Go's syntax (what makes an undeclared form a Go-syntax form). */
function goSyntaxLeaf(form: FormFile): { resource: string; field: string; leaf: string } | undefined {
  for (const list of RESOURCE_LIST_NAMES) {
    for (const resource of form.spec[list])
      for (const [field, leaf] of leaves(resource))
        if (looksLikeGoTemplate(leaf)) return { resource: resource.id, field, leaf };
  }
  return undefined;
}

/** For a refusal in a detected Go-syntax form: which field made it one, and how to say otherwise. */
function detectedBecause(form: FormFile): string {
  const annotations = isPlainObject(form.metadata.annotations) ? form.metadata.annotations : {};
  if (annotations[ANNOTATION_TEMPLATE_SYNTAX] !== undefined) return '';
  const witness = goSyntaxLeaf(form);
  if (witness === undefined) return '';
  return ` (the whole form is read as Lynq's Go-template syntax because resource ${witness.resource}, field ${witness.field} is written in it: ${JSON.stringify(witness.leaf)}; write every template of a form in one syntax, or set the annotation ${ANNOTATION_TEMPLATE_SYNTAX})`;
}

/** Every templated leaf translated; refusals collected (the loader stops at the first, `lynq import` reports all). */
export function translateFormSpec(spec: FormSpec): SpecTranslation {
  const changes: LeafChange[] = [];
  const refused: LeafRefusal[] = [];
  const translateLeaf = leafTranslator(changes, refused);
  const out: Record<string, unknown> = { ...spec };
  for (const list of RESOURCE_LIST_NAMES) {
    out[list] = spec[list].map((resource) => {
      const leaf = (field: string, value: string): string => translateLeaf(resource.id, field, value);
      const translated: TResource = {
        ...resource,
        spec: mapStrings(resource.spec, 'spec', leaf) as Record<string, unknown>,
        labelsTemplate: mapValues(resource.labelsTemplate, 'labelsTemplate', leaf),
        annotationsTemplate: mapValues(resource.annotationsTemplate, 'annotationsTemplate', leaf),
      };
      if (resource.nameTemplate !== undefined) translated.nameTemplate = leaf('nameTemplate', resource.nameTemplate);
      if (resource.targetNamespace !== undefined)
        translated.targetNamespace = leaf('targetNamespace', resource.targetNamespace);
      return translated;
    });
  }
  return { spec: out as FormSpec, changes, refused };
}

/** Translates one leaf, recording the change or the refusal (a refused leaf is left as written). */
export function leafTranslator(
  changes: LeafChange[],
  refused: LeafRefusal[],
): (resource: string, field: string, from: string) => string {
  return (resource, field, from) => {
    try {
      const to = translateGoTemplate(from);
      if (to !== from) changes.push({ resource, field, from, to });
      return to;
    } catch (error) {
      if (!(error instanceof GoTemplateError)) throw error;
      refused.push({
        resource,
        field,
        from,
        reason: error.message,
        unknownFunction: error instanceof UnknownGoFunctionError,
      });
      return from;
    }
  };
}

/** The templated leaves of one resource, as [field, template]. */
export function leaves(resource: TResource): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  mapStrings(resource.spec, 'spec', (field, value) => {
    out.push([field, value]);
    return value;
  });
  if (resource.nameTemplate !== undefined) out.push(['nameTemplate', resource.nameTemplate]);
  if (resource.targetNamespace !== undefined) out.push(['targetNamespace', resource.targetNamespace]);
  for (const [key, value] of Object.entries(resource.labelsTemplate)) out.push([`labelsTemplate.${key}`, value]);
  for (const [key, value] of Object.entries(resource.annotationsTemplate))
    out.push([`annotationsTemplate.${key}`, value]);
  return out;
}

/** Every string in a tree replaced by `fn(field, string)`; fields named as the render errors name them. */
export function mapStrings(value: unknown, at: string, fn: (field: string, value: string) => string): unknown {
  if (typeof value === 'string') return fn(at, value);
  if (Array.isArray(value)) return value.map((item, i) => mapStrings(item, `${at}[${i}]`, fn));
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mapStrings(item, `${at}.${key}`, fn)]));
  return value;
}

function mapValues(
  map: Readonly<Record<string, string>>,
  at: string,
  fn: (field: string, value: string) => string,
): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, fn(`${at}.${key}`, value)]));
}

/**
 * `replicas: {{ .replicas }}` is valid YAML: a flow mapping whose one key is another flow
 * mapping (`{"{ .replicas }": null}`), and `name: {{ .uid }}-app` is a syntax error. Either
 * way the user meant a template; say where, and that it needs quotes.
 */
export function findUnquotedTemplates(file: string, text: string, firstLine = 1): void {
  const first = unquotedTemplates(file, text, firstLine)[0];
  if (first !== undefined) throw first;
}

/** Every template left unquoted in a form's text, each at its line (none when YAML finds other syntax errors: the loader reports those); `firstLine`: where the text starts in its file. */
export function unquotedTemplates(file: string, text: string, firstLine = 1): ConfigError[] {
  const found: ConfigError[] = [];
  if (!text.includes('{{')) return found;
  const lineCounter = new LineCounter();
  const shift = firstLine - 1;
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const formName = (): string | undefined => {
    const name = doc.errors.length === 0 ? doc.getIn(['metadata', 'name']) : undefined;
    return typeof name === 'string' ? name : undefined;
  };
  for (const error of doc.errors) {
    const { line } = lineCounter.linePos(error.pos[0]);
    const lineText = text.split('\n')[line - 1] ?? '';
    const unquoted = /:\s+(\{\{.*)$/.exec(lineText) ?? /^\s*-\s+(\{\{.*)$/.exec(lineText);
    if (unquoted) found.push(new ConfigError(quoteIt(unquoted[1]!.trim()), { file, line: line + shift }));
  }
  // Other syntax errors are the loader's to report; the rest of the tree is still searched (YAML parses on past an error).
  if (doc.errors.length > 0 && found.length === 0) return found;
  const lines = new Set(found.map((problem) => problem.where.line));
  const visit = (node: unknown, path: Array<string | number>): void => {
    if (isMap(node)) {
      if (
        node.flow &&
        node.items.length === 1 &&
        isMap(node.items[0]!.key) &&
        (node.items[0]!.key as YamlNode & { flow?: boolean }).flow &&
        node.items[0]!.value === null
      ) {
        const range = (node as YamlNode).range!;
        const line = lineCounter.linePos(range[0]).line + shift;
        if (!lines.has(line))
          found.push(
            new ConfigError(quoteIt(text.slice(range[0], range[1]).trim()), {
              file,
              line,
              ...locate(doc, path, formName()),
            }),
          );
        return;
      }
      for (const pair of node.items)
        if (isPair(pair) && isScalar(pair.key)) visit(pair.value, [...path, String(pair.key.value)]);
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) visit(item, [...path, i]);
    }
  };
  visit(doc.contents, []);
  return found;
}

function quoteIt(template: string): string {
  return `a template left unquoted in YAML (${template}) is read as a mapping, not a template: quote it, e.g. "${template.replace(/"/g, '\\"')}"`;
}

/** form, resource and field of a path in a form file (resource fields as the render errors name them). */
function locate(doc: Document, path: Array<string | number>, form: string | undefined): ErrorWhere {
  const where: ErrorWhere = {};
  if (form !== undefined) where.form = form;
  if (path[0] === 'spec' && typeof path[1] === 'string' && typeof path[2] === 'number') {
    const id = doc.getIn(['spec', path[1], path[2], 'id']);
    if (typeof id === 'string') where.resource = id;
    where.field = formatField(path.slice(3));
  } else {
    where.field = formatField(path);
  }
  return where;
}

function formatField(path: Array<string | number>): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}
