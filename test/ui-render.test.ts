import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testForm, testHub } from './helpers/config.ts';
import { escapeText, highlightYaml } from '../src/web/highlight.ts';
import { renderPage } from '../src/web/html.ts';
import { MASKED, maskedValues, secretVariables } from '../src/web/mask.ts';
import { forgeWeb } from '../src/web/pages.ts';

describe('the web view: YAML highlighting, masking, escaping', () => {
  test('the highlighter escapes first, then wraps keys, scalars and comments in spans of its own', () => {
    assert.equal(highlightYaml('a: 1'), '<span class="yk">a</span>: <span class="yn">1</span>');
    assert.equal(
      highlightYaml('  - name: web # the app'),
      '  <span class="yp">-</span> <span class="yk">name</span>: <span class="ys">web</span> <span class="yc"># the app</span>',
    );
    assert.equal(highlightYaml('---'), '<span class="yp">---</span>');
    assert.equal(
      highlightYaml('note: "<script>x()</script>"'),
      '<span class="yk">note</span>: <span class="ys">"&lt;script&gt;x()&lt;/script&gt;"</span>',
    );
    assert.equal(
      highlightYaml("k: '\"><img src=x onerror=y>'"),
      '<span class="yk">k</span>: <span class="ys">\'"&gt;&lt;img src=x onerror=y&gt;\'</span>',
    );
    // Whatever the input, no tag survives but the highlighter's own spans.
    const hostile = highlightYaml('<b>: </span><script>\n</span>: "</span>"\n# <img>');
    assert.deepEqual(
      [...hostile.matchAll(/<(\/?[a-z]+)/g)]
        .map((match) => match[1])
        .filter((tag) => tag !== 'span' && tag !== '/span'),
      [],
    );
    assert.equal(escapeText('a & <b>'), 'a &amp; &lt;b&gt;');
  });

  test('a variable a form uses in a Secret of any kind is masked; one it uses only in names or elsewhere is not, and uid never is', () => {
    const form = testForm(
      `  configMaps:
    - id: settings
      nameTemplate: "{{ uid }}-settings"
      spec: { apiVersion: v1, kind: ConfigMap, data: { plan: "{{ plan }}" } }
  manifests:
    - id: sealed
      nameTemplate: "{{ uid }}-{{ plan }}"
      spec:
        apiVersion: bitnami.com/v1alpha1
        kind: SealedSecret
        metadata: { labels: { tier: "{{ tier }}" } }
        spec: { encryptedData: { key: "{{ apikey | sha1sum }}", other: "{% if region %}{{ token }}{% endif %}" } }
`,
      { hubId: 'customers' },
    );
    const secret = secretVariables([form]);
    for (const name of ['apikey', 'region', 'token']) assert.ok(secret.has(name), name);
    for (const name of ['plan', 'tier', 'uid']) assert.ok(!secret.has(name), name);
    assert.deepEqual(maskedValues({ uid: 'acme', plan: 'gold', apikey: 'sk-1' }, secretVariables([form])), [
      { name: 'apikey', value: MASKED, masked: true },
      { name: 'plan', value: 'gold', masked: false },
      { name: 'uid', value: 'acme', masked: false },
    ]);
  });

  test('pages escape every value (autoescape on): a hub, form or uid name, a message, a row value', () => {
    const evil = '<script>alert(1)</script>"\'';
    const html = renderPage('error', { status: 404, title: evil, message: evil });
    assert.ok(!html.includes('<script>alert'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;'));
  });

  test('commits and pull requests link to the forge only when the hub names one (spec.publish.platform)', () => {
    const publish = (extra: string) =>
      testHub({ spec: `  publish:\n    repo: https://github.com/acme/manifests.git\n${extra}` });
    assert.equal(forgeWeb(publish('    platform: {}\n')), 'https://github.com/acme/manifests');
    assert.equal(
      forgeWeb(
        testHub({
          spec: '  publish:\n    repo: git@ghe.example.com:ops/fleet.git\n    platform: { apiUrl: https://ghe.example.com/api/v3 }\n',
        }),
      ),
      'https://ghe.example.com/ops/fleet',
    );
    assert.equal(forgeWeb(publish('')), undefined, 'no forge named: no links');
    assert.equal(
      forgeWeb(testHub({ spec: '  publish:\n    repo: /srv/git/manifests.git\n    platform: {}\n' })),
      undefined,
      'a local path has no web page',
    );
  });
});
