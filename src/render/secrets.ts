import { hasSopsBlock, plaintextSecretPath, PLAINTEXT_SECRET_MESSAGE } from '../config/secret-manifest.ts';
import { RenderError, type ErrorWhere } from '../errors.ts';

export { hasSopsBlock };

/**
 * Plaintext Secret data must not reach Git (the rule: config/secret-manifest.ts). A form
 * whose Secret is plaintext as written fails at load; this catches what a row makes
 * plaintext. The message names the alternatives.
 */
export function refusePlaintextSecret(manifest: Record<string, unknown>, where: ErrorWhere): void {
  const path = plaintextSecretPath(manifest);
  if (path !== undefined) throw new RenderError(PLAINTEXT_SECRET_MESSAGE, { ...where, field: `spec.${path}` });
}
