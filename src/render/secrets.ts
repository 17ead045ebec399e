import { RenderError, type ErrorWhere } from '../errors.ts';
import { isPlainObject } from './canonical-yaml.ts';

/**
 * Plaintext Secret data must not reach Git. A `v1 Secret` with `data` or `stringData` is
 * refused, unless it is SOPS-encrypted (a `sops` block with a MAC on the document, and
 * every value `ENC[…]`), which Flux decrypts on apply. `ENC[…]` values without the `sops`
 * block are not encrypted, only dressed up, and are refused too. Secrets inside a list
 * kind (`v1 List`, `SecretList`, any `*List`, nested) are found as well: kustomize and
 * kubectl unwrap them into Secrets. The message names the alternatives.
 */
export function refusePlaintextSecret(manifest: Record<string, unknown>, where: ErrorWhere): void {
  checkObject(manifest, manifest, 'spec', where);
}

function checkObject(object: Record<string, unknown>, document: Record<string, unknown>, at: string, where: ErrorWhere): void {
  if (typeof object.kind === 'string' && object.kind.endsWith('List') && Array.isArray(object.items)) {
    // Items of a typed list may leave out their kind and apiVersion (a SecretList's items are Secrets).
    const itemKind = object.kind === 'List' ? undefined : object.kind.slice(0, -'List'.length);
    object.items.forEach((item, index) => {
      if (!isPlainObject(item)) return;
      const typed = { ...item, kind: item.kind ?? itemKind, apiVersion: item.apiVersion ?? object.apiVersion };
      checkObject(typed, document, `${at}.items[${index}]`, where);
    });
    return;
  }
  if (object.kind !== 'Secret' || object.apiVersion !== 'v1') return;
  const fields = (['data', 'stringData'] as const).filter((field) => isPlainObject(object[field]) && Object.keys(object[field] as object).length > 0);
  if (fields.length === 0 || isSopsEncrypted(object, document, fields)) return;
  throw new RenderError(
    'is a Secret with plaintext data or stringData, which would be committed to Git in the clear; use a SealedSecret (bitnami.com/v1alpha1), ' +
      'an ExternalSecret (external-secrets.io/v1, see forms/saas-secrets.yaml) or a SOPS-encrypted Secret under `manifests` instead',
    { ...where, field: `${at}.${fields[0]}` },
  );
}

/** A manifest SOPS encrypted: its values are ciphertext until Flux decrypts them, so no schema can judge them here. */
export function hasSopsBlock(manifest: Record<string, unknown>): boolean {
  const sops = manifest.sops;
  return isPlainObject(sops) && typeof sops.mac === 'string';
}

/** SOPS writes its metadata once, on the document: a Secret inside a list is encrypted with the list. */
function isSopsEncrypted(secret: Record<string, unknown>, document: Record<string, unknown>, fields: ReadonlyArray<'data' | 'stringData'>): boolean {
  if (!hasSopsBlock(document)) return false;
  return fields.every((field) => Object.values(secret[field] as Record<string, unknown>).every((value) => typeof value === 'string' && value.startsWith('ENC[')));
}
