import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RenderError } from '../src/errors.ts';
import { renderHub } from '../src/plan/render-hub.ts';
import { TemplateBudget, TEMPLATE_LIMITS } from '../src/render/template-sandbox.ts';
import { TemplateEngine } from '../src/render/template.ts';
import type { HubRow } from '../src/sources/rows.ts';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml, testForm, testHub } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

const where = { hub: 'h', form: 'f', uid: 'u', resource: 'r' };
const vars = { uid: 'acme', cfg: '{"a":{"b":"deep"},"list":["x","y"]}', n: '100000000' };

/**
 * Known ways out of a nunjucks/Jinja-like engine into the host language. Every one must be
 * refused when compiled (so `lynq validate` reports it), before any row is rendered.
 */
const ESCAPES: Record<string, string> = {
  'constructor chain from a string': `{{ ''.constructor.constructor('return process.env')() }}`,
  'constructor chain from a variable': `{{ uid.constructor.constructor('return process')() }}`,
  'constructor chain from an array': `{{ [].constructor.constructor('return process')() }}`,
  'constructor chain from a dict': `{{ {}.constructor.constructor('return 1')() }}`,
  'constructor chain from a number': `{{ (1).constructor.constructor('return 1')() }}`,
  'bracket access with a literal': `{{ ''["constructor"]["constructor"]("return 1")() }}`,
  'bracket access with a computed string': `{{ uid["constr" ~ "uctor"] }}`,
  'bracket access with a set variable': `{% set c = "constructor" %}{{ uid[c][c]("return 1")() }}`,
  'bracket access with a filter result': `{{ uid[("CONSTRUCTOR" | lower)] }}`,
  'constructor of range': `{{ range.constructor("return process")() }}`,
  'constructor of range()': `{{ range(1).constructor.constructor("return 1")() }}`,
  'constructor of cycler': `{{ cycler.constructor("return process")() }}`,
  'constructor of a cycler instance': `{% set c = cycler(1) %}{{ c.next.constructor("return 1")() }}`,
  'constructor of joiner': `{{ joiner.constructor("return 1")() }}`,
  'calling what joiner returns': `{% set j = joiner(",") %}{{ j() }}`,
  'constructor of loop': `{% for i in [1] %}{{ loop.constructor.constructor("return 1")() }}{% endfor %}`,
  __proto__: `{{ uid.__proto__ }}`,
  '__proto__ in brackets': `{{ uid["__proto__"] }}`,
  '__proto__ as a dict key': `{{ {"__proto__": uid} }}`,
  prototype: `{{ range.prototype }}`,
  __defineGetter__: `{{ uid.__defineGetter__("x", range) }}`,
  __lookupGetter__: `{{ uid.__lookupGetter__("__proto__")() }}`,
  'another dunder member': `{{ uid.__someMember__ }}`,
  'valueOf called': `{{ uid.valueOf() }}`,
  'toString called': `{{ uid.toString() }}`,
  call: `{{ uid.toUpperCase.call("x") }}`,
  apply: `{{ uid.toUpperCase.apply("x") }}`,
  bind: `{{ uid.toUpperCase.bind("x") }}`,
  'a string method called': `{{ uid.toUpperCase() }}`,
  'an array method called': `{{ [1, 2].map(range) }}`,
  'a filter result called': `{{ (uid | upper)("x") }}`,
  'a filter returning a global, then its constructor': `{{ (uid | default(range)).constructor }}`,
  'a macro': `{% macro m() %}x{% endmacro %}{{ m() }}`,
  caller: `{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}x{% endcall %}`,
  include: `{% include "/etc/passwd" %}`,
  import: `{% import "x.njk" as x %}`,
  'from import': `{% from "x.njk" import y %}`,
  extends: `{% extends "x.njk" %}`,
  block: `{% block b %}x{% endblock %}`,
  'shadowing range with set': `{% set range = uid %}{{ range(1) }}`,
  'shadowing range with for': `{% for range in [1] %}{{ range }}{% endfor %}`,
  'reaching the budget': `{{ __lynqBudget }}`,
  'a nunjucks built-in filter that is not documented': `{{ uid | dump }}`,
  'a literal range over the limit': `{% for i in range(0, 100000000) %}x{% endfor %}`,
  'an infinite literal range': `{% for i in range(0, 1, 0) %}x{% endfor %}`,
};

