/** The two dialects (as sql.ts's SqlDialect; not imported from there, which imports this file). */
type SqlDialect = 'mysql' | 'postgresql';

/**
 * Whether `sql` holds more than one statement: a `;` outside quotes and comments followed
 * by anything but whitespace, comments and more `;`. Told before anything is sent, so a
 * `SELECT …; INSERT …` never reaches the server. Quotes as each dialect has them: '…' and
 * "…" (with doubled quotes; backslash escapes in MySQL strings and PostgreSQL E'…'),
 * MySQL `…`, PostgreSQL $tag$…$tag$; comments `-- `, `#` (MySQL) and `/* … *\/`. When in
 * doubt (an unclosed quote) it says no: the server, reading in a read-only transaction and
 * refusing several statements itself, is the guard; this is the early, clear message.
 */
export function hasSeveralStatements(sql: string, dialect: SqlDialect): boolean {
  let index = 0;
  let ended = false;
  while (index < sql.length) {
    const char = sql[index]!;
    if (/\s/.test(char)) {
      index++;
      continue;
    }
    const skipped = skipComment(sql, index, dialect);
    if (skipped !== index) {
      index = skipped;
      continue;
    }
    if (char === ';') {
      ended = true;
      index++;
      continue;
    }
    if (ended) return true;
    if (char === "'" || char === '"' || (char === '`' && dialect === 'mysql')) {
      const escapes =
        dialect === 'mysql' ? char !== '`' : (sql[index - 1] === 'E' || sql[index - 1] === 'e') && char === "'";
      index = skipQuoted(sql, index, char, escapes);
      continue;
    }
    if (char === '$' && dialect === 'postgresql') {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(index));
      // $1 (a parameter) and a $ inside a name are not quotes.
      if (tag !== null && !/[A-Za-z0-9_]/.test(sql[index - 1] ?? '')) {
        const close = sql.indexOf(tag[0], index + tag[0].length);
        index = close === -1 ? sql.length : close + tag[0].length;
        continue;
      }
    }
    index++;
  }
  return false;
}

function skipComment(sql: string, index: number, dialect: SqlDialect): number {
  const char = sql[index];
  const next = sql[index + 1];
  // MySQL needs a space (or the end) after `--`; PostgreSQL does not.
  const dashes =
    char === '-' && next === '-' && (dialect === 'postgresql' || index + 2 >= sql.length || /\s/.test(sql[index + 2]!));
  if (dashes || (char === '#' && dialect === 'mysql')) {
    const end = sql.indexOf('\n', index);
    return end === -1 ? sql.length : end + 1;
  }
  if (char === '/' && next === '*') {
    // PostgreSQL comments nest; MySQL's do not.
    let depth = 1;
    let at = index + 2;
    while (at < sql.length && depth > 0) {
      if (sql.startsWith('*/', at)) {
        depth--;
        at += 2;
      } else if (dialect === 'postgresql' && sql.startsWith('/*', at)) {
        depth++;
        at += 2;
      } else at++;
    }
    return at;
  }
  return index;
}

function skipQuoted(sql: string, start: number, quote: string, escapes: boolean): number {
  let at = start + 1;
  while (at < sql.length) {
    const char = sql[at]!;
    if (escapes && char === '\\') {
      at += 2;
      continue;
    }
    if (char === quote) {
      if (sql[at + 1] === quote) {
        at += 2;
        continue;
      }
      return at + 1;
    }
    at++;
  }
  return sql.length;
}
