import { isMap, isNode, isSeq, LineCounter, parseAllDocuments, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { closestName } from './did-you-mean.ts';
import { toPlainData } from './yaml-limits.ts';
import { explainYamlError } from './yaml-syntax.ts';

/**
 * A hub or form file read as a newcomer would hope: every problem of the file at once,
 * each at the line of the key it is about, in words rather than the validator's
 * (`is required`, `did you mean extraValueMappings?`), with the two YAML traps named:
 * several documents in one file, and an unquoted `{{ … }}` (which YAML reads as a mapping).
 */
export type ParsedFile<T> = {
  data: T | undefined;
  problems: ConfigError[];
  lineOf: (path: ReadonlyArray<string | number>) => number | undefined;
};

export function parseYamlFile<S extends z.ZodType>(
  file: string,
  text: string,
  kind: string,
  schema: S,
): ParsedFile<z.infer<S>> {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const none: ParsedFile<z.infer<S>> = { data: undefined, problems: [], lineOf: () => undefined };
  if (!Array.isArray(docs)) return none; // an empty file: its kind is reported below
  const nonEmpty = docs.filter((doc) => doc.contents !== null);
  if (nonEmpty.length > 1) {
    const line = lineCounter.linePos(nonEmpty[1]!.range[0]).line;
    const message = `one ${kind} per file: this file holds ${nonEmpty.length} YAML documents (separated by ---); put each in a file of its own`;
    return { ...none, problems: [new ConfigError(message, { file, line })] };
  }
  const doc = nonEmpty[0] ?? docs[0];
  const lines = text.split('\n');
  const syntax = doc?.errors[0];
  const templates = doc === undefined ? [] : unquotedTemplates(doc, lineCounter, lines);
  if (syntax) {
    const line = lineCounter.linePos(syntax.pos[0]).line;
    if (UNQUOTED_TEMPLATE.test(lines[line - 1] ?? '')) templates.push(line);
    else {
      const explained = explainYamlError(syntax, text, lineCounter);
      return {
        ...none,
        problems: [new ConfigError(explained.message, { file, line: explained.line }, { cause: syntax })],
      };
    }
  }
  if (templates.length > 0) {
    const message =
      'quote the template: a value that starts with { is read by YAML as a mapping, so write it in quotes: "{{ … }}"';
    return {
      ...none,
      problems: [...new Set(templates)].sort((a, b) => a - b).map((line) => new ConfigError(message, { file, line })),
    };
  }
  let raw: unknown;
  try {
    raw = doc === undefined ? undefined : toPlainData(doc, lineCounter, file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { ...none, problems: [error] };
  }
  const actual = isRecord(raw) ? raw.kind : undefined;
  if (actual !== kind) {
    return {
      ...none,
      problems: [
        new ConfigError(
          `expected kind: ${kind}, found ${actual === undefined ? 'no kind' : `kind: ${String(actual)}`}`,
          { file },
        ),
      ],
    };
  }
  const lineOf = (path: ReadonlyArray<string | number>): number | undefined =>
    doc === undefined ? undefined : keyLine(doc, lineCounter, path);
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { data: parsed.data, problems: [], lineOf };
  const problems: ConfigError[] = [];
  for (const issue of parsed.error.issues) {
    const path = issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part));
    if (issue.code === 'unrecognized_keys') {
      const known = keysAt(schema, path);
      for (const key of issue.keys) {
        const hint = closestName(key, known);
        const detail = `unknown field ${key}${hint === undefined ? '' : `: did you mean \`${hint}\`?`}${hint === undefined && known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`;
        problems.push(
          new ConfigError(
            detail,
            { file, line: lineOf([...path, key]), field: formatPath([...path, key]) },
            { cause: parsed.error },
          ),
        );
      }
      continue;
    }
    problems.push(
      new ConfigError(
        issueMessage(issue, valueAt(raw, path)),
        { file, field: formatPath(path), line: lineOf(path) },
        { cause: parsed.error },
      ),
    );
  }
  return { data: undefined, problems, lineOf };
}

/** A line whose value starts with `{{` outside quotes: `name: {{ uid }}-app` or `- {{ x }}`. */
const UNQUOTED_TEMPLATE = /^\s*(?:-\s+)*(?:[^\s#'"{][^#]*?:\s+)?(?:-\s+)?\{\{/;

/** Lines of flow mappings that begin `{{`: what YAML made of an unquoted `{{ uid }}`. */
function unquotedTemplates(doc: Document, lineCounter: LineCounter, lines: readonly string[]): number[] {
  const found: number[] = [];
  visit(doc, {
    Map(_, node) {
      if (!node.flow || node.range === undefined || node.range === null) return;
      const { line, col } = lineCounter.linePos(node.range[0]);
      if ((lines[line - 1] ?? '').slice(col - 1).startsWith('{{')) found.push(line);
    },
  });
  return found;
}

function issueMessage(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'invalid_key' && issue.issues[0] !== undefined) return `key ${issue.issues[0].message}`;
  if (issue.code === 'invalid_type') {
    if (value === undefined) return 'is required';
    return `must be ${article(issue.expected)}, not ${describeValue(value)}`;
  }
  if (issue.code === 'invalid_value')
    return `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}, not ${describeValue(value)}${valueHint(value, issue.values)}`;
  if (issue.code === 'invalid_union') return `is not any of the forms this field takes (${describeValue(value)})`;
  return issue.message;
}

/** Other names people give a value (`postgres` for `postgresql`), then the closest spelling. */
const ALIASES: Readonly<Record<string, string>> = { postgres: 'postgresql', pg: 'postgresql', mariadb: 'mysql' };

function valueHint(value: unknown, allowed: readonly unknown[]): string {
  if (typeof value !== 'string') return '';
  const names = allowed.filter((item): item is string => typeof item === 'string');
  const alias = ALIASES[value.toLowerCase()];
  const hint = alias !== undefined && names.includes(alias) ? alias : closestName(value, names);
  return hint === undefined ? '' : `: did you mean ${JSON.stringify(hint)}?`;
}

function article(type: string): string {
  return type === 'object'
    ? 'a mapping'
    : type === 'array'
      ? 'a list'
      : /^[aeiou]/.test(type)
        ? `an ${type}`
        : `a ${type}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = root;
  for (const part of path)
    value = isRecord(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[part] : undefined;
  return value;
}

/** The line of a key (not of its value); a missing key points at its parent's key. */
function keyLine(doc: Document, lineCounter: LineCounter, path: ReadonlyArray<string | number>): number | undefined {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = doc.getIn(path.slice(0, depth - 1), true);
    const last = path[depth - 1]!;
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isNode(item.key) && (item.key as { value?: unknown }).value === last);
      if (pair && isNode(pair.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
    } else if (isSeq(parent)) {
      const item = parent.items[Number(last)];
      if (isNode(item) && item.range) return lineCounter.linePos(item.range[0]).line;
    }
  }
  return isNode(doc.contents) && doc.contents.range ? lineCounter.linePos(doc.contents.range[0]).line : undefined;
}

type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  innerType?: z.ZodType;
  in?: z.ZodType;
};

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** The field names a strict object at `path` of the schema knows, for "did you mean". */
function keysAt(schema: z.ZodType, path: ReadonlyArray<string | number>): string[] {
  let current: z.ZodType[] = [schema];
  const unwrap = (list: z.ZodType[]): z.ZodType[] =>
    list.flatMap((item) => {
      const def = defOf(item);
      if (def.innerType) return unwrap([def.innerType]);
      if (def.type === 'pipe' && def.in) return unwrap([def.in]);
      if (def.type === 'union' && def.options) return unwrap(def.options);
      return [item];
    });
  for (const part of path) {
    current = unwrap(current).flatMap((item) => {
      const def = defOf(item);
      if (def.type === 'object' && def.shape && typeof part === 'string' && def.shape[part]) return [def.shape[part]];
      if (def.type === 'array' && def.element) return [def.element];
      if (def.type === 'record' && def.valueType) return [def.valueType];
      return [];
    });
  }
  return [...new Set(unwrap(current).flatMap((item) => Object.keys(defOf(item).shape ?? {})))];
}

export function formatPath(parts: ReadonlyArray<string | number>): string {
  return parts
    .map((part, i) =>
      typeof part === 'number' || /^\d+$/.test(String(part)) ? `[${part}]` : i === 0 ? part : `.${part}`,
    )
    .join('');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
