import { createHash } from 'node:crypto';
import type { Environment } from 'nunjucks';
import { stringify as yamlStringify } from 'yaml';
import { toDnsLabel } from './names.ts';
import { LOGIC_FILTERS } from './filters-logic.ts';
import {
  example,
  fromJson,
  isEmpty,
  jsonText,
  show,
  str,
  toBool,
  toFloat,
  toInt,
  type Filter,
} from './filter-values.ts';

/**
 * The template filters: Lynq's own plus the deterministic part of Sprig. Sprig's pipeline
 * puts the piped value last; nunjucks passes it first, so `{{ x | trimPrefix("a") }}` is
 * Sprig's `{{ x | trimPrefix "a" }}`. Every example below is rendered by the tests and
 * copied into docs/filters.md, so the documentation cannot drift from the code.
 * Nothing here reads the clock, randomness, the environment or the network: the same row
 * must render to the same bytes, or every sync would commit noise.
 */

// ---- string helpers ---------------------------------------------------------------

/** Sprig counts characters; slicing by code point never splits an emoji in half. */
function truncate(value: unknown, n: unknown): string {
  const chars = Array.from(str(value));
  const count = toInt(n, 'trunc');
  if (count < 0) return chars.slice(Math.max(0, chars.length + count)).join('');
  return chars.slice(0, count).join('');
}

