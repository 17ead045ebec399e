import { createHash } from 'node:crypto';
import type { Form, Hub } from '../config/load.ts';
import { stableJson } from '../render/hash.ts';
import type { HubRow } from '../sources/rows.ts';

/** Bumped whenever what the digest covers changes, so a digest of another version never matches. */
const VERSION = 'lynq rows digest 1';

/**
 * One hash of everything a hub's node inputs are computed from (prepareHub is a pure function
 * of these): the bridge version, the hub (name, namespace, file, spec), every form (name,
 * file, spec, resources), and
 * every row as read (uid, active, paused, problem, values), in order. Equal digests give
 * equal inputs, so a sync whose digest is the one its hub state keeps needs no node's input
 * hash. `texts`: each row's values as stableJson, for prepareHub to hash when the digest
 * differs, so no row is serialised twice.
 */
export function rowsDigest(
  hub: Hub,
  forms: readonly Form[],
  rows: readonly HubRow[],
  bridgeVersion: string,
): { digest: string; texts: string[] } {
  const hash = createHash('sha256');
  // Every field of the hub and the forms that prepareHub could read (the file names too: they are in its errors).
  hash.update(
    `${VERSION}\n${bridgeVersion}\n${stableJson({ name: hub.name, namespace: hub.namespace, file: hub.file, spec: hub.spec })}\n`,
  );
  for (const form of forms)
    hash.update(`${stableJson({ name: form.name, file: form.file, spec: form.spec, resources: form.resources })}\n`);
  const texts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const text = stableJson(row.values);
    texts[i] = text;
    // JSON for the fields around the values: a uid or problem can hold any character, so no separator is safe alone.
    hash.update(`${JSON.stringify([row.uid, row.active, row.paused === true, row.problem ?? null])}${text}\n`);
  }
  return { digest: hash.digest('hex'), texts };
}
