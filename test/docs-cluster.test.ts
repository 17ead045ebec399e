import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { validateManifest } from '../src/config/k8s-schema.ts';
import { parseForm, parseHub } from '../src/config/load.ts';
import { lynq } from './helpers/cli.ts';
import { fencedBlocks, markerFields, type MarkedBlock } from './helpers/markdown.ts';

// docs/into-a-cluster.md, taken from the page itself: its overlay (the `cluster: file=…`
// blocks) written beside a copy of this repository's deploy/, built with `kubectl kustomize`
// as `kubectl apply -k` would, every object checked against its schema; the Secret, the
// image, the namespaces and `lynq bootstrap` checked to agree with what the overlay builds.

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGE = 'docs/into-a-cluster.md';
const BLOCKS = fencedBlocks(readFileSync(path.join(ROOT, PAGE), 'utf8'), 'cluster').filter(
  (block) => block.marker !== '',
);

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: any };

function block(marker: string): MarkedBlock {
  const found = BLOCKS.filter((item) => item.marker === marker);
  assert.equal(found.length, 1, `${PAGE} has one block marked cluster: ${marker}`);
  return found[0]!;
}

const files = () =>
  BLOCKS.map((item) => markerFields(item.marker).file).filter((file): file is string => file !== undefined);

/** The one command of a shell block that starts with `prefix` (continuation lines joined). */
function command(code: string, prefix: string): string[] {
  const lines = code.replaceAll('\\\n', ' ').split('\n');
  const found = lines.filter((line) => line.trim().startsWith(prefix));
  assert.equal(found.length, 1, `one "${prefix}" command`);
  return found[0]!.trim().split(/\s+/);
}

