import { example, isEmpty, isPlainObject, show, str, unwrap, type Filter } from './filter-values.ts';

/**
 * Sprig's integer math, string tests, maps and `required`, as filters. Sprig computes in
 * int64; so do these (BigInt inside), and a result that leaves int64 is an error rather
 * than Go's silent wrap-around. A result beyond JavaScript's safe integers stays exact
 * (a BigInt, printed in full). As everywhere here, bad input fails the node instead of
 * turning into 0: `"abc" | add(1)` is an error, as `"abc" | int` is.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(value: unknown, filter: string): bigint {
  value = unwrap(value);
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  let big: bigint | undefined;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) big = BigInt(value.trim());
  if (big === undefined) throw new Error(`${filter}: ${show(value)} is not an integer`);
  if (big < INT64_MIN || big > INT64_MAX) throw new Error(`${filter}: ${show(value)} does not fit in a 64-bit integer`);
  return big;
}

function fromInt64(result: bigint, filter: string): number | bigint {
  if (result < INT64_MIN || result > INT64_MAX)
    throw new Error(`${filter}: the result ${result} does not fit in a 64-bit integer`);
  const number = Number(result);
  return Number.isSafeInteger(number) ? number + 0 : result;
}

/** One int64 operation over the subject and the arguments, left to right, as Sprig folds `add 1 2 3`. */
const fold =
  (filter: string, step: (a: bigint, b: bigint) => bigint) =>
  (subject: unknown, ...rest: unknown[]): number | bigint => {
    let result = toInt64(subject, filter);
    for (const value of rest) result = step(result, toInt64(value, filter));
    return fromInt64(result, filter);
  };

/** Go's integer `/` and `%`: truncated toward zero (as BigInt's), and by zero an error, not a panic. */
const divide = (filter: 'div' | 'mod') =>
  fold(filter, (a, b) => {
    if (b === 0n) throw new Error(`${filter}: division of ${a} by zero`);
    return filter === 'div' ? a / b : a % b;
  });

// Math.max and Math.min do not take BigInts.
function larger(a: bigint, b: bigint): bigint {
  if (b > a) return b;
  return a;
}

function smaller(a: bigint, b: bigint): bigint {
  if (b < a) return b;
  return a;
}

function asMap(value: unknown, filter: string): Record<string, unknown> {
  value = unwrap(value);
  if (!isPlainObject(value)) throw new Error(`${filter}: ${show(value)} is not a map (make one with dict or fromJson)`);
  return value;
}

/** Sprig's `dict "k1" v1 "k2" v2`, from the list `["k1", v1, "k2", v2]`; an odd last key gets "" as Sprig gives it. */
function dict(pairs: unknown): Record<string, unknown> {
  pairs = unwrap(pairs);
  if (!Array.isArray(pairs))
    throw new Error(
      `dict: ${show(pairs)} is not a list of keys and values, as in ["key", value, "key2", value2] | dict`,
    );
  const out: Record<string, unknown> = {};
  for (let i = 0; i < pairs.length; i += 2) {
    const key = str(pairs[i]);
    // `__proto__` would set the object's prototype rather than a key.
    if (key === '__proto__') throw new Error('dict: the key "__proto__" is not allowed');
    out[key] = i + 1 < pairs.length ? pairs[i + 1] : '';
  }
  return out;
}

/** Sprig's `required`: nil or the empty string fail, with the form's own message; 0 and false pass. */
function required(value: unknown, message: unknown): unknown {
  const plain = unwrap(value);
  if (plain === undefined || plain === null || plain === '')
    throw new Error(`required: ${str(message) || 'a value is required'}`);
  return value;
}

