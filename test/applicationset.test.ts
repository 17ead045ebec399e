import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { validateManifest } from '../src/config/k8s-schema.ts';
import { testHub } from './helpers/config.ts';
import { fencedBlocks } from './helpers/markdown.ts';
import { renderTestNode as render } from './helpers/render.ts';

const FILE = readFileSync(new URL('../docs/applicationset.yaml', import.meta.url), 'utf8');
const PAGE = readFileSync(new URL('../docs/argocd-and-flux.md', import.meta.url), 'utf8');

describe('the ApplicationSet example for engine: none', () => {
  test('docs/argocd-and-flux.md shows docs/applicationset.yaml as it is', () => {
    const blocks = fencedBlocks(PAGE, 'applicationset').filter((block) => block.marker === 'docs/applicationset.yaml');
    assert.equal(blocks.length, 1);
    assert.equal(blocks[0]!.code, FILE);
  });

  test("is valid against Argo CD's ApplicationSet schema (which does reject a broken one)", () => {
    const appSet = parse(FILE) as Record<string, any>;
    assert.equal(appSet.kind, 'ApplicationSet');
    assert.equal(validateManifest(appSet), undefined);
    const broken = structuredClone(appSet);
    broken.spec.generators[0].git.directories = 'nodes/customers/*/*';
    assert.deepEqual(validateManifest(broken), {
      path: 'spec.generators[0].git.directories',
      message: 'must be array',
    });
    delete broken.spec.template;
    assert.equal(validateManifest(broken)?.message, 'is required');
  });

  test('its generator finds exactly the node folders a sync writes, and names each Application as engine argocd would', () => {
    const appSet = parse(FILE) as Record<string, any>;
    const pattern = (appSet.spec.generators[0].git.directories[0].path as string).split('/');
    const plain = render('    engine: none\n');
    const dir = plain.dir.split('/');
    assert.equal(dir.length, pattern.length);
    for (const [i, segment] of pattern.entries())
      assert.ok(segment === '*' || segment === dir[i], `${segment} vs ${dir[i]}`);
    // Argo CD's path.segments and path.basename for that folder, put into the name template.
    const name = (appSet.spec.template.metadata.name as string)
      .replace('{{ index .path.segments 2 }}', dir[2]!)
      .replace('{{ .path.basename }}', dir.at(-1)!);
    const argo = render('    engine: argocd\n');
    assert.equal(name, (parse(argo.appFile!.content) as { metadata: { name: string } }).metadata.name);
  });
});

describe('spec.gitops.argocd.createNamespace', () => {
  const syncOptions = (gitops: string): string[] | undefined =>
    (parse(render(gitops).appFile!.content) as { spec: { syncPolicy?: { syncOptions?: string[] } } }).spec.syncPolicy
      ?.syncOptions;

  test('adds CreateNamespace=true to every node Application, once', () => {
    assert.equal(syncOptions('    engine: argocd\n')?.includes('CreateNamespace=true') ?? false, false);
    assert.deepEqual(syncOptions('    engine: argocd\n    argocd:\n      createNamespace: true\n'), [
      'CreateNamespace=true',
    ]);
    assert.deepEqual(
      syncOptions(
        '    engine: argocd\n    argocd:\n      createNamespace: true\n      syncPolicy:\n        syncOptions: [CreateNamespace=true, ServerSideApply=true]\n',
      ),
      ['CreateNamespace=true', 'ServerSideApply=true'],
    );
  });

  test('is absent unless set, so hubs without it keep their settings hash (stableJson leaves undefined out); setting it renders the nodes again', () => {
    assert.equal(
      testHub({ spec: '  publish:\n    repo: https://git.example.com/m.git\n  gitops:\n    engine: argocd\n' }).spec
        .gitops.argocd.createNamespace,
      undefined,
    );
    const without = render('    engine: argocd\n');
    const explicit = render('    engine: argocd\n    argocd:\n      createNamespace: true\n');
    assert.notEqual(without.hubHash, explicit.hubHash);
  });
});
