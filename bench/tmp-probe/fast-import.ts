// Probe: is the 10k-node first-sync commit slow in git fast-import itself, and does it grow quadratically?
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parse, stringify } from 'yaml';
import { parseForm, parseHub } from '../../src/config/load.ts';
import { renderHub } from '../../src/plan/render-hub.ts';

const n = Number(process.argv[2] ?? 10000);
const file = 'forms/demo-web.yaml';
const doc = parse(readFileSync(file, 'utf8'));
doc.spec.hubId = 'bench';
const form = parseForm(file, stringify(doc));
const hub = parseHub('hubs/bench.yaml', stringify({ apiVersion: 'operator.lynq.sh/v1', kind: 'LynqHub', metadata: { name: 'bench' }, spec: { source: { type: 'postgresql', postgresql: { database: 'x', table: 't' } }, valueMappings: { uid: 'id', activate: 'active' }, extraValueMappings: { plan: 'plan', replicas: 'replicas', image: 'image', domain: 'domain', createdAt: 'created_at' } } }));
const rows = Array.from({ length: n }, (_, i) => ({ uid: `c${String(i).padStart(6, '0')}`, active: true, values: { uid: `c${String(i).padStart(6, '0')}`, activate: 'true', plan: 'gold', replicas: '2', image: 'nginx:1.27', domain: '', createdAt: '2024-01-01T00:00:00.000Z' } }));
let t = performance.now();
const rendered = renderHub(hub, [form], rows, { root: 'nodes', bridgeVersion: '0.1.0' });
console.log(`render ${n}: ${(performance.now() - t).toFixed(0)} ms`);
const chunks: Buffer[] = [Buffer.from(`commit refs/heads/main\ncommitter x <x@x> 0 +0000\ndata 1\nx\n`)];
t = performance.now();
for (const node of rendered.nodes) for (const f of node.files) {
  const bytes = Buffer.from(f.content, 'utf8');
  chunks.push(Buffer.from(`M 100644 inline ${node.dir}/${f.name}\ndata ${bytes.length}\n`), bytes, Buffer.from('\n'));
}
chunks.push(Buffer.from('done\n'));
const stream = Buffer.concat(chunks);
console.log(`build stream: ${(performance.now() - t).toFixed(0)} ms, ${(stream.length / 1e6).toFixed(1)} MB, ${chunks.length} chunks`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'lynq-probe-'));
try {
  execFileSync('git', ['init', '-q', '--bare', dir]);
  t = performance.now();
  const r = spawnSync('git', ['fast-import', '--quiet', '--done', '--force'], { cwd: dir, input: stream });
  console.log(`git fast-import (stream from memory): ${(performance.now() - t).toFixed(0)} ms, exit ${r.status}`);
  // Same files, but via an index: hash-object blobs with fast-import (blobs only), then update-index + write-tree.
  const dir2 = mkdtempSync(path.join(os.tmpdir(), 'lynq-probe-'));
  execFileSync('git', ['init', '-q', '--bare', dir2]);
  t = performance.now();
  const blobChunks: Buffer[] = [];
  const paths: string[] = [];
  let mark = 0;
  for (const node of rendered.nodes) for (const f of node.files) {
    const bytes = Buffer.from(f.content, 'utf8');
    blobChunks.push(Buffer.from(`blob\nmark :${++mark}\ndata ${bytes.length}\n`), bytes, Buffer.from('\n'));
    paths.push(`${node.dir}/${f.name}`);
  }
  blobChunks.push(Buffer.from('done\n'));
  const marks = path.join(dir2, 'marks');
  const r2 = spawnSync('git', ['fast-import', '--quiet', '--done', `--export-marks=${marks}`], { cwd: dir2, input: Buffer.concat(blobChunks) });
  const ids = new Map(readFileSync(marks, 'utf8').trim().split('\n').map((l) => { const [m, id] = l.split(' '); return [Number(m!.slice(1)), id!]; }));
  const info = paths.map((p, i) => `100644 ${ids.get(i + 1)}\t${p}`).join('\n') + '\n';
  const env = { ...process.env, GIT_INDEX_FILE: path.join(dir2, 'tmp-index') };
  spawnSync('git', ['update-index', '--add', '--index-info'], { cwd: dir2, input: info, env });
  const tree = execFileSync('git', ['write-tree'], { cwd: dir2, env }).toString().trim();
  console.log(`alternative (fast-import blobs only + update-index --index-info + write-tree): ${(performance.now() - t).toFixed(0)} ms, exit ${r2.status}, tree ${tree.slice(0, 10)}, same tree as fast-import: ${tree === execFileSync('git', ['rev-parse', 'refs/heads/main^{tree}'], { cwd: dir }).toString().trim()}`);
  rmSync(dir2, { recursive: true, force: true });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
