import { ConfigError } from '../errors.ts';

/**
 * Lynq's `ignoreFields` are JSONPath expressions (`$.spec.replicas`,
 * `$.metadata.annotations['a/b']`, `$.spec.containers[*].image`,
 * `$.spec.containers[?(@.name == 'app')].image`). Argo CD's `ignoreDifferences` takes
 * JSON Pointers or jq path expressions, so each path is parsed here and turned into a
 * JSON Pointer when it names one field, or a jq path when it has wildcards or filters.
 */

type Segment =
  | { type: 'key'; key: string }
  | { type: 'index'; index: number }
  | { type: 'wildcard' }
  | { type: 'filter'; jq: string };

export type ArgoIgnorePath = { jsonPointer: string } | { jqPathExpression: string };

/** A JSONPath the converter does not support; the form schema reports it at the field that holds it. */
export class JsonPathError extends ConfigError {}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parse and convert; throws JsonPathError saying what is not supported. */
export function toArgoIgnorePath(path: string): ArgoIgnorePath {
  const segments = parseJsonPath(path);
  if (segments.every((segment) => segment.type === 'key' || segment.type === 'index')) {
    return {
      jsonPointer: segments
        .map((segment) => `/${segment.type === 'key' ? escapePointer(segment.key) : segment.index}`)
        .join(''),
    };
  }
  // A filter ends a jq pipeline stage: `.spec.containers[] | select(.name == "app") | .image`.
  const stages: string[] = [];
  let stage = '';
  for (const segment of segments) {
    if (segment.type === 'key')
      stage += IDENTIFIER.test(segment.key) ? `.${segment.key}` : `.[${JSON.stringify(segment.key)}]`;
    else if (segment.type === 'index') stage += `.[${segment.index}]`;
    else if (segment.type === 'wildcard') stage += '.[]';
    else {
      stages.push(`${stage}.[]`, `select(${segment.jq})`);
      stage = '';
    }
  }
  if (stage !== '') stages.push(stage);
  // `.a.[0]` is valid jq 1.7 but not 1.6 (gojq, in Argo CD, takes both); write the classic `.a[0]`.
  return { jqPathExpression: stages.map((item) => item.replace(/(?<=[A-Za-z0-9_\])])\.\[/g, '[')).join(' | ') };
}

/** Parse a JSONPath into segments; throws JsonPathError. */
export function parseJsonPath(path: string): Segment[] {
  const text = path.trim();
  if (!text.startsWith('$'))
    throw new JsonPathError(`${JSON.stringify(path)} must start with "$" (like $.spec.replicas)`);
  const segments: Segment[] = [];
  let at = 1;
  while (at < text.length) {
    const char = text[at];
    if (text.startsWith('..', at))
      throw new JsonPathError(`${JSON.stringify(path)}: recursive descent ("..") is not supported`);
    if (char === '.') {
      if (text[at + 1] === '*') {
        segments.push({ type: 'wildcard' });
        at += 2;
        continue;
      }
      const match = /^[^.[\]\s]+/.exec(text.slice(at + 1));
      if (!match) throw new JsonPathError(`${JSON.stringify(path)}: expected a field name after "." at ${at + 1}`);
      segments.push({ type: 'key', key: match[0] });
      at += 1 + match[0].length;
      continue;
    }
    if (char !== '[') throw new JsonPathError(`${JSON.stringify(path)}: unexpected ${JSON.stringify(char)} at ${at}`);
    const close = findClose(text, at, path);
    const inner = text.slice(at + 1, close).trim();
    at = close + 1;
    if (inner === '*') segments.push({ type: 'wildcard' });
    else if (/^\d+$/.test(inner)) segments.push({ type: 'index', index: Number(inner) });
    else if (/^(['"]).*\1$/s.test(inner)) segments.push({ type: 'key', key: unquote(inner, path) });
    else if (inner.startsWith('?(') && inner.endsWith(')'))
      segments.push({ type: 'filter', jq: filterToJq(inner.slice(2, -1), path) });
    else
      throw new JsonPathError(
        `${JSON.stringify(path)}: [${inner}] is not supported (use a field name, an index, * or a ?(@.field == value) filter)`,
      );
  }
  if (segments.length === 0) throw new JsonPathError(`${JSON.stringify(path)} names the whole object; name a field`);
  return segments;
}

function findClose(text: string, open: number, path: string): number {
  let quote: string | undefined;
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const char = text[i]!;
    if (quote !== undefined) {
      if (char === '\\') i++;
      else if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') quote = char;
    else if (char === '[' || char === '(') depth++;
    else if (char === ']' || char === ')') {
      depth--;
      if (depth === 0 && char === ']') return i;
    }
  }
  throw new JsonPathError(`${JSON.stringify(path)}: "[" at ${open} is not closed`);
}

function unquote(literal: string, path: string): string {
  const body = literal.slice(1, -1);
  if (literal.startsWith('"')) {
    try {
      return JSON.parse(literal) as string;
    } catch {
      throw new JsonPathError(`${JSON.stringify(path)}: bad string ${literal}`);
    }
  }
  return body.replace(/\\(['\\])/g, '$1');
}

/** `@.a.b == 'x' && @.c` → `.a.b == "x" and .c != null`. Comparisons of `@` paths with literals only. */
function filterToJq(expression: string, path: string): string {
  return expression
    .split(/\s*(&&|\|\|)\s*/)
    .map((part) => (part === '&&' ? 'and' : part === '||' ? 'or' : comparisonToJq(part.trim(), path)))
    .join(' ');
}

function comparisonToJq(comparison: string, path: string): string {
  const match = /^@((?:\.[A-Za-z0-9_-]+|\[(?:'[^']*'|"[^"]*")\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+))?$/.exec(comparison);
  if (!match)
    throw new JsonPathError(
      `${JSON.stringify(path)}: filter ${JSON.stringify(comparison)} is not supported (use @.field == 'value')`,
    );
  const [, fieldPath = '', operator, literal] = match;
  const field = fieldPathToJq(fieldPath, path);
  if (operator === undefined) return `${field} != null`;
  return `${field} ${operator} ${literalToJq(literal!.trim(), path)}`;
}

function fieldPathToJq(fieldPath: string, path: string): string {
  if (fieldPath === '') return '.';
  return parseJsonPath(`$${fieldPath}`)
    .map((segment) => {
      if (segment.type !== 'key')
        throw new JsonPathError(`${JSON.stringify(path)}: only field names may follow @ in a filter`);
      return IDENTIFIER.test(segment.key) ? `.${segment.key}` : `.[${JSON.stringify(segment.key)}]`;
    })
    .join('');
}

function literalToJq(literal: string, path: string): string {
  if (/^(['"]).*\1$/s.test(literal)) return JSON.stringify(unquote(literal, path));
  if (/^-?\d+(\.\d+)?$/.test(literal) || literal === 'true' || literal === 'false' || literal === 'null')
    return literal;
  throw new JsonPathError(
    `${JSON.stringify(path)}: ${literal} is not a literal (a quoted string, a number, true, false or null)`,
  );
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}
