import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { looksLikeGoTemplate, translateGoTemplate } from '../src/config/go-template/translate.ts';
import { TemplateEngine } from '../src/render/template.ts';

const vars = {
  uid: 'acme',
  activate: 'true',
  hubId: 'customers',
  templateRef: 'web',
  planId: 'enterprise',
  region: 'eu',
  empty: '',
  replicas: '3',
  config: '{"apiKey":"sk-1","db":{"host":"db.local","port":5432},"hosts":["a","b"]}',
  domainUrl: 'https://acme.example.com:8443/x',
  customDomain: 'acme.io',
  domainVerified: 'true',
};
const engine = new TemplateEngine(Object.keys(vars));

/** [Go template, expected nunjucks, expected rendering] — one per construct. */
const CASES: Array<[string, string, unknown]> = [
  ['plain text', 'plain text', 'plain text'],
  ['{{ .uid }}-app', '{{ uid }}-app', 'acme-app'],
  ['{{ .uid | upper }}', '{{ uid | upper }}', 'ACME'],
  ['{{ .uid | sha1sum | trunc 8 }}', '{{ uid | sha1sum | trunc(8) }}', '293abb6b'],
  ['{{ .planId | default "basic" }}', '{{ planId | default("basic") }}', 'enterprise'],
  ['{{ default "basic" .empty }}', '{{ empty | default("basic") }}', 'basic'],
  ['{{ .missing | default "2" | int }}', '{{ missing | default("2") | int }}', 2],
  ['{{ .replicas | int }}', '{{ replicas | int }}', 3],
  ['{{ "1.5" | float }}', '{{ "1.5" | float }}', 1.5],
  ['{{ "yes" | bool }}', '{{ "yes" | bool }}', true],
  ['{{ ternary "5" "2" (eq .planId "enterprise") }}', '{{ (planId === "enterprise") | ternary("5", "2") }}', '5'],
  ['{{ eq .planId "pro" "enterprise" }}', '{{ (planId === "pro" or planId === "enterprise") }}', 'true'],
  ['{{ ne .region "us" }}', '{{ (region !== "us") }}', 'true'],
  ['{{ not (eq .uid "acme") }}', '{{ (not (uid === "acme")) }}', 'false'],
  ['{{ lt .uid "b" }}', '{{ (uid < "b") }}', 'true'],
  [
    '{{ printf "%s-%s-deployment" .uid .region | trunc63 }}',
    '{{ (uid ~ "-" ~ region ~ "-deployment") | trunc63 }}',
    'acme-eu-deployment',
  ],
  ['{{ printf "%q and 100%%" .uid }}', '{{ ((uid | quote) ~ " and 100%") }}', '"acme" and 100%'],
  ['{{ print .uid "-x" 1 2 }}', '{{ (uid ~ "-x" ~ 1 ~ " " ~ 2) }}', 'acme-x1 2'],
  ['{{ index . "customReplicas" | default "2" | int }}', '{{ customReplicas | default("2") | int }}', 2],
  ['{{ index (.config | fromJson) "db" "host" }}', '{{ (config | fromJson).db.host }}', 'db.local'],
  ['{{ index (.config | fromJson).hosts 1 }}', '{{ (config | fromJson).hosts[1] }}', 'b'],
  ['{{ (.config | fromJson).apiKey }}', '{{ (config | fromJson).apiKey }}', 'sk-1'],
  ['{{ ((.config | fromJson).db).port }}', '{{ (config | fromJson).db.port }}', '5432'],
  ['{{ .domainUrl | toHost }}', '{{ domainUrl | toHost }}', 'acme.example.com'],
  ['{{ .uid | replace "c" "-" }}', '{{ uid | replace("c", "-") }}', 'a-me'],
  ['{{ regexReplaceAll "a(c)" .uid "${1}X" }}', '{{ uid | regexReplaceAll("a(c)", "${1}X") }}', 'cXme'],
  ['{{ trimPrefix "ac" .uid }}', '{{ uid | trimPrefix("ac") }}', 'me'],
  ['{{ list "app" .uid .region | join "," }}', '{{ ["app", uid, region] | join(",") }}', 'app,acme,eu'],
  ['{{ splitList "," "a,b" | join "+" }}', '{{ "a,b" | split(",") | join("+") }}', 'a+b'],
  ['{{ if .region }}{{ .region }}-{{ end }}{{ .uid }}', '{% if region %}{{ region }}-{% endif %}{{ uid }}', 'eu-acme'],
  [
    '{{ if .empty }}a{{ else if eq .planId "enterprise" }}b{{ else }}c{{ end }}',
    '{% if empty %}a{% elif (planId === "enterprise") %}b{% else %}c{% endif %}',
    'b',
  ],
  [
    '{{ if and .customDomain (eq .domainVerified "true") }}{{ .customDomain }}{{ else }}{{ .uid }}.default.svc{{ end }}',
    '{% if (customDomain and (domainVerified === "true")) %}{{ customDomain }}{% else %}{{ uid }}.default.svc{% endif %}',
    'acme.io',
  ],
  ['{{ or .empty "none" }}', '{{ (empty or "none") }}', 'none'],
  [
    '{{ with .region }}{{ . | upper }}{{ else }}none{{ end }}',
    '{% set _with1 = region %}{% if _with1 %}{{ _with1 | upper }}{% else %}none{% endif %}',
    'EU',
  ],
  [
    '{{ with $r := .empty }}{{ $r }}{{ else }}none{{ end }}',
    '{% set _r = empty %}{% if _r %}{{ _r }}{% else %}none{% endif %}',
    'none',
  ],
  [
    '{{- $base := printf "%s-%s" .uid (.region | default "default") -}}\n{{ $base | trunc63 }}-web',
    '{%- set _base = (uid ~ "-" ~ (region | default("default"))) -%}\n{{ _base | trunc63 }}-web',
    'acme-eu-web',
  ],
  [
    '{{- range $i, $region := list "us-east-1" "eu-west-1" }}\n{{ $i }}:{{ $region }}.example.com\n{{- end }}',
    '{%- for _region in ["us-east-1", "eu-west-1"] %}{% set _i = loop.index0 %}\n{{ _i }}:{{ _region }}.example.com\n{%- endfor %}',
    '\n0:us-east-1.example.com\n1:eu-west-1.example.com',
  ],
  [
    '{{ range (.config | fromJson).hosts }}[{{ . }}]{{ end }}',
    '{% for _item1 in (config | fromJson).hosts %}[{{ _item1 }}]{% endfor %}',
    '[a][b]',
  ],
  [
    '{{ range $h := list }}{{ $h }}{{ else }}no hosts{{ end }}',
    '{% for _h in [] %}{{ _h }}{% else %}no hosts{% endfor %}',
    'no hosts',
  ],
  ['{{/* a comment */}}x{{- /* trimmed */ -}} y', 'x{{- "" -}} y', 'xy'],
  ['a{%b{#c{{ .uid }}', 'a{{ "{%" }}b{{ "{#" }}c{{ uid }}', 'a{%b{#cacme'],
  ['{{ "say \\"hi\\"\\n" }}', '{{ "say \\"hi\\"\\n" }}', 'say "hi"\n'],
  ['{{ `raw \\n` }}', '{{ "raw \\\\n" }}', 'raw \\n'],
  ['{{ 0x1F }}', '{{ 31 }}', '31'],
  ['{{ $.uid }}', '{{ uid }}', 'acme'],
  // Sprig's integer math: operands in order, so a piped value is the last operand, as in Go.
  ['{{ add .replicas 1 }}', '{{ replicas | add(1) }}', '4'],
  ['{{ add 1 2 3 }}', '{{ 1 | add(2, 3) }}', '6'],
  ['{{ .replicas | add 10 }}', '{{ 10 | add(replicas) }}', '13'],
  ['{{ add1 .replicas }}', '{{ replicas | add(1) }}', '4'],
  ['{{ sub .replicas 1 }}', '{{ replicas | sub(1) }}', '2'],
  ['{{ .replicas | sub 10 }}', '{{ 10 | sub(replicas) }}', '7'],
  ['{{ mul .replicas 2 | int }}', '{{ replicas | mul(2) | int }}', 6],
  ['{{ div 10 .replicas }}', '{{ 10 | div(replicas) }}', '3'],
  ['{{ mod 10 .replicas }}', '{{ 10 | mod(replicas) }}', '1'],
  ['{{ max 1 .replicas 2 }}', '{{ 1 | max(replicas, 2) }}', '3'],
  ['{{ min 5 .replicas }}', '{{ 5 | min(replicas) }}', '3'],
  // Sprig's string tests name the part first and the subject last.
  ['{{ contains "prise" .planId }}', '{{ planId | contains("prise") }}', 'true'],
  ['{{ .planId | hasPrefix "enter" }}', '{{ planId | hasPrefix("enter") }}', 'true'],
  ['{{ hasSuffix ".com" .customDomain }}', '{{ customDomain | hasSuffix(".com") }}', 'false'],
  [
    '{{ if hasPrefix "ent" .planId }}big{{ else }}small{{ end }}',
    '{% if planId | hasPrefix("ent") %}big{% else %}small{% endif %}',
    'big',
  ],
  ['{{ trimSuffix ".io" .customDomain }}', '{{ customDomain | trimSuffix(".io") }}', 'acme'],
  ['{{ .customDomain | trimPrefix "acme." }}', '{{ customDomain | trimPrefix("acme.") }}', 'io'],
  // Maps: dict takes its keys and values as one list; get and hasKey name the map first.
  [
    '{{ $d := dict "tier" .planId "region" .region }}{{ $d | toJson }}',
    '{% set _d = ["tier", planId, "region", region] | dict %}{{ _d | toJson }}',
    '{"region":"eu","tier":"enterprise"}',
  ],
  ['{{ toJson (dict "b" 1 "a" .uid) }}', '{{ (["b", 1, "a", uid] | dict) | toJson }}', '{"a":"acme","b":1}'],
  ['{{ get (dict "a" .uid) "a" }}', '{{ (["a", uid] | dict) | get("a") }}', 'acme'],
  ['{{ index (dict "a" .uid) "a" }}', '{{ (["a", uid] | dict).a }}', 'acme'],
  ['{{ hasKey (.config | fromJson) "db" }}', '{{ (config | fromJson) | hasKey("db") }}', 'true'],
  ['{{ coalesce .empty .region "x" }}', '{{ empty | coalesce(region, "x") }}', 'eu'],
  ['{{ required "the row needs a region" .region }}', '{{ region | required("the row needs a region") }}', 'eu'],
  ['{{ .region | required "the row needs a region" }}', '{{ region | required("the row needs a region") }}', 'eu'],
];

