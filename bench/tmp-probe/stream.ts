// Write the fast-import stream CachedRepo.commit would send for N new nodes, to a file.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { parseForm, parseHub } from '../../src/config/load.ts';
import { renderHub } from '../../src/plan/render-hub.ts';
const [nText, out, mode = 'inline'] = process.argv.slice(2);
const n = Number(nText);
const file = 'forms/demo-web.yaml';
const doc = parse(readFileSync(file, 'utf8'));
doc.spec.hubId = 'bench';
const form = parseForm(file, stringify(doc));
const hub = parseHub('hubs/bench.yaml', stringify({ apiVersion: 'operator.lynq.sh/v1', kind: 'LynqHub', metadata: { name: 'bench' }, spec: { source: { type: 'postgresql', postgresql: { database: 'x', table: 't' } }, valueMappings: { uid: 'id', activate: 'active' }, extraValueMappings: { plan: 'plan', replicas: 'replicas', image: 'image', domain: 'domain', createdAt: 'created_at' } } }));
const rows = Array.from({ length: n }, (_, i) => ({ uid: `c${String(i).padStart(6, '0')}`, active: true, values: { uid: `c${String(i).padStart(6, '0')}`, activate: 'true', plan: ['gold', 'silver', 'bronze'][i % 3]!, replicas: String((i % 3) + 1), image: 'nginx:1.27', domain: '', createdAt: '2024-01-01T00:00:00.000Z' } }));
const rendered = renderHub(hub, [form], rows, { root: 'nodes', bridgeVersion: '0.1.0' });
const chunks: Buffer[] = [];
if (mode === 'blobs') {
  let mark = 0;
  for (const node of rendered.nodes) for (const f of node.files) { const b = Buffer.from(f.content); chunks.push(Buffer.from(`blob\nmark :${++mark}\ndata ${b.length}\n`), b, Buffer.from('\n')); }
} else {
  chunks.push(Buffer.from(`commit refs/heads/main\ncommitter x <x@x> 0 +0000\ndata 1\nx\n`));
  for (const node of rendered.nodes) for (const f of node.files) { const b = Buffer.from(f.content); chunks.push(Buffer.from(`M 100644 inline ${node.dir}/${f.name}\ndata ${b.length}\n`), b, Buffer.from('\n')); }
}
chunks.push(Buffer.from('done\n'));
writeFileSync(out!, Buffer.concat(chunks));
