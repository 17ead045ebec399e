import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { checkLynqNodeCrd } from '../src/gitops/lynq-operator-clash.ts';

const ROOT = path.join(import.meta.dirname, '..');
const read = async (file: string) => parse(await readFile(path.join(ROOT, file), 'utf8')) as Record<string, any>;

describe("LynqNode CRD: ours or the Lynq operator's", () => {
  test("the bridge's own CRD (output-schema/lynqnode-crd.yaml) is ours", async () => {
    assert.deepEqual(checkLynqNodeCrd(await read('output-schema/lynqnode-crd.yaml')), { ours: true });
  });

  test('a bridge CRD from before the owner annotation is recognised by its spec', async () => {
    const crd = await read('output-schema/lynqnode-crd.yaml');
    delete crd.metadata.annotations;
    assert.deepEqual(checkLynqNodeCrd(crd), { ours: true });
  });

  test("the Lynq operator's CRD is not ours, and the message says whose it is and what to do", async () => {
    const verdict = checkLynqNodeCrd(await read('test/fixtures/lynq/crd/operator.lynq.sh_lynqnodes.abbreviated.yaml'));
    assert.equal(verdict.ours, false);
    assert.ok(!verdict.ours);
    assert.match(
      verdict.message,
      /LynqNode CRD \(lynqnodes\.operator\.lynq\.sh\) is the Lynq operator's \(its spec has configMaps/,
    );
    assert.match(verdict.message, /a running Lynq operator would reconcile them/);
    assert.match(verdict.message, /"Coming from Lynq" \(docs\/coming-from-lynq\.md\)/);
  });

  test('the owner annotation alone does not make another group or kind ours', async () => {
    const crd = await read('output-schema/lynqnode-crd.yaml');
    crd.spec.group = 'example.com';
    const verdict = checkLynqNodeCrd(crd);
    assert.ok(!verdict.ours);
    assert.match(verdict.message, /is not the LynqNode CRD/);
  });

  test('a CRD with neither marker nor either spec is not ours', async () => {
    const crd = await read('output-schema/lynqnode-crd.yaml');
    delete crd.metadata.annotations;
    crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties = { something: { type: 'string' } };
    const verdict = checkLynqNodeCrd(crd);
    assert.ok(!verdict.ours);
    assert.match(verdict.message, /is not the bridge's \(no lynq\.sh\/crd-owner: lynq-gitops-bridge annotation/);
  });

  test('anything that is not a CRD is refused with a reason, never taken for ours', () => {
    for (const object of [undefined, null, 'crd', {}, { metadata: { name: 'lynqnodes.operator.lynq.sh' } }]) {
      const verdict = checkLynqNodeCrd(object);
      assert.ok(!verdict.ours);
      assert.match(verdict.message, /not a CustomResourceDefinition the bridge can read/);
    }
  });
});