describe('Go template translation', () => {
  for (const [go, nunjucks, rendered] of CASES) {
    test(go, () => {
      assert.equal(translateGoTemplate(go), nunjucks);
      assert.deepEqual(engine.render(nunjucks, vars, {}), rendered);
    });
  }

  test("detection: Go actions are told from the bridge's own", () => {
    const go = [
      '{{ .uid }}',
      '{{ $x }}',
      '{{ upper .uid }}',
      '{{ end }}',
      '{{/* c */}}',
      '{{ (.a) }}',
      'x {{- .uid -}}',
      '{{ ternary "a" "b" true }}',
      '{{ "" | default "fallback" }}',
      '{{ sha1sum "x" }}',
      '{{ now }} {{ date "2006" now }}',
    ];
    for (const template of go) assert.equal(looksLikeGoTemplate(template), true, template);
    const own = [
      '{{ uid }}',
      '{{ plan | default("x") }}',
      '{{ "a.b" }}',
      '{{ x | replace(".", "-") }}',
      '{{ x | replace("a b", "-") }}',
      '{{ 1.5 | float }}',
      '{{ not x }}',
      '{{ x is defined }}',
      '{{ "a" if x else "b" }}',
      '{{ "test" | sha1sum }}',
      'no template',
    ];
    for (const template of own) assert.equal(looksLikeGoTemplate(template), false, template);
  });
});

