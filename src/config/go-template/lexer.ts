/**
 * The lexer of Lynq's template language (Go text/template): a leaf is split into text and
 * actions (`{{ … }}`, with `{{-`/`-}}` trim markers), and each action into tokens. It only
 * reads; nothing here evaluates anything.
 */

export class GoTemplateError extends Error {}

/** A name called as a function that is neither a documented filter nor a refused one: in a mixed form, often a variable written without its dot. */
export class UnknownGoFunctionError extends GoTemplateError {}

export type Token = TokenBody & {
  /** whitespace before it: `.a .b` are two operands, `.a.b` one chain */ gap: boolean;
};
type TokenBody =
  | { kind: 'field'; name: string } // `.name` (a chain `.a.b` is several field tokens)
  | { kind: 'dot' } // `.` alone
  | { kind: 'variable'; name: string } // `$name`, or `$` (name '')
  | { kind: 'identifier'; name: string } // a function or a keyword
  | { kind: 'string'; value: string }
  | { kind: 'number'; text: string; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'nil' }
  | { kind: 'char' }
  | { kind: 'punct'; value: '(' | ')' | '|' | ',' | ':=' | '=' };

export type Piece =
  | { kind: 'text'; text: string }
  | { kind: 'action'; source: string; tokens: Token[]; trimLeft: boolean; trimRight: boolean; comment: boolean };

const ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/** Text and actions of one leaf, in order; trim markers are kept for the translation. */
export function splitActions(source: string): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open < 0) {
      pieces.push({ kind: 'text', text: source.slice(at) });
      break;
    }
    if (open > at) pieces.push({ kind: 'text', text: source.slice(at, open) });
    const trimLeft = /^\{\{-[ \t\r\n]/.test(source.slice(open, open + 4));
    let body = open + (trimLeft ? 3 : 2);
    if (source.startsWith('/*', skipSpace(source, body))) {
      const end = source.indexOf('*/', body);
      const close = end < 0 ? -1 : source.indexOf('}}', end);
      if (close < 0) throw new GoTemplateError('unclosed comment');
      const trimRight = /[ \t\r\n]-$/.test(source.slice(body, close));
      pieces.push({
        kind: 'action',
        source: source.slice(open, close + 2),
        tokens: [],
        trimLeft,
        trimRight,
        comment: true,
      });
      at = close + 2;
      continue;
    }
    const { tokens, end, trimRight } = tokenize(source, body);
    pieces.push({ kind: 'action', source: source.slice(open, end), tokens, trimLeft, trimRight, comment: false });
    at = end;
    body = end;
  }
  return pieces;
}

function skipSpace(source: string, at: number): number {
  while (at < source.length && ' \t\r\n'.includes(source[at]!)) at++;
  return at;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)/y;

/** Tokens of one action, from just after `{{` to just after `}}`. */
function tokenize(source: string, start: number): { tokens: Token[]; end: number; trimRight: boolean } {
  const tokens: Token[] = [];
  let at = start;
  for (;;) {
    const before = at;
    at = skipSpace(source, at);
    const gap = at > before;
    const push = (token: TokenBody): void => {
      tokens.push({ ...token, gap });
    };
    if (at >= source.length) throw new GoTemplateError('unclosed action (no "}}")');
    const rest = source.slice(at);
    if (rest.startsWith('}}')) return { tokens, end: at + 2, trimRight: false };
    if (rest.startsWith('-}}') && ' \t\r\n'.includes(source[at - 1] ?? ''))
      return { tokens, end: at + 3, trimRight: true };
    const char = source[at]!;
    if (rest.startsWith(':=')) {
      push({ kind: 'punct', value: ':=' });
      at += 2;
    } else if ('()|,='.includes(char)) {
      push({ kind: 'punct', value: char as '(' | ')' | '|' | ',' | '=' });
      at += 1;
    } else if (char === '.' && !/[0-9]/.test(source[at + 1] ?? '')) {
      IDENT.lastIndex = at + 1;
      const name = IDENT.exec(source);
      if (name) {
        push({ kind: 'field', name: name[0] });
        at = IDENT.lastIndex;
      } else {
        push({ kind: 'dot' });
        at += 1;
      }
    } else if (char === '$') {
      IDENT.lastIndex = at + 1;
      const name = IDENT.exec(source);
      push({ kind: 'variable', name: name ? name[0] : '' });
      at = name ? IDENT.lastIndex : at + 1;
    } else if (char === '"') {
      const { value, end } = quoted(source, at);
      push({ kind: 'string', value });
      at = end;
    } else if (char === '`') {
      const end = source.indexOf('`', at + 1);
      if (end < 0) throw new GoTemplateError('unclosed raw string');
      push({ kind: 'string', value: source.slice(at + 1, end) });
      at = end + 1;
    } else if (char === "'") {
      push({ kind: 'char' });
      const end = source.indexOf("'", at + 2);
      at = end < 0 ? source.length : end + 1;
    } else if (/[0-9+\-.]/.test(char)) {
      NUMBER.lastIndex = at;
      const number = NUMBER.exec(source);
      if (!number) throw new GoTemplateError(`unexpected ${JSON.stringify(char)}`);
      const text = number[0].replace(/_/g, '');
      const value = /^[+-]?0[xXbBoO]/.test(text) ? Number(text.replace(/^([+-]?)0[oO]/, '$10o')) : Number(text);
      if (!Number.isFinite(value)) throw new GoTemplateError(`bad number ${number[0]}`);
      push({ kind: 'number', text, value });
      at = NUMBER.lastIndex;
    } else {
      IDENT.lastIndex = at;
      const name = IDENT.exec(source);
      if (!name) throw new GoTemplateError(`unexpected ${JSON.stringify(char)}`);
      const word = name[0];
      if (word === 'true' || word === 'false') push({ kind: 'bool', value: word === 'true' });
      else if (word === 'nil') push({ kind: 'nil' });
      else push({ kind: 'identifier', name: word });
      at = IDENT.lastIndex;
    }
  }
}

/** A Go interpreted string literal ("…" with backslash escapes). */
function quoted(source: string, start: number): { value: string; end: number } {
  let value = '';
  let at = start + 1;
  while (at < source.length) {
    const char = source[at]!;
    if (char === '"') return { value, end: at + 1 };
    if (char === '\n') break;
    if (char !== '\\') {
      value += char;
      at += 1;
      continue;
    }
    const next = source[at + 1] ?? '';
    if (ESCAPES[next] !== undefined) {
      value += ESCAPES[next];
      at += 2;
    } else if (next === 'x' || next === 'u' || next === 'U') {
      const digits = next === 'x' ? 2 : next === 'u' ? 4 : 8;
      const hex = source.slice(at + 2, at + 2 + digits);
      if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw new GoTemplateError('bad escape in string');
      value += String.fromCodePoint(Number.parseInt(hex, 16));
      at += 2 + digits;
    } else {
      throw new GoTemplateError(`bad escape \\${next} in string`);
    }
  }
  throw new GoTemplateError('unclosed string');
}
