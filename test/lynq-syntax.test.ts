import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseForm } from '../src/config/load.ts';
import { cameInGoSyntax } from '../src/config/lynq-syntax.ts';
import { ConfigError } from '../src/errors.ts';
import { renderHub, templateVariables } from '../src/plan/render-hub.ts';
import { formHash, renderNode } from '../src/plan/node.ts';
import { TemplateEngine } from '../src/render/template.ts';
import path from 'node:path';
import { lynq } from './helpers/cli.ts';
import { formYaml, hubYaml, testHub } from './helpers/config.ts';
import { tempFiles } from './helpers/files.ts';

const hub = testHub({ extra: { plan: 'plan', replicas: 'replicas' } });

const configMap = (data: string, metadata = '') => `  configMaps:
    - id: settings
      nameTemplate: "{{ .uid }}-settings"
      spec:
        apiVersion: v1
        kind: ConfigMap
${metadata}        data:
${data}`;

function renderData(form: ReturnType<typeof parseForm>, values: Record<string, string>): Record<string, unknown> {
  const engine = new TemplateEngine(templateVariables(hub));
  const node = renderNode(
    { hub, form, formHash: formHash(form), engine, root: 'nodes', bridgeVersion: '0.0.0-test' },
    { uid: 'acme', active: true, values: { uid: 'acme', activate: 'true', ...values } },
  );
  return parse(node.files[0]!.content).data;
}

/** The ConfigError thrown by loading a form, for its message. */
function loadError(text: string): ConfigError {
  try {
    parseForm('forms/web.yaml', text);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error;
  }
  assert.fail('the form loaded');
}