function toHost(value: unknown): string {
  const text = str(value);
  // Only text with `//` has a host, as in Go's url.Parse; the last `@` ends the userinfo.
  const url = /^(?:[a-z][a-z0-9+.-]*:)?\/\/(?:[^/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)/i.exec(text);
  if (url?.[1]) return url[1].replace(/^\[(.*)\]$/, '$1');
  const hostPort = /^([^:/?#@[\]\s]+):\d*$/.exec(text); // Lynq also drops the port of `host:port`
  return hostPort?.[1] ?? text;
}

/** Go's strings.Title: which characters start a word. */
function isWordBreak(char: string): boolean {
  if (char.charCodeAt(0) <= 0x7f) return !/[A-Za-z0-9_]/.test(char);
  if (/[\p{L}\p{Nd}]/u.test(char)) return false;
  return /\s/u.test(char);
}

function title(value: unknown): string {
  let out = '';
  let previous = ' ';
  for (const char of str(value)) {
    const upper = char.toUpperCase();
    // Keep letters whose upper case is two characters (ß → SS), as Go does.
    out += isWordBreak(previous) && Array.from(upper).length === 1 ? upper : char;
    previous = char;
  }
  return out;
}

/** Words for the case filters: split on spaces, `_`, `-` and lower→upper or ABc changes. */
function words(value: unknown): string[] {
  return str(value)
    .split(/[\s_-]+/u)
    .flatMap((part) =>
      part
        .replace(/([\p{Ll}\p{Nd}])(\p{Lu})/gu, '$1 $2')
        .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
        .split(' '),
    )
    .filter((word) => word !== '');
}

function capitalise(word: string): string {
  const [first = '', ...rest] = Array.from(word);
  return first.toUpperCase() + rest.join('').toLowerCase();
}

const GO_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** Go's strconv.Quote, whose escapes are also valid in a YAML double-quoted scalar. */
function quote(value: unknown): string {
  let out = '"';
  for (const char of str(value)) {
    const code = char.codePointAt(0) ?? 0;
    const hex = (digits: number) => code.toString(16).padStart(digits, '0');
    if (GO_ESCAPES[char] !== undefined) out += GO_ESCAPES[char];
    else if (char === ' ' || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(char)) out += char;
    else out += code < 0x80 ? `\\x${hex(2)}` : code < 0x10000 ? `\\u${hex(4)}` : `\\U${hex(8)}`;
  }
  return `${out}"`;
}

function b64dec(value: unknown): string {
  const text = str(value).replace(/[\r\n]/g, ''); // Go's decoder skips line breaks too
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error(`b64dec: ${show(value)} is not valid padded base64`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Buffer.from(text, 'base64'));
  } catch (error) {
    throw new Error('b64dec: the decoded bytes are not UTF-8 text', { cause: error });
  }
}

/** A JS RegExp from Go (RE2) syntax: a leading `(?ims)` becomes flags, `(?P<n>` becomes `(?<n>`. */
function goRegExp(pattern: unknown): RegExp {
  const source = str(pattern);
  const flags = /^\(\?([ims]+)\)/.exec(source);
  try {
    return new RegExp(source.slice(flags?.[0].length ?? 0).replace(/(?<!\\)\(\?P</g, '(?<'), `g${flags?.[1] ?? ''}`);
  } catch (error) {
    throw new Error(`regexReplaceAll: invalid regular expression ${show(source)}`, { cause: error });
  }
}

/**
 * Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`. As in Go, `$name` takes the
 * longest run of letters, digits and `_`, so `$1x` means group "1x" (empty): write `${1}x`.
 */
function regexReplaceAll(value: unknown, pattern: unknown, replacement: unknown): string {
  const text = str(value);
  const template = str(replacement);
  let out = '';
  let last = 0;
  for (const match of text.matchAll(goRegExp(pattern))) {
    const expanded = template.replace(/\$(?:\$|\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/gu, (all, braced, bare) => {
      if (all === '$$') return '$';
      const name = (braced ?? bare) as string;
      return (/^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name]) ?? '';
    });
    out += text.slice(last, match.index) + expanded;
    last = match.index + match[0].length;
  }
  return out + text.slice(last);
}

function indent(value: unknown, n: unknown): string {
  const width = toInt(n, 'indent');
  if (width < 0) throw new Error(`indent: the width must not be negative, got ${width}`);
  const pad = ' '.repeat(width);
  return pad + str(value).replaceAll('\n', `\n${pad}`);
}

const hash = (algorithm: string) => (value: unknown) => createHash(algorithm).update(str(value), 'utf8').digest('hex');

// ---- the catalogue ----------------------------------------------------------------

export const FILTERS: ReadonlyArray<Filter> = [
  // Lynq's own
  {
    name: 'toHost',
    signature: 'url | toHost → string',
    description: 'Host part of a URL (no port, no brackets around IPv6); the host of `host:port`; otherwise the input.',
    example: example('{{ url | toHost }}', { url: 'https://a.example.com:8443/x' }, 'a.example.com'),
    fn: toHost,
  },
  {
    name: 'trunc63',
    signature: 's | trunc63 → string',
    description: 'First 63 characters, then trailing `-` and `.` trimmed, so a label stays valid.',
    example: example(
      '{{ name | trunc63 }}',
      { name: 'tenant-with-a-rather-long-name-for-kubernetes-objects-that-goes-on' },
      'tenant-with-a-rather-long-name-for-kubernetes-objects-that-goes',
    ),
    fn: (v: unknown) => truncate(v, 63).replace(/[-.]+$/, ''),
  },
  {
    name: 'sha1sum',
    signature: 's | sha1sum → string',
    description: 'SHA-1 of the UTF-8 text, in hex.',
    example: example('{{ uid | sha1sum }}', { uid: 'test' }, 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3'),
    fn: hash('sha1'),
  },
  {
    name: 'fromJson',
    signature: 's | fromJson → any',
    description:
      'Parses JSON; bad JSON or a missing value is an error. An already decoded value (a JSON column) is returned as is.',
    example: example(
      '{{ (config | fromJson).image }}',
      { config: '{"image":"nginx:1.27","replicas":3}' },
      'nginx:1.27',
    ),
    fn: fromJson,
  },
  {
    name: 'int',
    signature: 'v | int → number',
    description:
      'A decimal integer from a string (surrounding spaces allowed) or number; anything else (`abc`, `1.5`, missing) is an error, never 0.',
    example: example('{{ replicas | int + 1 }}', { replicas: '3' }, '4'),
    fn: (v: unknown) => toInt(v),
  },
  {
    name: 'float',
    signature: 'v | float → number',
    description: 'A finite decimal number from a string or number; anything else is an error, never 0.',
    example: example('{{ ratio | float * 2 }}', { ratio: '0.25' }, '0.5'),
    fn: toFloat,
  },
  {
    name: 'bool',
    signature: 'v | bool → boolean',
    description:
      '`true/True/TRUE/1/yes/Yes/YES` → true; `false/False/FALSE/0/no/No/NO`, empty or missing → false; anything else is an error.',
    example: example('{{ enabled | bool }}', { enabled: 'Yes' }, 'true'),
    fn: (v: unknown) => toBool(v),
  },
  // Sprig's deterministic ones
  {
    name: 'lower',
    signature: 's | lower → string',
    description: 'Lower case.',
    example: example('{{ name | lower }}', { name: 'Acme Corp' }, 'acme corp'),
    fn: (v: unknown) => str(v).toLowerCase(),
  },
  {
    name: 'upper',
    signature: 's | upper → string',
    description: 'Upper case.',
    example: example('{{ name | upper }}', { name: 'Acme Corp' }, 'ACME CORP'),
    fn: (v: unknown) => str(v).toUpperCase(),
  },
  {
    name: 'title',
    signature: 's | title → string',
    description:
      'First letter of each word upper-cased, the rest unchanged (words break at spaces and ASCII punctuation except `_`).',
    example: example('{{ name | title }}', { name: 'hello wORLD-wide web' }, 'Hello WORLD-Wide Web'),
    fn: title,
  },
  {
    name: 'trim',
    signature: 's | trim → string',
    description: 'Removes leading and trailing white space.',
    example: example('[{{ name | trim }}]', { name: '  acme \n' }, '[acme]'),
    fn: (v: unknown) => str(v).trim(),
  },
  {
    name: 'trimPrefix',
    signature: 's | trimPrefix(prefix) → string',
    description: 'Removes `prefix` once, when the text starts with it.',
    example: example('{{ image | trimPrefix("docker.io/") }}', { image: 'docker.io/library/nginx' }, 'library/nginx'),
    fn: (v: unknown, prefix: unknown) => {
      const s = str(v);
      const p = str(prefix);
      return s.startsWith(p) ? s.slice(p.length) : s;
    },
  },
  {
    name: 'trimSuffix',
    signature: 's | trimSuffix(suffix) → string',
    description: 'Removes `suffix` once, when the text ends with it.',
    example: example('{{ host | trimSuffix(".") }}', { host: 'a.example.com.' }, 'a.example.com'),
    fn: (v: unknown, suffix: unknown) => {
      const s = str(v);
      const x = str(suffix);
      return x !== '' && s.endsWith(x) ? s.slice(0, -x.length) : s;
    },
  },
  {
    name: 'trunc',
    signature: 's | trunc(n) → string',
    description: 'First `n` characters; a negative `n` keeps the last `-n`.',
    example: example('{{ uid | trunc(5) }}-{{ uid | trunc(-3) }}', { uid: 'customer-042' }, 'custo-042'),
    fn: truncate,
  },
  {
    name: 'replace',
    signature: 's | replace(old, new) → string',
    description: 'Replaces every occurrence of `old`, literally (no patterns, no `$` references).',
    example: example('{{ name | replace(" ", "-") }}', { name: 'my tenant name' }, 'my-tenant-name'),
    fn: (v: unknown, from: unknown, to: unknown) => str(v).replaceAll(str(from), () => str(to)),
  },
  {
    name: 'regexReplaceAll',
    signature: 's | regexReplaceAll(regex, replacement) → string',
    description:
      'Replaces every match of a JS regular expression (Go `(?i)` prefix and `(?P<name>` accepted); `$1`, `${1}`, `${name}` and `$$` in the replacement, as in Go.',
    example: example(
      '{{ email | regexReplaceAll("^([^@]+)@(.+)$", "${2}/$1") }}',
      { email: 'jane@example.com' },
      'example.com/jane',
    ),
    fn: regexReplaceAll,
  },
  {
    name: 'quote',
    signature: 's | quote → string',
    description: 'Double-quoted with Go `%q` escaping (`"`, `\\`, control characters), which is also valid YAML.',
    example: example('{{ motto | quote }}', { motto: 'say "hi" \\ bye' }, '"say \\"hi\\" \\\\ bye"'),
    fn: quote,
  },
  {
    name: 'squote',
    signature: 's | squote → string',
    description: 'Single-quoted, nothing escaped (as Sprig).',
    example: example('{{ name | squote }}', { name: 'acme' }, "'acme'"),
    fn: (v: unknown) => `'${str(v)}'`,
  },
  {
    name: 'b64enc',
    signature: 's | b64enc → string',
    description: 'Standard base64 of the UTF-8 text.',
    example: example('{{ password | b64enc }}', { password: 's3cr3t' }, 'czNjcjN0'),
    fn: (v: unknown) => Buffer.from(str(v), 'utf8').toString('base64'),
  },
  {
    name: 'b64dec',
    signature: 's | b64dec → string',
    description: 'Decodes standard padded base64; invalid base64 or bytes that are not UTF-8 are an error.',
    example: example('{{ encoded | b64dec }}', { encoded: 'aGVsbG8=' }, 'hello'),
    fn: b64dec,
  },
  {
    name: 'sha256sum',
    signature: 's | sha256sum → string',
    description: 'SHA-256 of the UTF-8 text, in hex.',
    example: example(
      '{{ uid | sha256sum }}',
      { uid: 'test' },
      '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    ),
    fn: hash('sha256'),
  },
  {
    name: 'toJson',
    signature: 'v | toJson → string',
    description: 'Compact JSON, object keys sorted (as Go writes maps); missing → `null`.',
    example: example(
      '{{ labels | fromJson | toJson }}',
      { labels: '{ "tier": "gold", "app": "web" }' },
      '{"app":"web","tier":"gold"}',
    ),
    fn: jsonText,
  },
  {
    name: 'toYaml',
    signature: 'v | toYaml → string',
    description: 'Block-style YAML of the JSON form of the value, keys sorted, no line folding, no trailing newline.',
    example: example(
      '{{ config | fromJson | toYaml }}',
      { config: '{"replicas":2,"env":[{"name":"A","value":"1"}]}' },
      'env:\n  - name: A\n    value: "1"\nreplicas: 2',
    ),
    fn: (v: unknown) =>
      yamlStringify(JSON.parse(jsonText(v)), { lineWidth: 0, aliasDuplicateObjects: false }).replace(/\n$/, ''),
  },
  {
    name: 'indent',
    signature: 's | indent(n) → string',
    description: 'Puts `n` spaces before every line, the first included.',
    example: example('{{ body | indent(2) }}', { body: 'a: 1\nb: 2' }, '  a: 1\n  b: 2'),
    fn: indent,
  },
  {
    name: 'nindent',
    signature: 's | nindent(n) → string',
    description: 'A newline, then `indent(n)`.',
    example: example('data:{{ body | nindent(2) }}', { body: 'a: 1\nb: 2' }, 'data:\n  a: 1\n  b: 2'),
    fn: (v: unknown, n: unknown) => `\n${indent(v, n)}`,
  },
  {
    name: 'default',
    signature: 'v | default(fallback) → any',
    description:
      '`fallback` when the value is missing, null, empty string, empty list or object, false or 0; otherwise the value.',
    example: example('{{ plan | default("basic") }}', { plan: '' }, 'basic'),
    fn: (v: unknown, fallback: unknown) => (isEmpty(v) ? fallback : v),
  },
  {
    name: 'ternary',
    signature: 'cond | ternary(whenTrue, whenFalse) → any',
    description:
      '`whenTrue` or `whenFalse` by the condition, read as `bool` reads it (so the string "false" is false).',
    example: example('{{ isProd | bool | ternary("3", "1") }}', { isProd: 'yes' }, '3'),
    fn: (v: unknown, whenTrue: unknown, whenFalse: unknown) => (toBool(v, 'ternary') ? whenTrue : whenFalse),
  },
  {
    name: 'join',
    signature: 'list | join(sep) → string',
    description: 'Joins list items with `sep`, skipping null items; a string is returned as is.',
    example: example('{{ zones | split(",") | join(" / ") }}', { zones: 'a,b,c' }, 'a / b / c'),
    fn: (v: unknown, sep: unknown) =>
      Array.isArray(v)
        ? v
            .filter((item) => item !== undefined && item !== null)
            .map(str)
            .join(str(sep))
        : str(v),
  },
  {
    name: 'split',
    signature: 's | split(sep) → string[]',
    description: 'Splits at every `sep` (an empty `sep` splits into characters); empty text gives `[""]`.',
    example: example('{{ (hosts | split(","))[1] }}', { hosts: 'a.example.com,b.example.com' }, 'b.example.com'),
    fn: (v: unknown, sep: unknown) => (str(sep) === '' ? Array.from(str(v)) : str(v).split(str(sep))),
  },
  {
    name: 'kebabcase',
    signature: 's | kebabcase → string',
    description: 'Lower-case words joined by `-`; words split at spaces, `_`, `-` and case changes.',
    example: example('{{ name | kebabcase }}', { name: 'myHTTPServer_v2 name' }, 'my-http-server-v2-name'),
    fn: (v: unknown) => words(v).join('-').toLowerCase(),
  },
  {
    name: 'snakecase',
    signature: 's | snakecase → string',
    description: 'Lower-case words joined by `_`; words split as for `kebabcase`.',
    example: example('{{ name | snakecase }}', { name: 'myHTTPServer_v2 name' }, 'my_http_server_v2_name'),
    fn: (v: unknown) => words(v).join('_').toLowerCase(),
  },
  {
    name: 'camelcase',
    signature: 's | camelcase → string',
    description: 'Words (split as for `kebabcase`) capitalised and joined: `http_server` → `HttpServer`.',
    example: example('{{ name | camelcase }}', { name: 'http_server' }, 'HttpServer'),
    fn: (v: unknown) => words(v).map(capitalise).join(''),
  },
  {
    name: 'dnsLabel',
    signature: 's | dnsLabel → string',
    description:
      'Any text as a valid RFC 1123 DNS label; a changed or cut input gets `-` and 8 hex of its SHA-256, so names stay unique.',
    example: example('{{ name | dnsLabel }}', { name: 'Acme Corp (EU)' }, 'acme-corp-eu-5265b414'),
    fn: (v: unknown) => toDnsLabel(str(v)),
  },
  // Sprig's integer math, string tests, maps and required
  ...LOGIC_FILTERS,
];

/** Adds every filter to `env`, replacing nunjucks built-ins of the same name (Sprig semantics win). */
export function registerFilters(env: Environment): void {
  for (const filter of FILTERS) env.addFilter(filter.name, filter.fn);
  // nunjucks' short alias must mean the same as `default`, or `{{ x | d("y") }}` and
  // `{{ x | default("y") }}` would disagree on empty values.
  env.addFilter('d', FILTERS.find((filter) => filter.name === 'default')!.fn);
}
