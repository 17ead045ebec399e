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
  ['{{ printf "%s-%s-deployment" .uid .region | trunc63 }}', '{{ (uid ~ "-" ~ region ~ "-deployment") | trunc63 }}', 'acme-eu-deployment'],
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
  ['{{ if .empty }}a{{ else if eq .planId "enterprise" }}b{{ else }}c{{ end }}', '{% if empty %}a{% elif (planId === "enterprise") %}b{% else %}c{% endif %}', 'b'],
  [
    '{{ if and .customDomain (eq .domainVerified "true") }}{{ .customDomain }}{{ else }}{{ .uid }}.default.svc{{ end }}',
    '{% if (customDomain and (domainVerified === "true")) %}{{ customDomain }}{% else %}{{ uid }}.default.svc{% endif %}',
    'acme.io',
  ],
  ['{{ or .empty "none" }}', '{{ (empty or "none") }}', 'none'],
  ['{{ with .region }}{{ . | upper }}{{ else }}none{{ end }}', '{% set _with1 = region %}{% if _with1 %}{{ _with1 | upper }}{% else %}none{% endif %}', 'EU'],
  ['{{ with $r := .empty }}{{ $r }}{{ else }}none{{ end }}', '{% set _r = empty %}{% if _r %}{{ _r }}{% else %}none{% endif %}', 'none'],
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
  ['{{ range (.config | fromJson).hosts }}[{{ . }}]{{ end }}', '{% for _item1 in (config | fromJson).hosts %}[{{ _item1 }}]{% endfor %}', '[a][b]'],
  ['{{ range $h := list }}{{ $h }}{{ else }}no hosts{{ end }}', '{% for _h in [] %}{{ _h }}{% else %}no hosts{% endfor %}', 'no hosts'],
  ['{{/* a comment */}}x{{- /* trimmed */ -}} y', 'x{{- "" -}} y', 'xy'],
  ['a{%b{#c{{ .uid }}', 'a{{ "{%" }}b{{ "{#" }}c{{ uid }}', 'a{%b{#cacme'],
  ['{{ "say \\"hi\\"\\n" }}', '{{ "say \\"hi\\"\\n" }}', 'say "hi"\n'],
  ['{{ `raw \\n` }}', '{{ "raw \\\\n" }}', 'raw \\n'],
  ['{{ 0x1F }}', '{{ 31 }}', '31'],
  ['{{ $.uid }}', '{{ uid }}', 'acme'],
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

describe('Go template refusals', () => {
  const REFUSED: Array<[string, RegExp]> = [
    ['{{ now }}', /now reads the clock.*put the time in a column/],
    ['{{ now | date "2006-01-02" }}', /now reads the clock/],
    ['{{ date "2006" .createdAt }}', /date reads the clock/],
    ['{{ randAlphaNum 8 }}', /randAlphaNum is random.*sha1sum \| trunc 8/],
    ['{{ uuidv4 }}', /uuidv4 is random/],
    ['{{ env "HOME" }}', /env reads the bridge's environment/],
    ['{{ genPrivateKey "rsa" }}', /cert-manager/],
    ['{{ add .replicas 1 }}', /add is Sprig's math.*compute the value in the database/],
    ['{{ .param | urlquery }}', /urlquery is not offered/],
    ['{{ split "," .x }}', /use splitList/],
    ['{{ contains "a" .uid }}', /function "contains" is not available here/],
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
    ]);
    for (const [go] of CASES) {
      const out = translateGoTemplate(go);
      for (const match of out.matchAll(/\|\s*([A-Za-z_][A-Za-z0-9_]*)/g)) assert.ok(allowedFilters.has(match[1]!), `${match[1]} in ${out}`);
      // A call is `name(`, and only filters are called.
      for (const match of out.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/([A-Za-z_][A-Za-z0-9_.]*)\s*\(/g)) {
        assert.ok(allowedFilters.has(match[1]!) || ['not', 'and', 'or', 'if', 'elif', 'in'].includes(match[1]!), `call of ${match[1]} in ${out}`);
      }
    }
  });
});
