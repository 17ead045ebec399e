import { appendFileSync } from 'node:fs';

let file;
let match;
export function initialize(data) {
  file = data.file;
  match = new RegExp(data.match ?? '^@kubernetes/client-node');
}

export async function resolve(specifier, context, next) {
  if (file && match.test(specifier)) appendFileSync(file, `${specifier}\n`);
  return next(specifier, context);
}
