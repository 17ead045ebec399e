import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { tempFiles } from './helpers/files.ts';

const form = (name: string, value: string) => `apiVersion: operator.lynq.sh/v1
kind: LynqForm
metadata:
  name: ${name}
spec:
  hubId: h
  configMaps:
    - id: c
      nameTemplate: "{{ .uid }}-c"
      spec:
        apiVersion: v1
        kind: ConfigMap
        data:
          a: "${value}"
`;

test('lynq import --out: a second form of a name already imported is refused (exit 2), naming where the first came from; the first is kept', async () => {
  const files = await tempFiles({
    'lynq/a.yaml': `${form('web', 'first')}---\n${form('api', 'x')}`,
    'lynq/b.yaml': form('web', 'second'),
  });
  try {
    const out = path.join(files.dir, 'out');
    const result = await lynq(['import', path.join(files.dir, 'lynq'), '--out', out]);
    assert.equal(result.code, 2, result.out + result.err);
    assert.match(
      result.out,
      /lynq\/b\.yaml: form web: not imported: a form of this name was imported from .*lynq\/a\.yaml already: rename one \(metadata\.name\)/,
    );
    assert.deepEqual((await readdir(path.join(out, 'forms'))).sort(), ['api.yaml', 'web.yaml']);
    assert.match(await readFile(path.join(out, 'forms', 'web.yaml'), 'utf8'), /a: first/);
  } finally {
    await files.cleanup();
  }
});

test('lynq import: an unquoted template in the 300th document of a file is named by the file’s own line', async () => {
  const docs = Array.from({ length: 300 }, (_, i) => form(`f${i}`, 'v'));
  docs[299] = docs[299]!.replace('          a: "v"', '          a: {{ .uid }}');
  const files = await tempFiles({ 'many.yaml': docs.join('---\n') });
  try {
    const result = await lynq(['import', path.join(files.dir, 'many.yaml')]);
    assert.equal(result.code, 2);
    // The lines of the 299 documents before it (each ending in a newline), the "---" line, then the 14th line of the form.
    const line = docs.slice(0, 299).join('---\n').split('\n').length + 14;
    assert.match(result.err, new RegExp(`many\\.yaml:${line}\\b`), result.err.slice(-600));
  } finally {
    await files.cleanup();
  }
});
