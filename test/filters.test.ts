import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import nunjucks from 'nunjucks';
import { parse as parseYaml } from 'yaml';
import { FILTERS, registerFilters } from '../src/render/filters.ts';
import { isDnsLabel, toDnsLabel } from '../src/render/names.ts';
import { TemplateEngine } from '../src/render/template.ts';
import { RenderError } from '../src/errors.ts';

function makeEnv(): nunjucks.Environment {
  const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
  registerFilters(env);
  return env;
}

const env = makeEnv();
const render = (template: string, vars: Record<string, unknown> = {}) => env.renderString(template, vars);
const fn = (name: string) => {
  const filter = FILTERS.find((candidate) => candidate.name === name);
  assert.ok(filter, `no filter ${name}`);
  return filter.fn;
};
const hash8 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 8);

const REQUIRED = [
  'toHost',
  'trunc63',
  'sha1sum',
  'fromJson',
  'int',
  'float',
  'bool',
  'lower',
  'upper',
  'title',
  'trim',
  'trimPrefix',
  'trimSuffix',
  'trunc',
  'replace',
  'regexReplaceAll',
  'quote',
  'squote',
  'b64enc',
  'b64dec',
  'sha256sum',
  'toJson',
  'toYaml',
  'indent',
  'nindent',
  'default',
  'ternary',
  'join',
  'split',
  'kebabcase',
  'snakecase',
  'camelcase',
  'dnsLabel',
  'add',
  'sub',
  'mul',
  'div',
  'mod',
  'max',
  'min',
  'contains',
  'hasPrefix',
  'hasSuffix',
  'dict',
  'get',
  'hasKey',
  'coalesce',
  'required',
];

describe('FILTERS catalogue', () => {
  it('covers exactly the required filters, once each', () => {
    const names = FILTERS.map((filter) => filter.name);
    assert.deepEqual([...names].sort(), [...REQUIRED].sort());
    assert.equal(new Set(names).size, names.length);
  });

  for (const filter of FILTERS) {
    it(`example of ${filter.name} renders as documented`, () => {
      assert.equal(render(filter.example.template, filter.example.vars), filter.example.output);
    });
  }
});

