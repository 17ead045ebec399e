import { createHash } from 'node:crypto';
import { isDnsLabel, MAX_DNS_LABEL } from '../config/dns-label.ts';

const MAX_LABEL = MAX_DNS_LABEL;
/** `-` plus 8 hex characters. */
const SUFFIX_LENGTH = 9;

export { isDnsLabel };

/**
 * Turns any string into a valid RFC 1123 DNS label.
 *
 * A valid label comes back unchanged. Anything else is lower-cased, stripped of accents,
 * has each run of other characters replaced by `-` and is trimmed of `-`; then, because
 * two different inputs could now give the same name (`MyApp` and `myapp`), a suffix of
 * `-` and the first 8 hex characters of the SHA-256 of the original input is appended,
 * within the 63 characters. A name too long is cut from the left, so its end stays
 * (`<hub>-<form>-<uid>` keeps the uid). An input with nothing usable left becomes `x-<hash8>`.
 */
export function toDnsLabel(value: string): string {
  if (isDnsLabel(value)) return value;
  const cleaned = value
    .normalize('NFKD') // splits `é` into `e` + a combining mark, so accents can be dropped
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const hash = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 8);
  // Too long: cut from the left, as cdk8s does, so the end (the uid in `<hub>-<form>-<uid>`) stays readable.
  const base =
    cleaned.length <= MAX_LABEL - SUFFIX_LENGTH
      ? cleaned
      : cleaned.slice(cleaned.length - (MAX_LABEL - SUFFIX_LENGTH)).replace(/^-+/, '');
  return `${base === '' ? 'x' : base}-${hash}`;
}
