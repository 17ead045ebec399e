// Summarise a .heapsnapshot: self size and count per (type, name) (node bench/heapsnapshot-top.mjs FILE [N]).
import { readFileSync } from 'node:fs';
const [file, n = '25'] = process.argv.slice(2);
const snap = JSON.parse(readFileSync(file, 'utf8'));
const {
  node_fields: fields,
  node_types: [types],
} = snap.snapshot.meta;
const width = fields.length;
const iType = fields.indexOf('type'),
  iName = fields.indexOf('name'),
  iSize = fields.indexOf('self_size');
const groups = new Map();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + iType]];
  const name =
    type === 'string' || type === 'concatenated string' || type === 'sliced string'
      ? '(strings)'
      : snap.strings[snap.nodes[i + iName]];
  const k = `${type} ${name}`;
  const size = snap.nodes[i + iSize];
  total += size;
  const g = groups.get(k) ?? { size: 0, count: 0 };
  g.size += size;
  g.count++;
  groups.set(k, g);
}
console.log(`total self size ${(total / 1048576).toFixed(1)} MiB`);
for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, Number(n)))
  console.log(`${(g.size / 1048576).toFixed(1).padStart(8)} MiB ${String(g.count).padStart(9)}  ${k.slice(0, 120)}`);
