import type { Form } from '../config/load.ts';

/** What a masked value is shown as: never its length or any part of it. */
export const MASKED = '••••••';

const TAGS = /\{\{([\s\S]*?)\}\}|\{%([\s\S]*?)%\}/g;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/g;

/**
 * The row variables a page must not show: every variable named in a template of a
 * resource that is a Secret of any kind (the form's `secrets` list, or a manifest whose
 * kind ends in Secret: SealedSecret, ExternalSecret, SopsSecret…), outside its metadata.
 * Such a value is meant
 * for the cluster only (sealed on its way through Git), so it is masked wherever a row is
 * shown. Over-masking is the safe side: any name inside such a template counts.
 */
export function secretVariables(forms: readonly Form[]): Set<string> {
  const names = new Set<string>();
  for (const form of forms) {
    for (const resource of form.resources) {
      if (!isSecretResource(resource.list, resource.spec)) continue;
      // The manifest's body, not its name or labels: those name the object and are in Git for all to see.
      const { metadata: _metadata, ...body } = resource.spec as Record<string, unknown>;
      const text = JSON.stringify(body);
      for (const tag of text.matchAll(TAGS))
        for (const name of (tag[1] ?? tag[2] ?? '').matchAll(NAME)) names.add(name[0]);
    }
  }
  // The uid names the node in every URL and path: it is never a secret.
  names.delete('uid');
  return names;
}

function isSecretResource(list: string, spec: unknown): boolean {
  if (list === 'secrets') return true;
  const kind = typeof spec === 'object' && spec !== null ? (spec as { kind?: unknown }).kind : undefined;
  return typeof kind === 'string' && /secret$/i.test(kind);
}

/** A row's values for a page: the secret ones masked. */
export function maskedValues(
  values: Readonly<Record<string, string>>,
  secret: ReadonlySet<string>,
): Array<{ name: string; value: string; masked: boolean }> {
  return Object.keys(values)
    .sort()
    .map((name) =>
      secret.has(name) ? { name, value: MASKED, masked: true } : { name, value: values[name]!, masked: false },
    );
}
