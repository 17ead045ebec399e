/**
 * Which Sprig and Lynq functions have a filter here, and in which argument order; and why
 * the others are refused. Sprig passes a piped value as the LAST argument and names the
 * subject last (`default "x" .plan`, `trunc 8 .uid`); the bridge's filters take the subject
 * first (`plan | default("x")`), so each entry says which argument is the subject.
 */

/** `variadic`: `arity` is the least number of arguments (Sprig's `add 1 2 3`); the subject is then the first. */
export type FilterMapping = { filter: string; arity: number; subject: number; variadic?: true };

const unary = (filter: string): FilterMapping => ({ filter, arity: 1, subject: 0 });

export const FUNCTION_FILTERS: Readonly<Record<string, FilterMapping>> = {
  // Lynq's own
  toHost: unary('toHost'),
  trunc63: unary('trunc63'),
  sha1sum: unary('sha1sum'),
  fromJson: unary('fromJson'),
  int: unary('int'),
  float: unary('float'),
  bool: unary('bool'),
  // Sprig, subject last
  lower: unary('lower'),
  upper: unary('upper'),
  title: unary('title'),
  trim: unary('trim'),
  quote: unary('quote'),
  squote: unary('squote'),
  b64enc: unary('b64enc'),
  b64dec: unary('b64dec'),
  sha256sum: unary('sha256sum'),
  toJson: unary('toJson'),
  toYaml: unary('toYaml'),
  kebabcase: unary('kebabcase'),
  snakecase: unary('snakecase'),
  camelcase: unary('camelcase'),
  trimPrefix: { filter: 'trimPrefix', arity: 2, subject: 1 },
  trimSuffix: { filter: 'trimSuffix', arity: 2, subject: 1 },
  trunc: { filter: 'trunc', arity: 2, subject: 1 },
  replace: { filter: 'replace', arity: 3, subject: 2 },
  indent: { filter: 'indent', arity: 2, subject: 1 },
  nindent: { filter: 'nindent', arity: 2, subject: 1 },
  default: { filter: 'default', arity: 2, subject: 1 },
  ternary: { filter: 'ternary', arity: 3, subject: 2 },
  join: { filter: 'join', arity: 2, subject: 1 },
  splitList: { filter: 'split', arity: 2, subject: 1 },
  // Sprig: regexReplaceAll REGEX S REPL; here s | regexReplaceAll(regex, repl)
  regexReplaceAll: { filter: 'regexReplaceAll', arity: 3, subject: 1 },
  // Sprig's integer math names its operands in order: `sub A B` is A - B, so A is the subject.
  add: { filter: 'add', arity: 1, subject: 0, variadic: true },
  mul: { filter: 'mul', arity: 1, subject: 0, variadic: true },
  max: { filter: 'max', arity: 1, subject: 0, variadic: true },
  min: { filter: 'min', arity: 1, subject: 0, variadic: true },
  sub: { filter: 'sub', arity: 2, subject: 0 },
  div: { filter: 'div', arity: 2, subject: 0 },
  mod: { filter: 'mod', arity: 2, subject: 0 },
  // Sprig: contains PART S, hasPrefix PREFIX S, required MESSAGE V: the subject is last.
  contains: { filter: 'contains', arity: 2, subject: 1 },
  hasPrefix: { filter: 'hasPrefix', arity: 2, subject: 1 },
  hasSuffix: { filter: 'hasSuffix', arity: 2, subject: 1 },
  required: { filter: 'required', arity: 2, subject: 1 },
  // Sprig: get MAP KEY, hasKey MAP KEY, coalesce A B …: the subject is first.
  get: { filter: 'get', arity: 2, subject: 0 },
  hasKey: { filter: 'hasKey', arity: 2, subject: 0 },
  coalesce: { filter: 'coalesce', arity: 1, subject: 0, variadic: true },
};

const CLOCK =
  'reads the clock, so every sync would render a new value and commit it: put the time in a column and map it in spec.extraValueMappings (timestamps arrive as ISO-8601 UTC text)';
const RANDOM =
  'is random, so every sync would render a new value and commit it: derive a stable value from the row instead, e.g. {{ .uid | sha1sum | trunc 8 }}, or keep it in a column';
const KEYS =
  'makes random keys or certificates, so every sync would commit new ones: use cert-manager, or an ExternalSecret / SealedSecret';
const ENVIRONMENT =
  "reads the bridge's environment: map a column in spec.extraValueMappings, or write the value into the form";

/** Functions refused for a reason worth saying, with what to use instead. */
export const REFUSED_FUNCTIONS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(
    [
      'now',
      'date',
      'dateInZone',
      'date_in_zone',
      'dateModify',
      'date_modify',
      'mustDateModify',
      'must_date_modify',
      'ago',
      'unixEpoch',
      'htmlDate',
      'htmlDateInZone',
      'toDate',
      'mustToDate',
      'duration',
      'durationRound',
    ].map((name) => [name, CLOCK]),
  ),
  ...Object.fromEntries(
    [
      'randAlphaNum',
      'randAlpha',
      'randNumeric',
      'randAscii',
      'randInt',
      'randBytes',
      'uuidv4',
      'shuffle',
      'bcrypt',
      'htpasswd',
      'encryptAES',
    ].map((name) => [name, RANDOM]),
  ),
  ...Object.fromEntries(
    [
      'genPrivateKey',
      'genCA',
      'genCAWithKey',
      'genSelfSignedCert',
      'genSelfSignedCertWithKey',
      'genSignedCert',
      'genSignedCertWithKey',
      'derivePassword',
      'buildCustomCert',
    ].map((name) => [name, KEYS]),
  ),
  env: ENVIRONMENT,
  expandenv: ENVIRONMENT,
  getHostByName: 'looks up the network: put the address in a column',
  call: 'calls a function value; templates here reach only their variables and the documented filters',
  js: 'is not offered (templates here render YAML values, not JavaScript)',
  html: 'is not offered (templates here render YAML values, not HTML)',
  urlquery: 'is not offered; see docs/filters.md for the filters there are',
  slice: 'is not offered; use trunc for text',
  len: 'is not offered',
  println: 'is not offered; use print, with a newline in the text around it',
  split: 'returns a map in Sprig; use splitList, which returns the list',
  ...Object.fromEntries(
    ['floor', 'ceil', 'round', 'addf', 'subf', 'mulf', 'divf', 'maxf', 'minf', 'add1f'].map((name) => [
      name,
      "is Sprig's float math, which the bridge does not offer: use the integer math (add, sub, mul, div, mod, max, min), or compute the value in the database (a column, or a view with the arithmetic)",
    ]),
  ),
};

/**
 * Property names a member lookup must never reach: anything on a built-in prototype (the
 * way from a string to its constructor and so to code), and `__…` names. Row values are
 * strings and JSON; none of their own keys need these.
 */
const BLOCKED_NAMES: ReadonlySet<string> = new Set([
  ...[Object.prototype, String.prototype, Array.prototype, Number.prototype, Boolean.prototype].flatMap((proto) =>
    Object.getOwnPropertyNames(proto),
  ),
  'prototype',
  'caller',
  'arguments',
  'call',
  'apply',
  'bind',
]);

/** Why a name cannot be looked up, or undefined when it can. */
export function blockedName(name: string): string | undefined {
  if (name.startsWith('__') || BLOCKED_NAMES.has(name))
    return `the name ${JSON.stringify(name)} is not allowed: it is a property of JavaScript's built-in objects, not row data`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `the name ${JSON.stringify(name)} is not a template identifier`;
  return undefined;
}
