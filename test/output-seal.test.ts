import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gitBlobId } from '../src/render/hash.ts';
import { LYNQNODE_FILE, type RenderedNode } from '../src/render/node.ts';
import { ANNOTATION_OUTPUT_HASH, sealedInputHash, type NodeOutput } from '../src/render/output-seal.ts';
import { parse } from 'yaml';
import { readPreviousNode, readRecordedInputs } from '../src/plan/previous-node.ts';
import { LISTS, renderTestNode } from './helpers/render.ts';

const ENGINES = ['none', 'argocd', 'flux'] as const;

function render(engine: (typeof ENGINES)[number], uid = 'acme'): RenderedNode {
  return renderTestNode(`    engine: ${engine}\n`, LISTS, uid);
}

/** The node as a tree listing would show it: every file but the LynqNode, and the apps file. */
function outputOf(node: RenderedNode): { files: Map<string, string>; app: NodeOutput['app'] } {
  const files = new Map(node.files.filter((file) => file.name !== LYNQNODE_FILE).map((file) => [file.name, file.blob]));
  return { files, app: node.appFile === undefined ? undefined : { path: node.appFile.path, blob: node.appFile.blob } };
}

const lynqNodeText = (node: RenderedNode): string => node.files.find((file) => file.name === LYNQNODE_FILE)!.content;

describe('the LynqNode seal (lynq.sh/output-hash)', () => {
  for (const engine of ENGINES) {
    test(`engine ${engine}: a freshly rendered node's seal holds and gives its input hash`, () => {
      const node = render(engine);
      const text = lynqNodeText(node);
      assert.match(text, new RegExp(`\\n    ${ANNOTATION_OUTPUT_HASH}: sha256:[0-9a-f]{64}\\n`));
      assert.doesNotMatch(text, /sha256:0{64}/, 'the placeholder never reaches Git');
      assert.equal(sealedInputHash(text, outputOf(node)), node.inputHash);
      if (engine === 'flux')
        assert.ok(
          outputOf(node).files.has('levels/1/kustomization.yaml'),
          'the per-level kustomizations are sealed too',
        );
      if (engine !== 'none') assert.ok(node.appFile !== undefined);
    });
  }

  test('the seal is the same for the same inputs, and differs when any file differs', () => {
    assert.equal(lynqNodeText(render('argocd')), lynqNodeText(render('argocd')));
    const gold = render('argocd');
    const silver = render('argocd', 'globex');
    assert.notEqual(sealedInputHash(lynqNodeText(silver), outputOf(silver)), undefined);
    assert.equal(
      sealedInputHash(lynqNodeText(gold), outputOf(silver)),
      undefined,
      'a LynqNode does not vouch for another output',
    );
  });

  test('any edit to the node breaks the seal: a file, an added or removed file, the apps file, the LynqNode itself', () => {
    const node = render('flux');
    const text = lynqNodeText(node);
    const output = outputOf(node);
    // `null`: no apps file (a default parameter would turn `undefined` back into the node's own).
    const broken = (files: Map<string, string>, app: NodeOutput['app'] | null = output.app, lynqNode = text) =>
      sealedInputHash(lynqNode, { files, app: app ?? undefined });
    const edited = new Map(output.files).set('settings.yaml', gitBlobId('edited: by hand\n'));
    assert.equal(broken(edited), undefined, 'a resource file edited');
    assert.equal(
      broken(new Map(output.files).set('kustomization.yaml', gitBlobId('x\n'))),
      undefined,
      'the kustomization edited',
    );
    assert.equal(
      broken(new Map(output.files).set('levels/0/kustomization.yaml', gitBlobId('x\n'))),
      undefined,
      'a level kustomization edited',
    );
    assert.equal(broken(new Map(output.files).set('extra.yaml', gitBlobId('x\n'))), undefined, 'a file added by hand');
    const fewer = new Map(output.files);
    fewer.delete('service.yaml');
    assert.equal(broken(fewer), undefined, 'a file removed by hand');
    assert.equal(
      broken(output.files, { path: output.app!.path, blob: gitBlobId('x\n') }),
      undefined,
      'the apps file edited',
    );
    assert.equal(broken(output.files, null), undefined, 'the apps file removed');
    assert.equal(
      broken(output.files, output.app, text.replace('hubId: customers', 'hubId: other')),
      undefined,
      'the LynqNode edited',
    );
    assert.equal(
      broken(
        output.files,
        output.app,
        text.replace(/input-hash: sha256:[0-9a-f]{64}/, `input-hash: sha256:${'1'.repeat(64)}`),
      ),
      undefined,
      'its input hash edited',
    );
    assert.equal(
      broken(output.files, output.app, text.replace(/\n {4}lynq\.sh\/output-hash: .*\n/, '\n')),
      undefined,
      'a LynqNode without a seal (bridge 0.2.0)',
    );
    assert.equal(broken(output.files, output.app, `${text}# note\n`), undefined, 'a comment added');
    assert.equal(broken(output.files), node.inputHash, 'and untouched, it holds');
  });

  test('a sealed LynqNode: its recorded inputs are read from its annotation lines, the same as parsing it gives; a version written quoted is left to the parser', () => {
    for (const engine of ENGINES) {
      const node = render(engine);
      const text = lynqNodeText(node);
      const parsed = parse(text) as { metadata: { annotations: Record<string, string> } };
      const previous = readPreviousNode(text)!;
      assert.deepEqual(readRecordedInputs(text), {
        formHash: previous.formHash,
        hubHash: previous.hubHash,
        version: previous.version,
        rowHash: parsed.metadata.annotations['lynq.sh/row-hash'],
      });
      assert.deepEqual(
        [previous.formHash, previous.hubHash, previous.version],
        [node.formHash, node.hubHash, node.bridgeVersion],
      );
      // The writer quotes a version YAML could read as another type ("0.4.0"); one that needs escapes is left to the parser.
      for (const [written, version] of [
        ['"0.4.0"', '0.4.0'],
        ["'1.10'", '1.10'],
        ['"0.4\\u0041"', undefined],
      ] as const) {
        const quoted = text.replace('lynq.sh/bridge-version: 0.0.0-test', `lynq.sh/bridge-version: ${written}`);
        assert.equal(readRecordedInputs(quoted)?.version, version, written);
        if (version !== undefined) assert.equal(readPreviousNode(quoted)?.version, version, 'as the parser reads it');
      }
      assert.equal(
        readRecordedInputs(text.replace(/\n {4}lynq\.sh\/form-hash: .*\n/, '\n')),
        undefined,
        'an annotation missing: parse it',
      );
    }
  });
});
