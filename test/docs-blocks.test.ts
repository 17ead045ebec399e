import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { fencedBlocks } from './helpers/markdown.ts';

// The docs as a whole: every command or config block is either read by a test or marked
// illustrative, every link between pages resolves (anchors included), table cells stay
// short, and the README stays a front door.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGES = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const LINKED = [...PAGES, 'bench/README.md', 'bench/RESULTS.md'];
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Markers whose blocks one test reads, by the marker's name. */
const TESTED_BY: Record<string, string> = {
  walkthrough: 'test/readme-walkthrough.test.ts',
  synopsis: 'test/help-readme.test.ts',
  applicationset: 'test/applicationset.test.ts',
  cluster: 'test/docs-cluster.test.ts',
};

type Block = {
  file: string;
  line: number;
  lang: string;
  code: string;
  marker?: { name: string; value: string };
  section: string;
};

/** Every fenced block of a page, with the `<!-- name: value -->` comment just above it, if any. */
function blocks(file: string): Block[] {
  const out: Block[] = [];
  let section = '';
  const lines = read(file).split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^#{1,6} /.test(lines[i]!)) section = lines[i]!;
    if (!/^\s*```/.test(lines[i]!)) continue;
    const comment = /^\s*<!-- ([a-z-]+): (.+?) -->\s*$/.exec(lines[i - 1] ?? '');
    const [block] = fencedBlocks(lines.slice(i).join('\n'), comment?.[1] ?? 'none');
    assert.ok(block, `${file}:${i + 1}: an unclosed code block`);
    out.push({
      file,
      line: i + 1,
      lang: block.lang,
      code: block.code,
      section,
      marker: comment ? { name: comment[1]!, value: comment[2]! } : undefined,
    });
    i += block.code.split('\n').length;
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of read(file).split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1]!);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count === 0 ? base : `${base}-${count}`);
  }
  return out;
}

describe('the docs', () => {
  test('every fenced block of README.md, CONTRIBUTING.md and docs/*.md is read by a test or marked illustrative', () => {
    const problems: string[] = [];
    for (const file of PAGES) {
      for (const block of blocks(file)) {
        const where = `${file}:${block.line}`;
        // docs/filters.md: each filter's example (its jinja and text blocks) is rendered by test/docs-filters.test.ts.
        if (file === 'docs/filters.md' && block.section.startsWith('### ') && ['jinja', 'text'].includes(block.lang))
          continue;
        if (block.marker === undefined) {
          problems.push(
            `${where}: a ${block.lang || 'plain'} block with no marker (<!-- illustrative: why --> or one a test reads)`,
          );
          continue;
        }
        const { name, value } = block.marker;
        if (name === 'illustrative') continue;
        if (name === 'same-as') {
          assert.ok(existsSync(path.join(ROOT, value)), `${where}: same-as ${value}, which does not exist`);
          assert.equal(block.code, read(value), `${where}: the block is not ${value} as it is`);
          continue;
        }
        const testFile = name === 'test' ? value : TESTED_BY[name];
        if (testFile === undefined) {
          problems.push(`${where}: unknown marker "${name}"`);
          continue;
        }
        assert.ok(existsSync(path.join(ROOT, testFile)), `${where}: ${testFile} does not exist`);
        assert.ok(read(testFile).includes(file), `${where}: ${testFile} does not read ${file}`);
        if (name !== 'test')
          assert.ok(read(testFile).includes(`'${name}'`), `${where}: ${testFile} does not read "${name}" blocks`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('links between pages and to files of the repository resolve, anchors included', () => {
    const problems: string[] = [];
    for (const file of LINKED) {
      let fenced = false;
      for (const [i, line] of read(file).split('\n').entries()) {
        if (/^\s*```/.test(line)) fenced = !fenced;
        if (fenced) continue;
        for (const match of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
          const link = match[1]!;
          if (/^[a-z]+:/.test(link)) continue;
          const [target, anchor] = link.split('#') as [string, string | undefined];
          const resolved = target === '' ? file : path.join(path.dirname(file), target);
          if (!existsSync(path.join(ROOT, resolved))) problems.push(`${file}:${i + 1}: ${link}: no file ${resolved}`);
          else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor))
            problems.push(`${file}:${i + 1}: ${link}: no heading #${anchor} in ${resolved}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  test('table cells are short: a longer explanation is prose or a list', () => {
    const problems: string[] = [];
    for (const file of LINKED) {
      let fenced = false;
      for (const [i, line] of read(file).split('\n').entries()) {
        if (/^\s*```/.test(line)) fenced = !fenced;
        if (fenced || !line.trimStart().startsWith('|')) continue;
        const longest = Math.max(...line.split(/(?<!\\)\|/).map((cell) => cell.trim().length));
        if (longest > 200) problems.push(`${file}:${i + 1}: a cell of ${longest} characters`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('the README is a front door: short, and it links to every page of docs/', () => {
    const readme = read('README.md');
    assert.ok(readme.split('\n').length <= 200, `README.md has ${readme.split('\n').length} lines`);
    for (const page of PAGES.filter((file) => file.startsWith('docs/') && file !== 'docs/README.md')) {
      assert.ok(readme.includes(`](${page})`) || readme.includes(`](${page}#`), `README.md does not link to ${page}`);
      assert.ok(
        read('docs/README.md').includes(`](${path.basename(page)})`),
        `docs/README.md does not link to ${page}`,
      );
    }
  });
});
