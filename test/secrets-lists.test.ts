import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, RenderError } from '../src/errors.ts';
import { templateVariables } from '../src/plan/render-hub.ts';
import { formHash, renderNode } from '../src/plan/node.ts';
import { refusePlaintextSecret } from '../src/render/secrets.ts';
import { TemplateEngine } from '../src/render/template.ts';
import { testForm, testHub } from './helpers/config.ts';

const where = { hub: 'h', form: 'f', uid: 'u', resource: 'r' };
const plain = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { password: 'hunter2' } };
/** Values as SOPS writes them (ciphertext, a 32-byte IV and a 16-byte tag, base64). */
const ENC =
  'ENC[AES256_GCM,data:q83vEQ==,iv:8UxqvXyZoC1LzOE9h1qnKJZr7hT8XhCc0RcQkPo1dRA=,tag:kGNmSe1kXEl5tBSkOe5Ixw==,type:str]';
const fakeEnc = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: ENC } };
const sops = {
  mac: 'ENC[AES256_GCM,data:Yx5l0b2fQ2M=,iv:yfq1S2g9pQb0m9X5s1c7gQzv4wWm3qE0rjR1uY2Xw0k=,tag:2nHkq3Qwz1R8cZ4Yb7fT0g==,type:str]',
  version: '3.9.0',
};

function refused(manifest: Record<string, unknown>, field: string): void {
  assert.throws(
    () => refusePlaintextSecret(manifest, where),
    (error: unknown) =>
      error instanceof RenderError && error.where.field === field && /plaintext data/.test(error.message),
    JSON.stringify(manifest),
  );
}

describe('plaintext Secrets wrapped in lists', () => {
  test('every list kind that can hold a Secret is inspected, nested too', () => {
    refused(
      { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap' }, plain] },
      'spec.items[1].stringData',
    );
    refused({ apiVersion: 'v1', kind: 'SecretList', items: [plain] }, 'spec.items[0].stringData');
    // A typed list's items may leave out kind and apiVersion: they are Secrets all the same.
    refused(
      { apiVersion: 'v1', kind: 'SecretList', items: [{ metadata: { name: 's' }, data: { a: 'aHVudGVyMg==' } }] },
      'spec.items[0].data',
    );
    refused({ apiVersion: 'example.com/v1', kind: 'WhateverList', items: [plain] }, 'spec.items[0].stringData');
    refused(
      {
        apiVersion: 'v1',
        kind: 'List',
        items: [{ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'SecretList', items: [plain] }] }],
      },
      'spec.items[0].items[0].items[0].stringData',
    );
  });

  test('ENC[…] values without a sops block are plaintext, at the top and in a list', () => {
    refused(fakeEnc, 'spec.data');
    refused({ apiVersion: 'v1', kind: 'List', items: [fakeEnc] }, 'spec.items[0].data');
    refused({ apiVersion: 'v1', kind: 'List', items: [{ ...fakeEnc, sops }] }, 'spec.items[0].data'); // SOPS writes its metadata on the document, not on an item
  });

  test('a sops block does not make fake ciphertext encrypted: every value (and the MAC) must be in SOPS form', () => {
    for (const fake of [
      'ENC[hunter2]',
      'ENC[AES256_GCM,data:hunter2,type:str]',
      'ENC[AES256_GCM,data:aGVsbG8=,iv:,tag:,type:str]',
      `${ENC} `,
      'ENC[AES256_GCM,data:a b,iv:aa==,tag:bb==,type:str]',
    ]) {
      refused({ ...fakeEnc, data: { password: fake }, sops }, 'spec.data');
    }
    refused({ ...fakeEnc, sops: { ...sops, mac: 'ENC[not-a-mac]' } }, 'spec.data');
  });

  test('a Secret is a Secret whatever its core apiVersion is spelled: core/v1, /v1, V1, " v1 ", another version', () => {
    for (const apiVersion of ['core/v1', '/v1', 'V1', ' v1 ', 'Core/V1', 'v2', ' core / v1'])
      refused({ ...plain, apiVersion }, 'spec.stringData');
    refusePlaintextSecret({ ...plain, apiVersion: 'example.com/v1' }, where);
  });

  test('what is not plaintext passes: SOPS documents, empty Secrets, lists of other kinds', () => {
    refusePlaintextSecret({ ...fakeEnc, sops }, where);
    refusePlaintextSecret({ apiVersion: 'v1', kind: 'List', items: [fakeEnc], sops }, where);
    refusePlaintextSecret(
      { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'empty' } }] },
      where,
    );
    refusePlaintextSecret(
      { apiVersion: 'v1', kind: 'ConfigMapList', items: [{ metadata: { name: 'c' }, data: { a: 'b' } }] },
      where,
    );
  });

  test('a SecretList under manifests fails the node, named, before anything is written', () => {
    const hub = testHub({ extra: { note: 'note' } });
    const list = (data: string) => `  manifests:
    - id: creds
      nameTemplate: "{{ uid }}-creds"
      spec:
        apiVersion: v1
        kind: SecretList
        items:
          - apiVersion: v1
            kind: Secret
            metadata:
              name: creds
            stringData: ${data}
`;
    // Plaintext written into the form fails the form at load (lynq validate says it); a row's plaintext fails the node.
    assert.throws(
      () => testForm(list('\n              password: "{{ note }}"')),
      (error: unknown) =>
        error instanceof ConfigError &&
        /form web, field spec\.manifests\[0\]\.spec\.items\[0\]\.stringData: is a Secret with plaintext/.test(
          error.message,
        ),
    );
    const form = testForm(list('"{{ note | fromJson }}"'));
    const context = {
      hub,
      form,
      formHash: formHash(form),
      engine: new TemplateEngine(templateVariables(hub)),
      root: 'nodes',
      bridgeVersion: '0.0.0-test',
    };
    assert.throws(
      () =>
        renderNode(context, {
          uid: 'acme',
          active: true,
          values: { uid: 'acme', activate: '1', note: '{"password":"hunter2"}' },
        }),
      (error: unknown) =>
        error instanceof RenderError &&
        /hub customers, form web, uid "acme", resource creds, field spec\.items\[0\]\.stringData: is a Secret with plaintext/.test(
          error.message,
        ),
    );
  });

  test('a templated apiVersion a row makes core/v1 is checked on the rendered object; one that may be core is refused at load', () => {
    const secret = (apiVersion: string) => `  manifests:
    - id: creds
      nameTemplate: "{{ uid }}-creds"
      spec:
        apiVersion: "${apiVersion}"
        kind: Secret
        stringData:
          password: hunter2
`;
    // Without a group, an apiVersion is the core group's, whatever version a row gives: refused before any row is read.
    assert.throws(
      () => testForm(secret('{{ av }}')),
      (error: unknown) => error instanceof ConfigError && /is a Secret with plaintext/.test(error.message),
    );
    const hub = testHub({ extra: { av: 'av' } });
    const form = testForm(secret('{{ av }}/v1'));
    const context = {
      hub,
      form,
      formHash: formHash(form),
      engine: new TemplateEngine(templateVariables(hub)),
      root: 'nodes',
      bridgeVersion: '0.0.0-test',
    };
    assert.throws(
      () => renderNode(context, { uid: 'acme', active: true, values: { uid: 'acme', activate: '1', av: 'core' } }),
      (error: unknown) =>
        error instanceof RenderError &&
        /uid "acme", resource creds, field spec\.stringData: is a Secret with plaintext/.test(error.message),
    );
  });
});