describe('docs/filters.md', () => {
  const doc = readFileSync(new URL('../docs/filters.md', import.meta.url), 'utf8');
  /** The text under the filter's own heading, so an example cannot be matched in another section. */
  const section = (name: string): string => {
    const start = doc.indexOf(`### \`${name}\`\n`);
    assert.notEqual(start, -1, `docs/filters.md has no section for ${name}`);
    const body = doc.indexOf('\n', start) + 1;
    const next = doc.slice(body).search(/^##/m);
    return next === -1 ? doc.slice(start) : doc.slice(start, body + next);
  };

  for (const filter of FILTERS) {
    it(`documents ${filter.name} with its signature and example`, () => {
      const text = section(filter.name);
      assert.ok(text.includes(filter.signature), 'signature');
      assert.ok(text.includes(filter.description), 'description');
      assert.ok(text.includes(`\`${JSON.stringify(filter.example.vars)}\``), 'vars');
      assert.ok(text.includes(`\n${filter.example.template}\n`), 'template');
      assert.ok(text.includes(`\n${filter.example.output}\n`), 'output');
    });
  }
});

describe('registerFilters', () => {
  it('replaces the nunjucks built-ins of the same name', () => {
    assert.equal(render('{{ "hello-world" | title }}'), 'Hello-World'); // nunjucks' title gives Hello-world
    assert.equal(render('{{ body | indent(2) }}', { body: 'a\nb' }), '  a\n  b'); // nunjucks skips the first line
    assert.equal(render('{{ 0 | default("x") }}'), 'x'); // nunjucks only replaces undefined
  });
});

describe('int, float, bool', () => {
  it('convert valid input to typed values', () => {
    assert.equal(fn('int')(' 42 '), 42);
    assert.equal(fn('int')('-7'), -7);
    assert.equal(fn('int')(5), 5);
    assert.equal(fn('float')('1.5e3'), 1500);
    assert.equal(fn('float')('.5'), 0.5);
    assert.equal(fn('bool')('TRUE'), true);
    assert.equal(fn('bool')('no'), false);
    assert.equal(fn('bool')(''), false);
    assert.equal(fn('bool')(undefined), false);
    assert.equal(fn('bool')(1), true);
  });

  it('reject input that is not an integer instead of returning 0', () => {
    assert.throws(() => fn('int')('abc'), { message: 'int: "abc" is not an integer' });
    assert.throws(() => fn('int')('1.5x'), { message: 'int: "1.5x" is not an integer' });
    assert.throws(() => fn('int')('1.5'), /is not an integer/);
    assert.throws(() => fn('int')(''), /is not an integer/);
    assert.throws(() => fn('int')(undefined), { message: 'int: undefined is not an integer' });
    assert.throws(() => fn('int')('99999999999999999999'), /safe integer range/);
    assert.throws(() => render('{{ replicas | int }}', { replicas: 'three' }), /int: "three" is not an integer/);
  });

  it('reject input that is not a number or a boolean', () => {
    assert.throws(() => fn('float')('1.5x'), { message: 'float: "1.5x" is not a number' });
    assert.throws(() => fn('float')('NaN'), /is not a number/);
    assert.throws(() => fn('float')('1e999'), /is not a number/);
    assert.throws(() => fn('bool')('maybe'), {
      message: 'bool: "maybe" is not a boolean (use true/false, yes/no or 1/0)',
    });
    assert.throws(() => fn('bool')('tRuE'), /is not a boolean/);
    assert.throws(() => fn('bool')(2), /is not a boolean/);
  });
});

describe('fromJson', () => {
  it('parses JSON and names the problem on bad JSON', () => {
    assert.deepEqual(fn('fromJson')('{"a":[1,2]}'), { a: [1, 2] });
    assert.throws(() => fn('fromJson')('{bad'), /^Error: fromJson: "\{bad" is not valid JSON \(/);
    assert.throws(() => fn('fromJson')(undefined), /fromJson: there is no value to parse/);
  });

  it('returns a value that a driver already decoded', () => {
    const column = { a: 1 };
    assert.equal(fn('fromJson')(column), column);
  });
});

describe('default', () => {
  it('works on a missing variable and on the empty values', () => {
    assert.equal(render('{{ missing | default("x") }}'), 'x');
    assert.equal(render('{{ plan | default("x") }}', { plan: '' }), 'x');
    for (const empty of [null, false, 0, [], {}]) assert.equal(fn('default')(empty, 'x'), 'x');
    for (const kept of ['0', 'false', ' ', [0], { a: 1 }, true, 1]) assert.equal(fn('default')(kept, 'x'), kept);
  });
});

describe('dnsLabel and names', () => {
  it('leaves a valid label unchanged', () => {
    assert.equal(toDnsLabel('tenant-42'), 'tenant-42');
    assert.equal(toDnsLabel('a'.repeat(63)), 'a'.repeat(63));
  });

  it('lower-cases, replaces and suffixes a hash of the original', () => {
    assert.equal(toDnsLabel('MyApp'), `myapp-${hash8('MyApp')}`);
    assert.notEqual(toDnsLabel('MyApp'), toDnsLabel('myApp'));
    assert.equal(toDnsLabel('Café Zürich'), `cafe-zurich-${hash8('Café Zürich')}`);
    assert.equal(toDnsLabel('日本語'), `x-${hash8('日本語')}`);
    assert.equal(toDnsLabel('../etc'), `etc-${hash8('../etc')}`);
    assert.equal(toDnsLabel(''), `x-${hash8('')}`);
    assert.equal(render('{{ missing | dnsLabel }}'), `x-${hash8('')}`);
  });

  it('truncates long input within 63 characters and keeps it unique', () => {
    const long = 'Ab'.repeat(100);
    const label = toDnsLabel(long);
    assert.equal(label.length, 63);
    assert.ok(label.endsWith(`-${hash8(long)}`));
    assert.notEqual(toDnsLabel('a'.repeat(200)), toDnsLabel(`${'a'.repeat(199)}b`));
    assert.equal(
      toDnsLabel(`${'a'.repeat(53)}-${'b'.repeat(20)}`),
      `${'a'.repeat(33)}-${'b'.repeat(20)}-${hash8(`${'a'.repeat(53)}-${'b'.repeat(20)}`)}`,
    );
    // Cut from the left, so the uid at the end of `<hub>-<form>-<uid>` stays readable.
    const name = `customers-with-a-long-hub-name-${'w'.repeat(30)}-acme-corp`;
    assert.equal(toDnsLabel(name), `${name.slice(name.length - 54).replace(/^-+/, '')}-${hash8(name)}`);
    assert.ok(toDnsLabel(name).includes('-acme-corp-'));
  });

  it('always gives a valid label, and is idempotent', () => {
    for (const input of ['', '-', '--a--', 'UPPER', 'ünïcödé 🚀', '../etc', 'a.b.c', 'x'.repeat(200), ' 9 lives ']) {
      const label = toDnsLabel(input);
      assert.ok(isDnsLabel(label), `${JSON.stringify(input)} → ${label}`);
      assert.equal(toDnsLabel(label), label);
    }
  });

  it('isDnsLabel follows RFC 1123', () => {
    for (const valid of ['a', '0', 'a-b', 'a--b', '9lives', 'x'.repeat(63)]) assert.ok(isDnsLabel(valid), valid);
    for (const invalid of ['', 'A', '-a', 'a-', 'a.b', 'a_b', 'é', 'x'.repeat(64), '../etc'])
      assert.ok(!isDnsLabel(invalid), invalid);
  });
});

describe('string filters', () => {
  it('regexReplaceAll expands groups as Go does', () => {
    const re = fn('regexReplaceAll');
    assert.equal(re('jane@example.com', '^([^@]+)@(.+)$', '$2:$1'), 'example.com:jane');
    assert.equal(re('a1b22', '(\\d+)', '<${1}>'), 'a<1>b<22>');
    assert.equal(re('a1', '(\\d)', '$1x'), 'a'); // Go reads `$1x` as the group named "1x"
    assert.equal(re('v1.2', '(?P<major>\\d+)\\.(?P<minor>\\d+)', '${minor}.$major'), 'v2.1');
    assert.equal(re('Hello', '(?i)h', 'j'), 'jello');
    assert.equal(re('price', 'p', '$$'), '$rice');
    assert.equal(re('abc', 'x*', '-'), '-a-b-c-');
    assert.throws(() => re('a', '(', 'b'), /regexReplaceAll: invalid regular expression "\("/);
  });

  it('indent and nindent indent every line', () => {
    assert.equal(fn('indent')('a\nb\n\nc', 4), '    a\n    b\n    \n    c');
    assert.equal(render('x:{{ body | nindent(2) }}', { body: 'a: 1\nb:\n  c: 2' }), 'x:\n  a: 1\n  b:\n    c: 2');
    assert.equal(fn('indent')(undefined, 2), '  ');
    assert.throws(() => fn('indent')('a', -1), /must not be negative/);
  });

  it('b64dec reverses b64enc for unicode text', () => {
    const text = 'Grüße, 世界 🚀\n"quoted"';
    assert.equal(fn('b64dec')(fn('b64enc')(text)), text);
    assert.equal(render('{{ s | b64enc | b64dec }}', { s: text }), text);
    assert.throws(() => fn('b64dec')('not base64!'), /b64dec: "not base64!" is not valid padded base64/);
    assert.throws(() => fn('b64dec')('/w=='), /not UTF-8 text/);
  });

  it('toYaml writes block YAML without a trailing newline', () => {
    const value = { name: 'web', ports: [80, 443], labels: { tier: 'gold' }, note: 'line1\nline2' };
    const yaml = fn('toYaml')(value) as string;
    assert.equal(yaml, 'labels:\n  tier: gold\nname: web\nnote: |-\n  line1\n  line2\nports:\n  - 80\n  - 443');
    assert.deepEqual(parseYaml(yaml), value);
    assert.equal(fn('toYaml')(undefined), 'null');
    assert.equal(fn('toJson')(undefined), 'null');
  });

  it('trunc keeps the last characters for a negative count', () => {
    assert.equal(render('{{ s | trunc(-3) }}', { s: 'abcdef' }), 'def');
    assert.equal(fn('trunc')('ab', -3), 'ab');
    assert.equal(fn('trunc')('ab', 5), 'ab');
    assert.equal(fn('trunc')('a🚀b', 2), 'a🚀');
    assert.equal(fn('trunc63')(`${'a'.repeat(62)}.-b`), 'a'.repeat(62));
  });

  it('quote escapes quotes, backslashes and control characters as Go %q', () => {
    assert.equal(fn('quote')('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"');
    assert.equal(fn('quote')('a\nb\t\x01\u00a0é'), '"a\\nb\\t\\x01\\u00a0é"');
    assert.equal(fn('quote')(undefined), '""');
    assert.equal(parseYaml(`k: ${fn('quote')('x "y" \\z\n')}`).k, 'x "y" \\z\n');
  });

  it('toHost handles URLs, host:port and plain hosts', () => {
    const toHost = fn('toHost');
    assert.equal(toHost('https://user:p@ss@Db.Example.com:5432/app?x=1'), 'Db.Example.com');
    assert.equal(toHost('http://[::1]:8080/'), '::1');
    assert.equal(toHost('db.internal:5432'), 'db.internal');
    assert.equal(toHost('a.example.com'), 'a.example.com');
    assert.equal(toHost('mailto:a@b'), 'mailto:a@b');
    assert.equal(toHost(null), '');
  });

  it('case filters split words as Sprig does', () => {
    assert.equal(fn('camelcase')('http_server'), 'HttpServer');
    assert.equal(fn('camelcase')('GOLANG_IS_GREAT'), 'GolangIsGreat');
    assert.equal(fn('kebabcase')('HTTPServer'), 'http-server');
    assert.equal(fn('snakecase')('FirstName'), 'first_name');
    assert.equal(fn('snakecase')('GO-PATH  x'), 'go_path_x');
    assert.equal(fn('title')("o'neil_x der"), "O'Neil_x Der");
  });

  it('the rest treat undefined and null as the empty string', () => {
    for (const name of [
      'lower',
      'upper',
      'title',
      'trim',
      'trunc63',
      'kebabcase',
      'snakecase',
      'camelcase',
      'b64enc',
      'b64dec',
    ]) {
      assert.equal(fn(name)(undefined), '', name);
      assert.equal(fn(name)(null), '', name);
    }
    assert.equal(fn('sha256sum')(undefined), createHash('sha256').digest('hex'));
    assert.equal(fn('replace')(undefined, 'a', 'b'), '');
    assert.equal(fn('trimPrefix')(null, 'a'), '');
    assert.equal(fn('squote')(undefined), "''");
    assert.deepEqual(fn('split')(undefined, ','), ['']);
    assert.equal(fn('join')(undefined, ','), '');
    assert.equal(fn('join')('a,b', '-'), 'a,b');
    assert.equal(fn('join')(['a', null, 2], '-'), 'a-2');
  });

  it('replace is literal and ternary reads its condition as bool', () => {
    assert.equal(fn('replace')('a.b.c', '.', '$&'), 'a$&b$&c');
    assert.equal(render('{{ p | ternary("on", "off") }}', { p: 'false' }), 'off');
    assert.equal(render('{{ missing | ternary("on", "off") }}'), 'off');
    assert.throws(() => render('{{ p | ternary("on", "off") }}', { p: 'maybe' }), /ternary: "maybe" is not a boolean/);
  });
});

describe("Sprig's integer math", () => {
  it('computes as Go does: division truncates toward zero, the remainder keeps the sign of the dividend', () => {
    assert.equal(fn('add')('8080', 1000), 9080);
    assert.equal(fn('add')(1, '2', ' 3 '), 6);
    assert.equal(fn('sub')('3', 5), -2);
    assert.equal(fn('mul')(2, 3, '4'), 24);
    assert.equal(fn('div')(7, 2), 3);
    assert.equal(fn('div')(-7, 2), -3);
    assert.equal(fn('mod')(-7, 2), -1);
    assert.equal(fn('mod')(7, -2), 1);
    assert.equal(fn('max')(1, '9', 4), 9);
    assert.equal(fn('min')(1, '-9', 4), -9);
    assert.equal(render('{{ n | add(1) + 1 }}', { n: '1' }), '3');
  });

  it('is 64-bit: exact beyond 2^53, an error beyond int64 instead of wrapping', () => {
    assert.equal(render('{{ n | add(1) }}', { n: '9007199254740993' }), '9007199254740994');
    assert.equal(fn('mul')('4294967296', '2147483647'), 9223372032559808512n);
    assert.throws(
      () => fn('add')('9223372036854775807', 1),
      /add: the result 9223372036854775808 does not fit in a 64-bit integer/,
    );
    assert.throws(() => fn('div')('-9223372036854775808', -1), /div: the result .* does not fit/);
    assert.throws(
      () => fn('add')('99999999999999999999', 1),
      /add: "99999999999999999999" does not fit in a 64-bit integer/,
    );
  });

  it('refuses what is not an integer instead of reading it as 0', () => {
    assert.throws(() => fn('add')('abc', 1), { message: 'add: "abc" is not an integer' });
    assert.throws(() => fn('mul')(2, 1.5), { message: 'mul: 1.5 is not an integer' });
    assert.throws(() => fn('sub')(undefined, 1), { message: 'sub: undefined is not an integer' });
    assert.throws(() => fn('max')(1, true), /max: true is not an integer/);
  });

  it('division and remainder by zero fail the node, naming hub, form, uid, resource and field', () => {
    const engine = new TemplateEngine(['shards']);
    const where = { hub: 'customers', form: 'web', uid: 'acme', resource: 'config', field: 'spec.data.shard' };
    for (const [template, filter] of [
      ['{{ 42 | div(shards) }}', 'div'],
      ['{{ 42 | mod(shards | int) }}', 'mod'],
    ]) {
      assert.throws(
        () => engine.render(template!, { shards: '0' }, where),
        (error: unknown) => {
          assert.ok(error instanceof RenderError);
          assert.match(
            error.message,
            new RegExp(
              `hub customers, form web, uid "acme", resource config, field spec\\.data\\.shard: .*${filter}: division of 42 by zero`,
            ),
          );
          return true;
        },
      );
    }
  });
});

describe('string tests, maps, coalesce and required', () => {
  it('contains, hasPrefix and hasSuffix take the subject first', () => {
    assert.equal(fn('contains')('enterprise-eu', 'prise'), true);
    assert.equal(fn('contains')(undefined, ''), true);
    assert.equal(fn('hasPrefix')('docker.io/nginx', 'docker.io/'), true);
    assert.equal(fn('hasPrefix')('nginx', 'docker.io/'), false);
    assert.equal(fn('hasSuffix')('a.example.com', '.com'), true);
    assert.equal(
      render('{% if plan | hasPrefix("ent") %}big{% else %}small{% endif %}', { plan: 'enterprise' }),
      'big',
    );
  });

  it('dict makes a map from keys and values; get and hasKey read its own keys', () => {
    assert.deepEqual(fn('dict')(['a', 1, 'b', 'x']), { a: 1, b: 'x' });
    assert.deepEqual(fn('dict')(['a', 1, 'odd']), { a: 1, odd: '' });
    assert.deepEqual(fn('dict')([]), {});
    assert.equal(render('{{ ["b", 2, "a", 1] | dict | toJson }}'), '{"a":1,"b":2}');
    assert.equal(render('{{ ["k", v] | dict | get("k") }}', { v: 'x' }), 'x');
    assert.equal(render('[{{ {"k": 1} | get("other") }}]'), '[]');
    assert.equal(fn('hasKey')({ k: '' }, 'k'), true);
    assert.equal(fn('hasKey')({}, 'constructor'), false);
    assert.equal(fn('get')({}, 'constructor'), '');
    assert.throws(() => fn('dict')(['__proto__', 1]), /dict: the key "__proto__" is not allowed/);
    assert.throws(() => fn('dict')('a'), /dict: "a" is not a list of keys and values/);
    assert.throws(() => fn('get')('text', 'k'), /get: "text" is not a map \(make one with dict or fromJson\)/);
    assert.throws(() => fn('hasKey')(['k'], 'k'), /hasKey: \["k"\] is not a map/);
  });

  it('coalesce gives the first value that is not empty', () => {
    assert.equal(fn('coalesce')('', null, 0, 'x', 'y'), 'x');
    assert.equal(fn('coalesce')('', undefined), undefined);
    assert.equal(render('[{{ a | coalesce(b) }}]', { a: '', b: '' }), '[]');
  });

  it('required passes a value through and fails a missing one with its message', () => {
    assert.equal(fn('required')('eu', 'msg'), 'eu');
    assert.equal(fn('required')(0, 'msg'), 0);
    assert.equal(fn('required')(false, 'msg'), false);
    for (const empty of ['', null, undefined])
      assert.throws(() => fn('required')(empty, 'the row needs a region'), {
        message: 'required: the row needs a region',
      });
    const engine = new TemplateEngine(['region']);
    assert.throws(
      () =>
        engine.render(
          '{{ region | required("the row needs a region") }}',
          { region: '' },
          { hub: 'customers', form: 'web', uid: 'acme', resource: 'app', field: 'metadata.labels.region' },
        ),
      /hub customers, form web, uid "acme", resource app, field metadata\.labels\.region: .*required: the row needs a region/,
    );
  });
});