describe(`${PAGE}: the overlay, built`, () => {
  let dir = '';
  let docs: Doc[] = [];
  const overlay = () => command(block('apply').code, 'kubectl apply -k')[3]!;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lynq-docs-cluster-'));
    await cp(path.join(ROOT, 'deploy'), path.join(dir, 'deploy'), { recursive: true });
    for (const item of BLOCKS) {
      const file = markerFields(item.marker).file;
      if (file === undefined) continue;
      assert.ok(file.startsWith('deploy/overlays/customers/'), `${file}: the page's files live in its overlay`);
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), item.code);
    }
    const { stdout } = await run('kubectl', ['kustomize', path.join(dir, overlay())], { maxBuffer: 16 * 1024 * 1024 });
    docs = parseAllDocuments(stdout).map((document) => document.toJS() as Doc);
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const one = (kind: string): Doc => {
    const found = docs.filter((doc) => doc.kind === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    return found[0]!;
  };
  const hub = () => parseHub('customers.yaml', block('file=deploy/overlays/customers/bridge/hubs/customers.yaml').code);

  test('the page marks its overlay, Secret, apply and bootstrap blocks', () => {
    assert.deepEqual(files().sort(), [
      'deploy/overlays/customers/bridge/forms/web.yaml',
      'deploy/overlays/customers/bridge/hubs/customers.yaml',
      'deploy/overlays/customers/bridge/kustomization.yaml',
      'deploy/overlays/customers/kustomization.yaml',
      'deploy/overlays/customers/namespaces.yaml',
    ]);
    assert.equal(overlay(), 'deploy/overlays/customers');
  });

  test('kubectl kustomize: every object validates against its schema', () => {
    assert.ok(docs.length >= 8, `${docs.length} objects`);
    for (const doc of docs)
      assert.equal(
        validateManifest(doc),
        undefined,
        `${doc.kind} ${doc.metadata.name}: ${JSON.stringify(validateManifest(doc))}`,
      );
  });

  test('one CronJob, a sync a minute, in lynq-system, running the image the overlay sets', () => {
    const cronJob = one('CronJob');
    assert.equal(cronJob.metadata.namespace, 'lynq-system');
    assert.equal(cronJob.spec.schedule, '* * * * *');
    assert.equal(cronJob.spec.concurrencyPolicy, 'Forbid');
    const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
    assert.equal(container.args[0], 'sync');
    const image = (
      parse(block('file=deploy/overlays/customers/bridge/kustomization.yaml').code) as {
        images: Array<{ newName: string; newTag: string }>;
      }
    ).images[0]!;
    assert.equal(container.image, `${image.newName}:${image.newTag}`, 'images: reaches the CronJob');
    assert.equal(docs.filter((doc) => doc.kind === 'Deployment').length, 0);
  });

  test("the namespaces: the bridge's, and the one the hub renders into", () => {
    const namespaces = docs.filter((doc) => doc.kind === 'Namespace').map((doc) => doc.metadata.name);
    assert.deepEqual(namespaces.sort(), ['lynq-system', hub().namespace].sort());
    for (const doc of docs)
      if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(doc.kind))
        assert.equal(doc.metadata.namespace, 'lynq-system', `${doc.kind} ${doc.metadata.name}`);
  });

  test("the hubs and forms ConfigMaps are the page's files, and they load", () => {
    const pod = one('CronJob').spec.jobTemplate.spec.template.spec;
    const container = pod.containers[0];
    for (const [flag, folder] of [
      ['--hubs', 'hubs'],
      ['--forms', 'forms'],
    ] as const) {
      const mountPath = container.args[container.args.indexOf(flag) + 1];
      const mount = container.volumeMounts.find((item: { mountPath: string }) => item.mountPath === mountPath);
      const name = pod.volumes.find((volume: { name: string }) => volume.name === mount.name).configMap.name;
      const configMap = docs.find((doc) => doc.kind === 'ConfigMap' && doc.metadata.name === name)!;
      const pageFiles = files().filter((file) => file.startsWith(`deploy/overlays/customers/bridge/${folder}/`));
      assert.deepEqual(
        Object.keys(configMap.data).sort(),
        pageFiles.map((file) => path.basename(file)).sort(),
        `${flag} holds the page's ${folder}`,
      );
      for (const [file, text] of Object.entries(configMap.data as Record<string, string>))
        (folder === 'hubs' ? parseHub : parseForm)(file, text);
    }
    assert.equal(
      parseForm('web.yaml', block('file=deploy/overlays/customers/bridge/forms/web.yaml').code).spec.hubId,
      hub().name,
    );
  });

  test('the Secret the page creates has every key the hub reads, where the CronJob mounts it', () => {
    const create = command(block('secret').code, 'kubectl create secret generic');
    const [name] = create.slice(4);
    const namespace = create[create.indexOf('-n') + 1];
    const keys = create
      .filter((word) => word.startsWith('--from-literal='))
      .map((word) => word.slice('--from-literal='.length).split('=')[0]);
    const refs = [
      ...block('file=deploy/overlays/customers/bridge/hubs/customers.yaml').code.matchAll(
        /\{ name: ([a-z-]+), key: ([a-z-]+) \}/g,
      ),
    ];
    assert.ok(refs.length >= 2, 'the hub reads the password and the token from the Secret');
    for (const ref of refs) {
      assert.equal(ref[1], name, 'the hub names the Secret the page creates');
      assert.ok(keys.includes(ref[2]), `the Secret has the key ${ref[2]}`);
    }
    const cronJob = one('CronJob');
    assert.equal(namespace, cronJob.metadata.namespace);
    const pod = cronJob.spec.jobTemplate.spec.template.spec;
    const volume = pod.volumes.find((item: { secret?: { secretName: string } }) => item.secret?.secretName === name);
    assert.ok(volume !== undefined, `the CronJob mounts the Secret ${name}`);
    const container = pod.containers[0];
    const secretsDir = container.env.find((item: { name: string }) => item.name === 'LYNQ_SECRETS_DIR').value;
    assert.equal(
      container.volumeMounts.find((item: { name: string }) => item.name === volume.name).mountPath,
      `${secretsDir}/${name}`,
      '{ name, key } finds it',
    );
  });

  test('lynq bootstrap, as the page runs it, prints a valid parent Application for the hub', async () => {
    const words = command(block('bootstrap').code, 'lynq bootstrap');
    const pipe = words.indexOf('|');
    assert.deepEqual(words.slice(pipe), ['|', 'kubectl', 'apply', '-f', '-']);
    const args = words
      .slice(1, pipe)
      .map((word, i, all) => (['--hubs', '--forms'].includes(all[i - 1]!) ? path.join(dir, word) : word));
    const result = await lynq(args);
    assert.equal(result.code, 0, result.err);
    const printed = parseAllDocuments(result.out).map((document) => document.toJS() as Doc);
    assert.deepEqual(
      printed.map((doc) => `${doc.kind} ${doc.metadata.name}`),
      [`Application lynq-${hub().name}`],
    );
    for (const doc of printed) assert.equal(validateManifest(doc), undefined, JSON.stringify(validateManifest(doc)));
    const role = one('ClusterRole') as Doc & {
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    };
    assert.ok(
      role.rules.some(
        (rule) =>
          rule.apiGroups.includes('argoproj.io') &&
          rule.resources.includes('applications') &&
          rule.verbs.includes('list'),
      ),
      'the read-back may list the Applications',
    );
  });
});
