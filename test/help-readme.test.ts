import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { lynq } from './helpers/cli.ts';
import { markdownSection } from './helpers/markdown.ts';

// `lynq --help` and the README say the same: every command, flag, environment variable and exit code.

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const COMMANDS = markdownSection(README, 'Commands');
/** Variables the bridge sets for git itself, not for users. */
const INTERNAL = new Set(['LYNQ_GIT_USERNAME', 'LYNQ_GIT_PASSWORD']);

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

async function help(...args: string[]): Promise<string> {
  const result = await lynq([...args, '--help']);
  assert.equal(result.code, 0, result.err);
  return result.out;
}

function readmeRow(command: string): string {
  const row = COMMANDS.split('\n').find((line) => line.startsWith(`| \`lynq ${command}`));
  assert.ok(row, `the README's command table has no row for lynq ${command}`);
  return row.split(' | ')[0]!;
}

describe('lynq --help and the README', () => {
  test('name the same commands, and each the same flags', async () => {
    const top = await help();
    const commands = [...top.split('Commands:')[1]!.matchAll(/^ {2}([a-z]+)/gm)].map((match) => match[1]!).filter((name) => name !== 'help');
    const documented = [...COMMANDS.matchAll(/^\| `lynq ([a-z]+)/gm)].map((match) => match[1]!);
    assert.deepEqual(sorted(commands), sorted(documented));
    for (const command of commands) {
      const flags = [...(await help(command)).matchAll(/ (--[a-z-]+)/g)].map((match) => match[1]!).filter((flag) => flag !== '--help');
      assert.deepEqual(sorted(flags), sorted([...readmeRow(command).matchAll(/(--[a-z-]+)/g)].map((match) => match[1]!)), `lynq ${command}`);
    }
  });

  test('name the same environment variables, which are the ones the code reads', async () => {
    const top = await help();
    const inHelp = sorted([...top.matchAll(/\b(LYNQ_[A-Z_]+)\b/g)].map((match) => match[1]!));
    assert.deepEqual(inHelp, sorted([...README.matchAll(/`(LYNQ_[A-Z_]+)`/g)].map((match) => match[1]!)));
    const { readdirSync } = await import('node:fs');
    const read = new Set<string>();
    const walk = (dir: URL): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) walk(new URL(`${entry.name}/`, dir));
        else for (const match of readFileSync(new URL(entry.name, dir), 'utf8').matchAll(/env(?:\?)?\.(LYNQ_[A-Z_]+)/g)) read.add(match[1]!);
      }
    };
    walk(new URL('../src/', import.meta.url));
    assert.deepEqual(inHelp, sorted([...read].filter((name) => !INTERNAL.has(name))));
  });

  test('give the same exit codes', async () => {
    const top = await help();
    const inHelp = [...top.split('Exit codes:')[1]!.matchAll(/^ {2}(\d+) /gm)].map((match) => match[1]!);
    const table = [...COMMANDS.matchAll(/^\| (\d+) \|/gm)].map((match) => match[1]!);
    assert.deepEqual(inHelp, ['0', '1', '2', '3', '70']);
    assert.deepEqual(table, inHelp);
  });
});