describe('Go template functions that fail at render time', () => {
  const where = { hub: 'customers', form: 'web', uid: 'acme', resource: 'config', field: 'spec.data.x' };
  const fails: Array<[string, Record<string, string>, RegExp]> = [
    ['{{ div 100 .shards }}', { shards: '0' }, /div: division of 100 by zero/],
    ['{{ mod .n .shards }}', { n: '7', shards: '0' }, /mod: division of 7 by zero/],
    ['{{ add .n 1 }}', { n: 'seven', shards: '1' }, /add: "seven" is not an integer/],
    ['{{ required "the row needs a region" .n }}', { n: '', shards: '1' }, /required: the row needs a region/],
  ];
  for (const [go, row, message] of fails) {
    test(`${go}: the node fails, naming hub, form, uid, resource and field`, () => {
      const translated = translateGoTemplate(go);
      const local = new TemplateEngine(['n', 'shards']);
      assert.throws(
        () => local.render(translated, { n: '100', ...row }, where),
        (error: unknown) =>
          error instanceof Error &&
          /hub customers, form web, uid "acme", resource config, field spec\.data\.x: /.test(error.message) &&
          message.test(error.message),
      );
    });
  }
});

describe('Go template refusals', () => {
  const REFUSED: Array<[string, RegExp]> = [
    ['{{ now }}', /now reads the clock.*put the time in a column/],
    ['{{ now | date "2006-01-02" }}', /now reads the clock/],
    ['{{ date "2006" .createdAt }}', /date reads the clock/],
    ['{{ randAlphaNum 8 }}', /randAlphaNum is random.*sha1sum \| trunc 8/],
    ['{{ uuidv4 }}', /uuidv4 is random/],
    ['{{ env "HOME" }}', /env reads the bridge's environment/],
    ['{{ genPrivateKey "rsa" }}', /cert-manager/],
    ['{{ addf .replicas 1.5 }}', /addf is Sprig's float math.*use the integer math \(add, sub/],
    ['{{ add }}', /add takes 1 or more arguments, got 0/],
    ['{{ sub 1 }}', /sub takes 2 arguments, got 1/],
    ['{{ required .region }}', /required takes 2 arguments, got 1/],
    ['{{ .param | urlquery }}', /urlquery is not offered/],
    ['{{ split "," .x }}', /use splitList/],
    ['{{ wrap 80 .uid }}', /function "wrap" is not available here/],
    ['{{ uid }}', /a variable is written \.uid/],
    ['{{ printf "%d" .replicas }}', /printf verb %d is not supported/],
    ['{{ printf "%s-%s" .uid }}', /more verbs than values/],
    ['{{ default "x" }}', /default takes 2 arguments, got 1/],
    ['{{ . }}', /the whole row/],
    ['{{ $undefined }}', /undefined variable \$undefined/],
    ['{{ range $k, $v := (.config | fromJson) }}{{ end }}', /over list and splitList only/],
    ['{{ if .a }}x', /missing \{\{ end \}\}/],
    ['{{ end }}', /unexpected \{\{ end \}\}/],
    ['{{ .uid', /unclosed action/],
    ['{{ "abc }}', /unclosed string/],
    ['{{ nil }}', /nil is not supported/],
    ['{{ .uid .region }}', /only a function takes arguments/],
  ];
  for (const [go, message] of REFUSED) {
    test(go, () => assert.throws(() => translateGoTemplate(go), message));
  }

  // Forms and rows are input, not code: nothing may reach past variables and filters.
  const HOSTILE = [
    '{{ .constructor }}',
    '{{ .__proto__ }}',
    '{{ .toString }}',
    '{{ .uid.constructor }}',
    '{{ .uid.constructor.constructor }}',
    '{{ (.config | fromJson).constructor }}',
    '{{ (.config | fromJson).__proto__.polluted }}',
    '{{ index .uid "constructor" }}',
    '{{ index . "constructor" }}',
    '{{ index .x .key }}',
    '{{ $.constructor }}',
    '{{ .uid.length }}',
    '{{ $constructor := .uid }}',
    '{{ call .fn "x" }}',
    '{{ js .uid }}',
    '{{ html .uid }}',
    '{{ define "evil" }}{{ .uid }}{{ end }}',
    '{{ template "evil" . }}',
    '{{ block "evil" . }}x{{ end }}',
    '{{ range .x }}{{ break }}{{ end }}',
    "{{ 'a' }}",
  ];
  for (const go of HOSTILE) {
    test(`hostile: ${go}`, () => assert.throws(() => translateGoTemplate(go)));
  }

  test('whatever the input, the output names only variables, locals, loop, literals and documented filters', () => {
    const allowedFilters = new Set([
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
      'quote',
      'squote',
      'b64enc',
      'b64dec',
      'sha256sum',
      'toJson',
      'toYaml',
      'kebabcase',
      'snakecase',
      'camelcase',
      'trimPrefix',
      'trimSuffix',
      'trunc',
      'replace',
      'indent',
      'nindent',
      'default',
      'ternary',
      'join',
      'split',
      'regexReplaceAll',
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
    ]);
    for (const [go] of CASES) {
      const out = translateGoTemplate(go);
      for (const match of out.matchAll(/\|\s*([A-Za-z_][A-Za-z0-9_]*)/g))
        assert.ok(allowedFilters.has(match[1]!), `${match[1]} in ${out}`);
      // A call is `name(`, and only filters are called.
      for (const match of out.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/([A-Za-z_][A-Za-z0-9_.]*)\s*\(/g)) {
        assert.ok(
          allowedFilters.has(match[1]!) || ['not', 'and', 'or', 'if', 'elif', 'in'].includes(match[1]!),
          `call of ${match[1]} in ${out}`,
        );
      }
    }
  });
});