describe('the template sandbox', () => {
  for (const [name, template] of Object.entries(ESCAPES)) {
    test(`refuses at compile time: ${name}`, () => {
      const engine = new TemplateEngine(Object.keys(vars));
      assert.throws(
        () => engine.compile(template, where),
        (error: unknown) => error instanceof RenderError && /hub h, form f, uid "u", resource r/.test(error.message),
      );
    });
  }

  test('still renders what forms use: variables, filters, members by name, if, for, set, range, cycler', () => {
    const engine = new TemplateEngine(Object.keys(vars));
    const cases: Array<[string, string]> = [
      ['{{ uid | upper }}-{{ uid | default("x") }}', 'ACME-acme'],
      ['{{ (cfg | fromJson).a.b }}/{{ (cfg | fromJson)["a"]["b"] }}/{{ (cfg | fromJson).list[1] }}', 'deep/deep/y'],
      ['{% for i in range(3) %}{{ i }}{% endfor %}', '012'],
      ['{% for x in (cfg | fromJson).list %}{{ loop.index }}{{ x }}{% endfor %}', '1x2y'],
      ['{% set c = cycler("a", "b") %}{{ c.next() }}{{ c.next() }}{{ c.next() }}', 'aba'],
      ['{% set s = uid ~ "-" ~ uid %}{% if s | length > 0 %}{{ s }}{% endif %}', 'acme-acme'],
      ['{{ uid.length }}', '4'],
    ];
    for (const [template, output] of cases.slice(0, 5))
      assert.equal(engine.render(template, vars, where), output, template);
    // `length` is not a documented filter; `.length` is a member and is allowed.
    assert.throws(() => engine.compile(cases[5]![0], where), /unknown filter "length"/);
    assert.equal(engine.render(cases[6]![0], vars, where), cases[6]![1]);
  });

  test('an escape that compiled would have read the environment: nothing of process.env reaches the output', () => {
    process.env.LYNQ_SANDBOX_CANARY = 'canary-value-1234';
    const engine = new TemplateEngine(Object.keys(vars));
    for (const template of Object.values(ESCAPES)) {
      let output = '';
      try {
        output = String(engine.render(template, vars, where));
      } catch (error) {
        assert.ok(!String((error as Error).message).includes('canary-value-1234'));
      }
      assert.ok(!output.includes('canary-value-1234'), template);
    }
  });
});

