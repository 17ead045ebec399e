import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { FILTERS } from '../src/render/filters.ts';
import { TemplateEngine } from '../src/render/template.ts';
import { fencedBlocks } from './helpers/markdown.ts';

// Every example of docs/filters.md, taken from the page itself (its Vars line, template and
// output) and rendered through the engine forms use, so the page cannot drift from the code.

const DOC_FILE = fileURLToPath(new URL('../docs/filters.md', import.meta.url));
const DOC = readFileSync(DOC_FILE, 'utf8');

type Example = { filter: string; vars: Record<string, unknown>; template: string; output: string };

function examples(): Example[] {
  const out: Example[] = [];
  for (const part of DOC.split(/^### /m).slice(1)) {
    const filter = /^`([^`]+)`/.exec(part)?.[1];
    assert.ok(filter, `a filter heading without a name: ${part.slice(0, 40)}`);
    const vars = /^Vars: `(.*)`$/m.exec(part)?.[1];
    const blocks = fencedBlocks(part, 'none');
    const template = blocks.find((block) => block.lang === 'jinja');
    const output = blocks.find((block) => block.lang === 'text');
    assert.ok(
      vars !== undefined && template && output,
      `docs/filters.md, ${filter}: an example needs Vars, a jinja block and a text block`,
    );
    out.push({
      filter,
      vars: JSON.parse(vars) as Record<string, unknown>,
      template: template.code.slice(0, -1),
      output: output.code.slice(0, -1),
    });
  }
  return out;
}

describe('docs/filters.md', () => {
  const all = examples();

  test('has one example per filter, and no other', () => {
    assert.deepEqual(all.map((example) => example.filter).sort(), FILTERS.map((filter) => filter.name).sort());
  });

  for (const example of all) {
    test(`the ${example.filter} example renders as the page shows`, () => {
      const engine = new TemplateEngine(Object.keys(example.vars));
      const result = engine.render(example.template, example.vars as Record<string, string>, {
        file: 'docs/filters.md',
        field: example.filter,
      });
      assert.equal(typeof result === 'string' ? result : JSON.stringify(result), example.output);
    });
  }

  test('links only to files that exist', () => {
    for (const match of DOC.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
      const target = match[1]!;
      if (/^https?:/.test(target)) continue;
      assert.ok(
        existsSync(path.resolve(path.dirname(DOC_FILE), target)),
        `docs/filters.md links to ${target}, which does not exist`,
      );
    }
    for (const name of DOC.matchAll(/\b([A-Z][A-Z_]+\.md)\b/g)) {
      assert.ok(
        existsSync(path.resolve(path.dirname(DOC_FILE), '..', name[1]!)),
        `docs/filters.md names ${name[1]}, which is not in the repository`,
      );
    }
  });
});
