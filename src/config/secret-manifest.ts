/**
 * The one rule for plaintext Secrets, used at load (on a form's static manifest) and at
 * render (on every node, as rendered). A core-group Secret (`v1`, `core/v1`, however spelled)
 * with `data` or `stringData` is refused, unless it
 * is SOPS-encrypted (a `sops` block with a MAC on the document, and every value in SOPS's
 * `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` form),
 * which Flux decrypts on apply. `ENC[…]` values without the `sops` block are not encrypted,
 * only dressed up, and are refused too. Secrets inside a list kind (`v1 List`,
 * `SecretList`, any `*List`, nested) are found as well: kustomize and kubectl unwrap them
 * into Secrets.
 */

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A value as SOPS writes it: `ENC[AES256_GCM,data:<base64>,iv:<base64>,tag:<base64>,type:<type>]`.
 * What it decrypts to cannot be told without the key; what is not in this form (an
 * `ENC[hunter2]`) is not ciphertext.
 */
const SOPS_VALUE =
  /^ENC\[AES256_GCM,data:[A-Za-z0-9+/]*={0,2},iv:[A-Za-z0-9+/]+={0,2},tag:[A-Za-z0-9+/]+={0,2},type:(?:str|int|float|bool|bytes|comment)\]$/;

export function looksSopsEncrypted(value: unknown): boolean {
  return typeof value === 'string' && SOPS_VALUE.test(value);
}

/** A manifest SOPS encrypted (a `sops` block whose MAC is itself SOPS ciphertext): its values are ciphertext until Flux decrypts them, so no schema can judge them here. */
export function hasSopsBlock(manifest: Record<string, unknown>): boolean {
  const sops = manifest.sops;
  return isMapping(sops) && looksSopsEncrypted(sops.mac);
}

/**
 * The core group, however an apiVersion spells it: `v1`, `core/v1`, any version, any
 * case, with stray spaces (a templated apiVersion is whatever a row made it). Kubernetes
 * tooling reads more than one spelling as the core group; the check must not read fewer.
 */
function isCoreGroup(apiVersion: unknown): boolean {
  if (typeof apiVersion !== 'string') return false;
  const parts = apiVersion.trim().toLowerCase().split('/');
  return parts.length === 1 || (parts.length === 2 && (parts[0]!.trim() === '' || parts[0]!.trim() === 'core'));
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
  if (typeof object.kind !== 'string' || object.kind.trim() !== 'Secret' || !isCoreGroup(object.apiVersion))
    return undefined;
  const fields = (['data', 'stringData'] as const).filter(
    (field) => isMapping(object[field]) && Object.keys(object[field] as object).length > 0,
  );
  if (fields.length === 0 || isSopsEncrypted(object, document, fields)) return undefined;
  return `${at}${fields[0]}`;
}

/** SOPS writes its metadata once, on the document: a Secret inside a list is encrypted with the list. */
function isSopsEncrypted(
  secret: Record<string, unknown>,
  document: Record<string, unknown>,
  fields: ReadonlyArray<'data' | 'stringData'>,
): boolean {
  if (!hasSopsBlock(document)) return false;
  return fields.every((field) => Object.values(secret[field] as Record<string, unknown>).every(looksSopsEncrypted));
}

export const PLAINTEXT_SECRET_MESSAGE =
  'is a Secret with plaintext data or stringData, which would be committed to Git in the clear; use a SealedSecret (bitnami.com/v1alpha1), ' +
  'an ExternalSecret (external-secrets.io/v1; docs/safety.md shows one) or a SOPS-encrypted Secret under `manifests` instead';
