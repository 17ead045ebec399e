/**
 * The one rule for plaintext Secrets, used at load (on a form's static manifest) and at
 * render (on every node). A `v1 Secret` with `data` or `stringData` is refused, unless it
 * is SOPS-encrypted (a `sops` block with a MAC on the document, and every value `ENC[…]`),
 * which Flux decrypts on apply. `ENC[…]` values without the `sops` block are not encrypted,
 * only dressed up, and are refused too. Secrets inside a list kind (`v1 List`,
 * `SecretList`, any `*List`, nested) are found as well: kustomize and kubectl unwrap them
 * into Secrets.
 */

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A manifest SOPS encrypted: its values are ciphertext until Flux decrypts them, so no schema can judge them here. */
export function hasSopsBlock(manifest: Record<string, unknown>): boolean {
  const sops = manifest.sops;
  return isMapping(sops) && typeof sops.mac === 'string';
}

/** The path (in the manifest) of the first plaintext `data` or `stringData`, e.g. `stringData` or `items[0].data`; undefined when none. */
export function plaintextSecretPath(manifest: Record<string, unknown>): string | undefined {
  return findIn(manifest, manifest, '');
}

function findIn(object: Record<string, unknown>, document: Record<string, unknown>, at: string): string | undefined {
  if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
    // Items of a typed list may leave out their kind and apiVersion (a SecretList's items are Secrets).
    const itemKind = object.kind === 'List' ? undefined : object.kind.slice(0, -'List'.length);
    for (const [index, item] of object.items.entries()) {
      if (!isMapping(item)) continue;
      const typed = { ...item, kind: item.kind ?? itemKind, apiVersion: item.apiVersion ?? object.apiVersion };
      const found = findIn(typed, document, `${at}items[${index}].`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (object.kind !== 'Secret' || object.apiVersion !== 'v1') return undefined;
  const fields = (['data', 'stringData'] as const).filter((field) => isMapping(object[field]) && Object.keys(object[field] as object).length > 0);
  if (fields.length === 0 || isSopsEncrypted(object, document, fields)) return undefined;
  return `${at}${fields[0]}`;
}

/** SOPS writes its metadata once, on the document: a Secret inside a list is encrypted with the list. */
function isSopsEncrypted(secret: Record<string, unknown>, document: Record<string, unknown>, fields: ReadonlyArray<'data' | 'stringData'>): boolean {
  if (!hasSopsBlock(document)) return false;
  return fields.every((field) => Object.values(secret[field] as Record<string, unknown>).every((value) => typeof value === 'string' && value.startsWith('ENC[')));
}

export const PLAINTEXT_SECRET_MESSAGE =
  'is a Secret with plaintext data or stringData, which would be committed to Git in the clear; use a SealedSecret (bitnami.com/v1alpha1), ' +
  'an ExternalSecret (external-secrets.io/v1; docs/safety.md shows one) or a SOPS-encrypted Secret under `manifests` instead';
