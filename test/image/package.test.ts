// npm run test:image (not part of npm test: it installs from the npm registry): the tarball
// `npm pack` makes, installed on a clean prefix as a user would without a clone.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from './podman.ts';

const run = promisify(execFile);

type Packed = { filename: string; files: Array<{ path: string }> };

describe('the npm package: npm pack, then npm install -g --prefix <clean folder> <tarball>', {
  concurrency: false,
}, () => {
  let temp: string;
  let packed: Packed;
  let lynq: string;
  let installed: string;
  const pkg = {
    version: '',
    dependencies: {} as Record<string, string>,
    devDependencies: {} as Record<string, string>,
  };

  before(async () => {
    temp = await mkdtemp(path.join(os.tmpdir(), 'lynq-package-'));
    Object.assign(pkg, JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')));
    // As a user (or a release) packs it: `prepare` builds dist/ first.
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', temp], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    packed = (JSON.parse(stdout) as Packed[])[0]!;
    const prefix = path.join(temp, 'prefix');
    await run(
      'npm',
      ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', path.join(temp, packed.filename)],
      { cwd: temp, timeout: 5 * 60_000 },
    );
    lynq = path.join(prefix, 'bin', 'lynq');
    installed = path.join(prefix, 'lib', 'node_modules', 'lynq-gitops-bridge');
  });

  after(async () => {
    if (temp !== undefined) await rm(temp, { recursive: true, force: true });
  });

  test('the tarball carries the build, the launcher and the demo files: no sources, no tests', () => {
    const files = packed.files.map((file) => file.path).sort();
    for (const needed of [
      'bin/lynq.mjs',
      'dist/cli/lynq.cjs',
      'dist/git/askpass.sh',
      'dist/build-info.json',
      'hubs/demo.yaml',
      'hubs/demo-seed.sql',
      'forms/demo-web.yaml',
      'package.json',
    ])
      assert.ok(files.includes(needed), `${needed} in ${files.join(', ')}`);
    assert.deepEqual(
      files.filter((file) => /^(src|test|bench|scripts|deploy|docker)\//.test(file) || /\.ts$/.test(file)),
      [],
    );
  });

  test('it installs only the runtime dependencies: the packages the bundle leaves to Node, no build or test tools', async () => {
    const top = await installedPackages(path.join(installed, 'node_modules'));
    for (const name of Object.keys(pkg.dependencies)) assert.ok(top.has(name), `${name} is installed`);
    // A dev dependency (a build or test tool, or a package bundled in dist/) is there only when a runtime package depends on it itself.
    const wanted = new Set<string>();
    for (const manifest of top.values())
      for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) wanted.add(name);
    for (const name of Object.keys(pkg.devDependencies))
      assert.ok(!top.has(name) || wanted.has(name), `${name} is installed, and no runtime package needs it`);
    for (const tool of ['typescript', 'tsx', 'esbuild', '@biomejs/biome', 'dependency-cruiser'])
      assert.ok(!top.has(tool), `${tool} is not installed`);
  });

  test('lynq --help and lynq --version answer', async () => {
    const help = await run(lynq, ['--help'], { cwd: temp });
    assert.match(help.stdout, /^Usage: lynq \[options\] \[command\]/);
    assert.match(help.stdout, /^ {2}demo /m);
    const version = await run(lynq, ['--version'], { cwd: temp });
    assert.equal(version.stdout.split('\n')[0], pkg.version);
  });

  test('lynq demo runs from the installed package (its embedded Postgres, its own hub and form) and commits the demo nodes', async () => {
    const dir = path.join(temp, 'demo');
    const { stdout } = await run(lynq, ['demo', '--dir', dir], {
      cwd: temp,
      env: { ...process.env, LYNQ_LOG_LEVEL: 'silent' },
      timeout: 5 * 60_000,
    });
    assert.match(stdout, /manifests repository: /);
    const { stdout: tree } = await run('git', [
      '-C',
      path.join(dir, 'manifests.git'),
      'ls-tree',
      '-r',
      '--name-only',
      'main',
    ]);
    assert.match(tree, /^nodes\/demo\/web\/\w+\/web\.yaml$/m);
  });
});

type Manifest = { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };

/** The packages at the top of a node_modules folder, by name, with their package.json. */
async function installedPackages(nodeModules: string): Promise<Map<string, Manifest>> {
  const names: string[] = [];
  for (const entry of await readdir(nodeModules)) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@'))
      for (const scoped of await readdir(path.join(nodeModules, entry))) names.push(`${entry}/${scoped}`);
    else names.push(entry);
  }
  const packages = new Map<string, Manifest>();
  for (const name of names)
    packages.set(name, JSON.parse(await readFile(path.join(nodeModules, name, 'package.json'), 'utf8')) as Manifest);
  return packages;
}
