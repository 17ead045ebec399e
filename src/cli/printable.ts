/**
 * Text from rows (a uid, a value in an error) printed where one line must stay one line
 * and read as what it is: control characters, Unicode line and paragraph separators,
 * bidirectional controls, and every character that shows as nothing or as a plain space
 * (format characters such as the zero-width space and joiners, the BOM, the soft hyphen,
 * tag characters; spaces other than the ASCII one; fillers and invisible letters) are
 * shown escaped, so a row cannot split, rewrite, reorder or disguise (`ac\u200bme` is
 * not `acme`) the summary a person reads.
 */
// Combining marks (the grapheme joiner, Khmer's invisible vowels, variation selectors) are alternatives of their own (a class may not mix them with letters).
const UNPRINTABLE =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u115f\u1160\u3164\uffa0]|\u034f|\u17b4|\u17b5|\u180b|\u180c|\u180d|\u180e|\u180f|\ufe00|\ufe01|\ufe02|\ufe03|\ufe04|\ufe05|\ufe06|\ufe07|\ufe08|\ufe09|\ufe0a|\ufe0b|\ufe0c|\ufe0d|\ufe0e|\ufe0f/gu;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const named = NAMED[char];
    if (named !== undefined) return named;
    const code = char.codePointAt(0)!;
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
    return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
