import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { fencedBlocks, markdownSection } from './helpers/markdown.ts';

// `lynq --help` and docs/cli.md say the same: every command, flag, environment variable and exit code.

const DOC = readFileSync(new URL('../docs/cli.md', import.meta.url), 'utf8');
/** Each command's synopsis: the `<!-- synopsis: COMMAND -->` blocks of docs/cli.md. */
const SYNOPSES = fencedBlocks(DOC, 'synopsis').filter((block) => block.marker !== '');
/** Variables the bridge sets for git itself, not for users. */
const INTERNAL = new Set(['LYNQ_GIT_USERNAME', 'LYNQ_GIT_PASSWORD']);

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

async function help(...args: string[]): Promise<string> {
  const result = await lynq([...args, '--help']);
  assert.equal(result.code, 0, result.err);
  return result.out;
}

function synopsis(command: string): string {
  const blocks = SYNOPSES.filter((block) => block.marker === command);
  assert.ok(blocks.length > 0, `docs/cli.md has no synopsis of lynq ${command}`);
  for (const block of blocks)
    for (const line of block.code.trim().split('\n'))
      if (line.startsWith('lynq'))
        assert.ok(line.startsWith(`lynq ${command}`), `docs/cli.md, synopsis of ${command}: ${line}`);
  return blocks.map((block) => block.code).join('\n');
}

describe('lynq --help and docs/cli.md', () => {
  test('name the same commands, and each the same flags', async () => {
    const top = await help();
    const commands = [...top.split('Commands:')[1]!.matchAll(/^ {2}([a-z]+)/gm)]
      .map((match) => match[1]!)
      .filter((name) => name !== 'help');
    assert.deepEqual(sorted(commands), sorted(SYNOPSES.map((block) => block.marker)));
    const table = [...DOC.slice(0, DOC.indexOf('\n## ')).matchAll(/^\| \[`lynq ([a-z]+)`\]\(#lynq-([a-z]+)\)/gm)];
    assert.deepEqual(
      sorted(table.map((match) => match[1]!)),
      sorted(commands),
      'the table at the top names every command',
    );
    for (const match of table) assert.equal(match[2], match[1], `the table's link for ${match[1]}`);
    for (const command of commands) {
      const flags = [...(await help(command)).matchAll(/ (--[a-z-]+)/g)]
        .map((match) => match[1]!)
        .filter((flag) => flag !== '--help');
      assert.deepEqual(
        sorted(flags),
        sorted([...synopsis(command).matchAll(/(--[a-z-]+)/g)].map((match) => match[1]!)),
        `lynq ${command}`,
      );
    }
  });

  test('name the same environment variables, which are the ones the code reads', async () => {
    const top = await help();
    const inHelp = sorted([...top.matchAll(/\b(LYNQ_[A-Z_]+)\b/g)].map((match) => match[1]!));
    assert.deepEqual(
      inHelp,
      sorted([...markdownSection(DOC, 'Environment').matchAll(/^\| `(LYNQ_[A-Z_]+)`/gm)].map((match) => match[1]!)),
    );
    assert.deepEqual(
      sorted([...DOC.matchAll(/`(LYNQ_[A-Z_]+)`/g)].map((match) => match[1]!)),
      inHelp,
      'docs/cli.md names no other variable',
    );
    const { readdirSync } = await import('node:fs');
    const read = new Set<string>();
    const walk = (dir: URL): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(new URL(`${entry.name}/`, dir));
        else
          for (const match of readFileSync(new URL(entry.name, dir), 'utf8').matchAll(/env(?:\?)?\.(LYNQ_[A-Z_]+)/g))
            read.add(match[1]!);
      }
    };
    walk(new URL('../src/', import.meta.url));
    assert.deepEqual(inHelp, sorted([...read].filter((name) => !INTERNAL.has(name))));
  });

  test('give the same exit codes', async () => {
    const top = await help();
    const inHelp = [...top.split('Exit codes:')[1]!.matchAll(/^ {2}(\d+) /gm)].map((match) => match[1]!);
    const table = [...markdownSection(DOC, 'Exit codes').matchAll(/^\| (\d+) \|/gm)].map((match) => match[1]!);
    assert.deepEqual(inHelp, ['0', '1', '2', '3', '70']);
    assert.deepEqual(table, inHelp);
  });
});
