import assert from 'node:assert/strict';

/** A fenced code block of a Markdown file, with the `<!-- NAME: … -->` marker just above it. */
export type MarkedBlock = { marker: string; lang: string; code: string; line: number };

/** The text of one `## ` section (heading included), up to the next `## `. */
export function markdownSection(doc: string, heading: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.notEqual(start, -1, `no section "## ${heading}"`);
  const next = doc.indexOf('\n## ', start + 1);
  return doc.slice(start + 1, next === -1 ? undefined : next + 1);
}

/**
 * Every fenced block of `text`, de-indented (blocks inside list items are indented), with
 * the `<!-- NAME: … -->` marker that precedes it ('' when none does).
 */
export function fencedBlocks(text: string, name: string): MarkedBlock[] {
  const lines = text.split('\n');
  const blocks: MarkedBlock[] = [];
  let marker = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const comment = new RegExp(`^\\s*<!-- ${name}: (.*?) -->\\s*$`).exec(line);
    if (comment) {
      marker = comment[1]!;
      continue;
    }
    const fence = /^(\s*)```(\w*)\s*$/.exec(line);
    if (!fence) {
      if (line.trim() !== '') marker = '';
      continue;
    }
    const indent = fence[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++)
      body.push(lines[j]!.slice(Math.min(indent, lines[j]!.length - lines[j]!.trimStart().length)));
    assert.ok(j < lines.length, `unclosed code block at line ${i + 1}`);
    blocks.push({ marker, lang: fence[2]!, code: `${body.join('\n')}\n`, line: i + 1 });
    marker = '';
    i = j;
  }
  return blocks;
}

/** `key=value` words of a marker (`sh db=mysql` → { sh: '', db: 'mysql' }). */
export function markerFields(marker: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of marker.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    if (eq < 0) out[word] = '';
    else out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}
