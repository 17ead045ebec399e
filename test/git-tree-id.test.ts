import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gitBlobId, gitTreeId } from '../src/render/hash.ts';
import { git, makeTempDir } from './helpers/git.ts';

/** git's own id for a folder holding these files, written into a real repository. */
async function treeIdFromGit(
  files: Record<string, string>,
  objectFormat: 'sha1' | 'sha256' = 'sha1',
): Promise<{ tree: string; blobs: Map<string, string> }> {
  const temp = await makeTempDir('lynq-tree-id-');
  try {
    await git(temp.dir, ['init', '--quiet', `--object-format=${objectFormat}`]);
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(temp.dir, name)), { recursive: true });
      await writeFile(path.join(temp.dir, name), content);
    }
    await git(temp.dir, ['add', '--all']);
    const tree = (await git(temp.dir, ['write-tree'])).trim();
    const blobs = new Map<string, string>();
    for (const line of (await git(temp.dir, ['ls-files', '--stage'])).split('\n').filter(Boolean)) {
      const [meta, name] = line.split('\t') as [string, string];
      blobs.set(name, meta.split(' ')[1]!);
    }
    return { tree, blobs };
  } finally {
    await temp.cleanup();
  }
}

describe('gitTreeId', () => {
  it('gives the id git gives the same folder, with names that sort apart from their bytes (a subfolder sorts as "name/")', async () => {
    const files = {
      'a.yaml': 'a\n',
      'a/b.yaml': 'ab\n',
      'a-b.yaml': 'a-b\n',
      'a0.yaml': 'a0\n',
      'kustomization.yaml': 'resources: []\n',
      'levels/1/kustomization.yaml': 'level 1\n',
      'levels/10/kustomization.yaml': 'level 10\n',
      'levels/1.yaml': 'x\n',
      'lynqnode.yaml': 'kind: LynqNode\n',
    };
    const { tree, blobs } = await treeIdFromGit(files);
    for (const [name, content] of Object.entries(files)) assert.equal(blobs.get(name), gitBlobId(content), name);
    assert.equal(gitTreeId(blobs), tree);
    // Order of the input does not matter.
    assert.equal(gitTreeId([...blobs].reverse()), tree);
  });

  it('changes with any name or blob id', async () => {
    const { blobs } = await treeIdFromGit({ 'web.yaml': 'x\n', 'lynqnode.yaml': 'y\n' });
    const base = gitTreeId(blobs);
    assert.notEqual(
      gitTreeId([...blobs].map(([name, id]) => [name === 'web.yaml' ? 'web2.yaml' : name, id] as const)),
      base,
    );
    assert.notEqual(
      gitTreeId([...blobs].map(([name, id]) => [name, name === 'web.yaml' ? gitBlobId('z\n') : id] as const)),
      base,
    );
    assert.notEqual(gitTreeId([...blobs, ['extra.yaml', gitBlobId('')]]), base);
  });

  it('hashes a SHA-256 repository’s tree as git does', async () => {
    const files = { 'web.yaml': 'web\n', 'levels/1/kustomization.yaml': 'k\n' };
    const { tree, blobs } = await treeIdFromGit(files, 'sha256');
    assert.equal(tree.length, 64);
    assert.equal(gitTreeId(blobs), tree);
  });
});
