import { RenderError, type ErrorWhere } from '../errors.ts';
import { isPlainObject } from './canonical-yaml.ts';

/**
 * Plaintext Secret data must not reach Git. A `v1 Secret` with `data` or `stringData` is
 * refused, unless it is SOPS-encrypted (a `sops` block with a MAC, and every value
 * `ENC[…]`), which Flux decrypts on apply. The message names the alternatives.
 */
export function refusePlaintextSecret(manifest: Record<string, unknown>, where: ErrorWhere): void {
  if (manifest.kind !== 'Secret' || manifest.apiVersion !== 'v1') return;
  const fields = (['data', 'stringData'] as const).filter((field) => isPlainObject(manifest[field]) && Object.keys(manifest[field] as object).length > 0);
  if (fields.length === 0 || isSopsEncrypted(manifest, fields)) return;
  throw new RenderError(
    'is a Secret with plaintext data or stringData, which would be committed to Git in the clear; use a SealedSecret (bitnami.com/v1alpha1), ' +
      'an ExternalSecret (external-secrets.io/v1, see forms/saas-secrets.yaml) or a SOPS-encrypted Secret under `manifests` instead',
    { ...where, field: `spec.${fields[0]}` },
  );
}

/** A manifest SOPS encrypted: its values are ciphertext until Flux decrypts them, so no schema can judge them here. */
export function hasSopsBlock(manifest: Record<string, unknown>): boolean {
  const sops = manifest.sops;
  return isPlainObject(sops) && typeof sops.mac === 'string';
}

function isSopsEncrypted(manifest: Record<string, unknown>, fields: ReadonlyArray<'data' | 'stringData'>): boolean {
  if (!hasSopsBlock(manifest)) return false;
  return fields.every((field) => Object.values(manifest[field] as Record<string, unknown>).every((value) => typeof value === 'string' && value.startsWith('ENC[')));
}
