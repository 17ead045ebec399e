/** Text for HTML element content: `&`, `<` and `>` escaped (inside `<pre>`, quotes need no escaping). */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const KEY = /^(\s*(?:-\s+)*)("[^"]*"|'[^']*'|[^\s"'#-][^:]*?|-[^\s:][^:]*?)(:)(?=\s|$)/;
const SCALAR = /^(?:true|false|null|~|[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)$/;

/**
 * YAML as HTML, highlighted by line: the text is escaped first, and only then are keys,
 * scalars and comments wrapped in spans of fixed classes, so nothing in the file (a row
 * value, a form's text) can become markup. A highlighter for reading canonical YAML (what
 * the bridge writes), not a parser: anything it does not recognise stays plain text.
 */
export function highlightYaml(text: string): string {
  return text
    .split('\n')
    .map((line) => highlightLine(escapeText(line)))
    .join('\n');
}

function highlightLine(line: string): string {
  const hash = commentStart(line);
  const code = hash === undefined ? line : line.slice(0, hash);
  const comment = hash === undefined ? '' : span('c', line.slice(hash));
  if (/^---\s*$|^\.\.\.\s*$/.test(code)) return span('p', code) + comment;
  const key = KEY.exec(code);
  if (key === null) {
    const item = /^(\s*-\s+)(.*)$/.exec(code);
    return item === null ? value(code) + comment : span('p', item[1]!) + value(item[2]!) + comment;
  }
  const [whole, lead = '', name = '', colon = ''] = key;
  const dashes = lead.replace(/-/g, span('p', '-'));
  return `${dashes}${span('k', name)}${colon}${value(code.slice(whole.length))}${comment}`;
}

function value(text: string): string {
  const lead = /^\s*/.exec(text)![0];
  const body = text.slice(lead.length);
  if (body === '') return text;
  const trailing = /\s*$/.exec(body)![0];
  const core = body.slice(0, body.length - trailing.length);
  if (SCALAR.test(core)) return lead + span('n', core) + trailing;
  if (/^[|>][-+0-9]*$/.test(core)) return lead + span('p', core) + trailing;
  return lead + span('s', core) + trailing;
}

/** Where a comment starts: a `#` at the line's start or after a space, outside quotes. */
function commentStart(line: string): number | undefined {
  let quote: string | undefined;
  for (let at = 0; at < line.length; at++) {
    const char = line[at]!;
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'") quote = char;
    else if (char === '#' && (at === 0 || /\s/.test(line[at - 1]!))) return at;
  }
  return undefined;
}

function span(kind: string, text: string): string {
  return `<span class="y${kind}">${text}</span>`;
}