describe('forms in Lynq syntax, at load', () => {
  test('a Go-syntax form is detected and translated; a native one is left alone', () => {
    const go = parseForm(
      'forms/web.yaml',
      formYaml(configMap('          PLAN: \'{{ .plan | default "basic" | upper }}\'\n')),
    );
    assert.equal(cameInGoSyntax(go.spec), true);
    assert.equal(go.resources[0]!.nameTemplate, '{{ uid }}-settings');
    assert.deepEqual(renderData(go, { plan: '', replicas: '1' }), { PLAN: 'BASIC' });
    const native = parseForm(
      'forms/web.yaml',
      formYaml(configMap('          PLAN: "{{ plan | upper }}"\n').replace('{{ .uid }}', '{{ uid }}')),
    );
    assert.equal(cameInGoSyntax(native.spec), false);
  });

  test('the annotation declares the syntax: nunjucks keeps a Go-looking form as it is, go translates one with no field access', () => {
    const declared = (syntax: string, data: string) =>
      formYaml(configMap(data)).replace(
        '  name: web\n',
        `  name: web\n  annotations:\n    lynq.sh/template-syntax: ${syntax}\n`,
      );
    const native = parseForm('forms/web.yaml', declared('nunjucks', '          PLAN: "{{ plan }}"\n'));
    assert.equal(native.resources[0]!.nameTemplate, '{{ .uid }}-settings');
    assert.equal(cameInGoSyntax(native.spec), false);
    const go = parseForm('forms/web.yaml', declared('go', '          HASH: \'{{ sha1sum "x" }}\'\n'));
    assert.equal(cameInGoSyntax(go.spec), true);
    assert.equal((go.resources[0]!.spec.data as Record<string, string>).HASH, '{{ "x" | sha1sum }}');
    assert.match(
      loadError(declared('helm', '          A: b\n')).message,
      /form web, field metadata\.annotations\.lynq\.sh\/template-syntax: annotation lynq\.sh\/template-syntax must be "go" or "nunjucks", not "helm"/,
    );
  });

  test('a refused template names file, form, resource, field and the original expression', () => {
    const error = loadError(formYaml(configMap('          AT: "{{ now }}"\n')));
    assert.equal(
      error.message,
      'forms/web.yaml, form web, resource settings, field spec.data.AT: Go template "{{ now }}": now reads the clock, so every sync would render a new value and commit it: put the time in a column and map it in spec.extraValueMappings (timestamps arrive as ISO-8601 UTC text)',
    );
  });

  test("the bridge's syntax inside a Go form is refused with the hint", () => {
    assert.match(
      loadError(formYaml(configMap('          PLAN: "{{ plan }}"\n'))).message,
      /field spec\.data\.PLAN: Go template "\{\{ plan \}\}": function "plan" is not available here .*a variable is written \.plan/,
    );
  });

  test('lynq validate quotes the template as the user wrote it, next to its translation', async () => {
    const { dir, cleanup } = await tempFiles({
      'hubs/customers.yaml': hubYaml({ extra: { plan: 'plan' } }),
      'forms/web.yaml': formYaml(configMap('          PLAN: "{{ .plna | upper }}"\n')),
    });
    try {
      const result = await lynq(['validate', '--hubs', path.join(dir, 'hubs'), '--forms', path.join(dir, 'forms')]);
      assert.equal(result.code, 2);
      assert.match(
        result.err,
        /resource settings, field spec\.data\.PLAN: template "\{\{ plna \| upper \}\}": undefined variable "plna" .* \(written in Lynq's syntax as "\{\{ \.plna \| upper \}\}"\)/,
      );
    } finally {
      await cleanup();
    }
  });

  test('an unquoted template is found, as a mapping and as a YAML error, with "quote it"', () => {
    const mapping = loadError(formYaml(configMap('          REPLICAS: {{ .replicas }}\n')));
    assert.match(
      mapping.message,
      /^forms\/web\.yaml:14, form web, resource settings, field spec\.data\.REPLICAS: a template left unquoted in YAML \(\{\{ \.replicas \}\}\) is read as a mapping, not a template: quote it, e\.g\. "\{\{ \.replicas \}\}"$/,
    );
    const inList = loadError(formYaml(configMap('          A: x\n', '        args:\n          - {{ .plan }}\n')));
    assert.match(inList.message, /field spec\.args\[0\]: a template left unquoted/);
    const syntax = loadError(formYaml(configMap('          NAME: {{ .uid }}-app\n')));
    assert.match(
      syntax.message,
      /^forms\/web\.yaml:14: a template left unquoted in YAML \(\{\{ \.uid \}\}-app\) .*quote it/,
    );
  });
});

describe('typed filters in ConfigMap data keep a string', () => {
  test("in the bridge's own syntax too (this used to be an error)", () => {
    const form = parseForm(
      'forms/web.yaml',
      formYaml(
        configMap(
          '          REPLICAS: "{{ replicas | int }}"\n          ON: "{{ plan | bool }}"\n          RATIO: "{{ \'0.5\' | float }}"\n',
        ).replace('{{ .uid }}', '{{ uid }}'),
      ),
    );
    assert.deepEqual(renderData(form, { plan: 'yes', replicas: '3' }), { REPLICAS: '3', ON: 'true', RATIO: '0.5' });
  });

  test('a literal number in data is still refused: only templates become text', () => {
    // Written into the form, it is refused at load (lynq validate says it), before any row.
    assert.throws(
      () =>
        parseForm('forms/web.yaml', formYaml(configMap('          REPLICAS: 3\n').replace('{{ .uid }}', '{{ uid }}'))),
      (error: unknown) =>
        error instanceof ConfigError &&
        /field spec\.configMaps\[0\]\.spec\.data\.REPLICAS: must be string \(ConfigMap schema\)/.test(error.message),
    );
  });

  test("a node that fails on a row's value quotes the template as written in Lynq's syntax", () => {
    const form = parseForm('forms/web.yaml', formYaml(configMap('          REPLICAS: "{{ .replicas | int }}"\n')));
    const rows = [
      { uid: 'acme', active: true, values: { uid: 'acme', activate: 'true', plan: 'x', replicas: 'three' } },
    ];
    const { failures } = renderHub(hub, [form], rows, { root: 'nodes', bridgeVersion: '0.0.0-test' });
    assert.equal(failures.length, 1);
    assert.match(
      failures[0]!.error,
      /field spec\.data\.REPLICAS: template "\{\{ replicas \| int \}\}": int: "three" is not an integer \(written in Lynq's syntax as "\{\{ \.replicas \| int \}\}"\)$/,
    );
  });

  test('a value that does not convert still fails the node', () => {
    const form = parseForm(
      'forms/web.yaml',
      formYaml(configMap('          REPLICAS: "{{ replicas | int }}"\n').replace('{{ .uid }}', '{{ uid }}')),
    );
    assert.throws(
      () => renderData(form, { plan: 'x', replicas: 'three' }),
      /field spec\.data\.REPLICAS: .*int: "three" is not an integer/,
    );
  });
});