export const LOGIC_FILTERS: ReadonlyArray<Filter> = [
  {
    name: 'add',
    signature: 'a | add(b, …) → integer',
    description:
      'Sum of integers (decimal text or numbers), in 64-bit integer math as Sprig; anything else is an error.',
    example: example('{{ basePort | add(1000) }}', { basePort: '8080' }, '9080'),
    fn: fold('add', (a, b) => a + b),
  },
  {
    name: 'sub',
    signature: 'a | sub(b) → integer',
    description: '`a` minus `b`, in 64-bit integer math.',
    example: example('{{ replicas | sub(1) }}', { replicas: '3' }, '2'),
    fn: fold('sub', (a, b) => a - b),
  },
  {
    name: 'mul',
    signature: 'a | mul(b, …) → integer',
    description: 'Product of integers, in 64-bit integer math.',
    example: example('{{ memoryGi | mul(1024) }}Mi', { memoryGi: '4' }, '4096Mi'),
    fn: fold('mul', (a, b) => a * b),
  },
  {
    name: 'div',
    signature: 'a | div(b) → integer',
    description: '`a` divided by `b`, truncated toward zero (as Go); dividing by zero is an error naming the field.',
    example: example('{{ cpuMillis | div(3) }}m', { cpuMillis: '1000' }, '333m'),
    fn: divide('div'),
  },
  {
    name: 'mod',
    signature: 'a | mod(b) → integer',
    description: 'Remainder of `a / b`, with the sign of `a` (as Go); by zero is an error naming the field.',
    example: example('shard-{{ tenantNumber | mod(4) }}', { tenantNumber: '42' }, 'shard-2'),
    fn: divide('mod'),
  },
  {
    name: 'max',
    signature: 'a | max(b, …) → integer',
    description: 'The largest of the integers.',
    example: example('{{ replicas | max(2) }}', { replicas: '1' }, '2'),
    fn: fold('max', (a, b) => larger(a, b)),
  },
  {
    name: 'min',
    signature: 'a | min(b, …) → integer',
    description: 'The smallest of the integers.',
    example: example('{{ replicas | min(10) }}', { replicas: '25' }, '10'),
    fn: fold('min', (a, b) => smaller(a, b)),
  },
  {
    name: 'contains',
    signature: 's | contains(part) → boolean',
    description: 'Whether the text contains `part`. Sprig writes the part first: `contains "part" .s`.',
    example: example('{{ plan | contains("enterprise") }}', { plan: 'enterprise-eu' }, 'true'),
    fn: (v: unknown, part: unknown) => str(v).includes(str(part)),
  },
  {
    name: 'hasPrefix',
    signature: 's | hasPrefix(prefix) → boolean',
    description: 'Whether the text starts with `prefix`. Sprig writes the prefix first: `hasPrefix "prefix" .s`.',
    example: example('{{ image | hasPrefix("registry.internal/") }}', { image: 'docker.io/nginx' }, 'false'),
    fn: (v: unknown, prefix: unknown) => str(v).startsWith(str(prefix)),
  },
  {
    name: 'hasSuffix',
    signature: 's | hasSuffix(suffix) → boolean',
    description: 'Whether the text ends with `suffix`. Sprig writes the suffix first: `hasSuffix "suffix" .s`.',
    example: example('{{ host | hasSuffix(".example.com") }}', { host: 'acme.example.com' }, 'true'),
    fn: (v: unknown, suffix: unknown) => str(v).endsWith(str(suffix)),
  },
  {
    name: 'dict',
    signature: '[key, value, …] | dict → map',
    description:
      'A map from a list of keys and values (Sprig\'s `dict "k" v "k2" v2`); keys become text, an odd last key gets `""`.',
    example: example(
      '{{ ["tier", plan, "app", "web"] | dict | toJson }}',
      { plan: 'gold' },
      '{"app":"web","tier":"gold"}',
    ),
    fn: dict,
  },
  {
    name: 'get',
    signature: 'map | get(key) → any',
    description:
      'The value under `key`, or `""` when the map has no such key (as Sprig); a value that is not a map is an error.',
    example: example('{{ config | fromJson | get("image") }}', { config: '{"image":"nginx:1.27"}' }, 'nginx:1.27'),
    fn: (map: unknown, key: unknown) => {
      const value = asMap(map, 'get');
      return Object.hasOwn(value, str(key)) ? value[str(key)] : '';
    },
  },
  {
    name: 'hasKey',
    signature: 'map | hasKey(key) → boolean',
    description: 'Whether the map has `key` (its own keys only); a value that is not a map is an error.',
    example: example('{{ config | fromJson | hasKey("replicas") }}', { config: '{"image":"nginx:1.27"}' }, 'false'),
    fn: (map: unknown, key: unknown) => Object.hasOwn(asMap(map, 'hasKey'), str(key)),
  },
  {
    name: 'coalesce',
    signature: 'v | coalesce(w, …) → any',
    description: 'The first value that is not empty (empty as `default` reads it); nothing when all are.',
    example: example(
      '{{ customDomain | coalesce(vanityDomain, uid ~ ".example.com") }}',
      { customDomain: '', vanityDomain: '', uid: 'acme' },
      'acme.example.com',
    ),
    fn: (...values: unknown[]) => values.find((value) => !isEmpty(value)),
  },
  {
    name: 'required',
    signature: 'v | required(message) → any',
    description:
      'The value; when it is missing, null or the empty string the node fails with `message` (and the hub, form, uid, resource and field). Sprig writes the message first: `required "message" .v`.',
    example: example('{{ region | required("the row needs a region") }}', { region: 'eu' }, 'eu'),
    fn: required,
  },
];