describe('what one node may cost', () => {
  const runtime: Record<string, [string, RegExp]> = {
    'a range over the limit from a row value': [
      '{% for i in range(0, n | int) %}x{% endfor %}',
      /range of 100000000 elements is over the limit of 10000/,
    ],
    'nested loops': [
      '{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}',
      /more than 100000 loop iterations/,
    ],
    'a string doubled in a loop': [
      '{% set x = "aaaaaaaa" %}{% for i in range(40) %}{% set x = x ~ x %}{% endfor %}{{ x | length }}',
      /characters is over the limit/,
    ],
    // Shared, so cheap to build and exponential to write out: stopped by size, before toJson would run out of memory.
    'a list doubled in a loop': [
      '{% set d = [uid] %}{% for i in range(40) %}{% set d = [d, d] %}{% endfor %}{{ d | toJson }}',
      /more than 1048576 characters is over the limit/,
    ],
    'a dict doubled in a loop': [
      '{% set d = {} %}{% for i in range(40) %}{% set d = ["a", d, "b", d] | dict %}{% endfor %}{{ d | toJson }}',
      /more than 1048576 characters is over the limit/,
    ],
    'a map literal doubled in a loop': [
      '{% set d = {} %}{% for i in range(40) %}{% set d = {"a": d, "b": d} %}{% endfor %}{{ d | get("a") | toJson }}',
      /more than 1048576 characters is over the limit/,
    ],
    'a nested list of long strings': [
      `{% set s = "${'a'.repeat(1000)}" %}{% set l = [] %}{% for i in range(2000) %}{% set l = [s, l] %}{% endfor %}{{ l | toJson }}`,
      /a value of more than 1048576 characters/,
    ],
    'a filter chain that multiplies': [
      `{{ uid | replace("a", "${'a'.repeat(200)}") | replace("a", "${'a'.repeat(200)}") | replace("a", "${'a'.repeat(200)}") }}`,
      /characters is over the limit/,
    ],
    'a loop that splits a long string into characters, nested': [
      '{% set s = "" %}{% for i in range(2000) %}{% set s = s ~ "ab" %}{% endfor %}{% for a in s | split("") %}{% for b in s | split("") %}{% endfor %}{% endfor %}',
      /loop iterations/,
    ],
  };
  for (const [name, [template, message]] of Object.entries(runtime)) {
    test(`fails the node: ${name}`, () => {
      // A frozen clock: on a busy machine the time limit would otherwise trip before the limit under test.
      const engine = new TemplateEngine(Object.keys(vars), () => 0);
      assert.throws(
        () => engine.render(template.replace('{{ x | length }}', '{{ x }}'), { ...vars }, where),
        (error: unknown) =>
          error instanceof RenderError && message.test(error.message) && /uid "u", resource r/.test(error.message),
      );
    });
  }

  test("a node's leaves share one output budget", () => {
    const engine = new TemplateEngine(Object.keys(vars));
    const leaf = `{% for i in range(10000) %}${'x'.repeat(99)}{% endfor %}`; // 990,000 characters, under the per-value limit
    const nodeVars = { ...vars };
    for (let i = 0; i < 4; i++) engine.render(leaf, nodeVars, where);
    assert.throws(() => engine.render(leaf, nodeVars, where), /rendered more than 4194304 characters/);
    // Another node (another vars object) starts afresh.
    assert.equal(String(engine.render(leaf, { ...vars }, where)).length, 990_000);
  });

  test("a node's leaves share its budget but not their variables: what one leaf sets, the next does not see", () => {
    const engine = new TemplateEngine(Object.keys(vars));
    const nodeVars = { ...vars };
    assert.equal(engine.render('{% set uid = "other" %}{% set extra = "x" %}{{ uid }}', nodeVars, where), 'other');
    assert.equal(engine.render('{{ uid }}', nodeVars, where), 'acme');
    assert.equal(engine.render('{{ extra | default("unset") }}', nodeVars, where), 'unset');
    assert.equal(engine.render('{% for uid in ["a", "b"] %}{{ uid }}{% endfor %}{{ uid }}', nodeVars, where), 'abacme');
    assert.equal(engine.render('{{ uid }}', nodeVars, where), 'acme');
    assert.deepEqual(nodeVars, vars, "the node's variables are not written to");
  });

  test('a node past its time fails at the next guarded step', () => {
    let now = 0;
    const budget = new TemplateBudget(() => now);
    budget.value('x');
    now = TEMPLATE_LIMITS.milliseconds + 1;
    assert.throws(() => budget.loop([1]), /took longer than 5 s/);
    assert.throws(() => budget.value('x'), /took longer than 5 s/);
  });

  test('in a hub, the costly node fails named and the other nodes render', () => {
    const hub = testHub({ extra: { n: 'n' } });
    const form = testForm(`  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          N: "{% for i in range(0, n | int) %}x{% endfor %}"
`);
    const rows: HubRow[] = [
      { uid: 'small', active: true, values: { uid: 'small', activate: '1', n: '3' } },
      { uid: 'huge', active: true, values: { uid: 'huge', activate: '1', n: '100000000' } },
    ];
    const result = renderHub(hub, [form], rows, { root: 'tenants', bridgeVersion: 'test' });
    assert.deepEqual(
      result.nodes.map((node) => node.uid),
      ['small'],
    );
    assert.equal(result.failures.length, 1);
    assert.match(
      result.failures[0]!.error,
      /hub customers, form web, uid "huge", resource settings, field spec\.data\.N: .*range of 100000000 elements/,
    );
  });

  test('lynq validate reports a sandbox escape and a literal range over the limit (exit 2)', async () => {
    const lists = `  configMaps:\n    - id: c\n      nameTemplate: "{{ uid }}"\n      spec:\n        apiVersion: v1\n        kind: ConfigMap\n        data:\n          A: "{{ ''.constructor.constructor('return process.env')() }}"\n          B: "{% for i in range(0, 100000000) %}x{% endfor %}"\n`;
    const files = await tempFiles({ 'hubs/h.yaml': hubYaml(), 'forms/f.yaml': formYaml(lists) });
    try {
      const result = await lynq(['validate', '--hubs', `${files.dir}/hubs`, '--forms', `${files.dir}/forms`]);
      assert.equal(result.code, 2);
      assert.match(result.err, /resource c, field spec\.data\.A: .*member "constructor" is not allowed/);
      assert.match(result.err, /resource c, field spec\.data\.B: .*range of 100000000 elements is over the limit/);
    } finally {
      await files.cleanup();
    }
  });
});
