import type { LineCounter, YAMLError } from 'yaml';

/**
 * A YAML syntax error in words a person editing a hub or form file can act on, at the line
 * where the mistake most likely is (the parser often notices it later: an unclosed quote
 * at the end of the file, a bad indent at the next key). The parser's own words follow.
 */
export function explainYamlError(
  error: YAMLError,
  text: string,
  lineCounter: LineCounter,
): { line: number; message: string } {
  const lines = text.split('\n');
  const at = lineCounter.linePos(error.pos[0]).line;
  const parser = error.message.split('\n')[0]!;
  const said = (line: number, words: string) => ({ line, message: `not valid YAML: ${words} (the parser: ${parser})` });
  switch (error.code) {
    case 'TAB_AS_INDENT':
      return said(at, 'a tab in the indentation: YAML indents with spaces only');
    case 'BAD_INDENT':
      return said(
        at,
        `this line's indentation (${indentOf(lines[at - 1])} spaces) does not line up with the lines around it: keys of one mapping, and items of one list, start at the same column`,
      );
    case 'BLOCK_AS_IMPLICIT_KEY':
      return said(
        at,
        'a list item ("- …") where YAML expected a key: put it at the column of the other items of its list, or give its list a key above it',
      );
    case 'MISSING_CHAR':
    case 'BAD_DQ_ESCAPE': {
      const open = unclosedQuoteLine(lines, at);
      if (open !== undefined)
        return said(
          open,
          "a quote opened on this line is never closed: close it, or write a quote inside single quotes as '' and inside double quotes as \\\"",
        );
      return said(at, 'a character is missing here (a closing bracket, brace or quote)');
    }
    case 'MULTILINE_IMPLICIT_KEY':
      return said(
        at,
        'a key runs over more than one line: a line above probably misses its colon (key: value) or a closing quote',
      );
    case 'UNEXPECTED_TOKEN':
      return said(
        at,
        'something YAML does not expect at this point of the line: a value that starts with {, [, @, ` or % needs quotes',
      );
    default:
      return said(at, parser.replace(/ at line \d+, column \d+.*$/, ''));
  }
}

function indentOf(line: string | undefined): number {
  return line === undefined ? 0 : line.length - line.trimStart().length;
}

/** The last line at or before `from` whose quotes do not balance: where an unclosed quote most likely opened. */
function unclosedQuoteLine(lines: readonly string[], from: number): number | undefined {
  for (let line = Math.min(from, lines.length); line >= 1; line--) {
    const text = (lines[line - 1] ?? '').replace(/\\"/g, '').replace(/''/g, '');
    if (text.split('"').length % 2 === 0) return line;
    // A single quote is also an apostrophe in plain text: only a value that starts with one counts.
    const value = text.replace(/^\s*(?:-\s+)?[^"':#]*:\s*/, '');
    if (value.startsWith("'") && value.split("'").length % 2 === 0) return line;
  }
  return undefined;
}
