import { isPlainObject } from './plain-object.ts';
import { kindScope } from './kind-scope.ts';
import type { Form, Hub } from './load.ts';
import { cameInGoSyntax, leaves } from './lynq-syntax.ts';

const STRICT: Record<string, string> = {
  int: '0; and it cuts 2.8 to 2, which fails here',
  float: '0.0',
  bool: 'false; and it reads y/n and any non-zero number, which fail here (true/false, yes/no, 1/0 work)',
};

/**
 * For a form that came in Lynq's Go-template syntax: each Lynq behaviour it may rely on
 * that is different here. Not errors; `lynq validate` prints them as notes.
 */
export function lynqDifferences(hub: Hub, form: Form): string[] {
  return cameInGoSyntax(form.spec) ? formDifferences(hub.namespace, form) : [];
}

/** The notes for a form read as Lynq's, whatever its syntax now (`lynq import` writes the translation). */
export function formDifferences(hubNamespace: string | undefined, form: Form): string[] {
  const notes: string[] = [];
  const at = `form ${form.name}`;
  const labelled = form.resources
    .filter((resource) => Object.keys(resource.labelsTemplate).length > 0)
    .map((resource) => resource.id);
  notes.push(
    `${at}: labels are merged: labelsTemplate${labelled.length > 0 ? ` (${labelled.join(', ')})` : ''} goes over the manifest's own metadata.labels, and every resource also gets lynq.sh/hub, lynq.sh/form, lynq.sh/uid and lynq.sh/node`,
  );
  for (const resource of form.resources) {
    const kind = typeof resource.spec.kind === 'string' ? resource.spec.kind : undefined;
    const apiVersion = typeof resource.spec.apiVersion === 'string' ? resource.spec.apiVersion : '';
    if (resource.targetNamespace !== undefined || (kind !== undefined && kindScope(apiVersion, kind) === 'Cluster'))
      continue;
    const metadata = isPlainObject(resource.spec.metadata) ? resource.spec.metadata : {};
    const own = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
    notes.push(
      `${at}, resource ${resource.id}: no targetNamespace: Lynq puts it in the LynqNode's namespace; here it goes to ${own !== undefined ? `its own metadata.namespace (${own})` : `the hub's metadata.namespace (${hubNamespace ?? 'its hub not given; "default" when the hub has none'})`}`,
    );
  }
  for (const resource of form.resources) {
    for (const [field, template] of leaves(resource)) {
      const typed = /\|\s*(int|float|bool)\b/.exec(template);
      if (typed) {
        notes.push(
          `${at}, resource ${resource.id}, field ${field}: ${typed[1]} is strict here: a value that does not convert fails the node (Lynq writes ${STRICT[typed[1]!]} instead)`,
        );
      }
      if (/\|\s*trunc63\b/.test(template)) {
        notes.push(
          `${at}, resource ${resource.id}, field ${field}: trunc63 also trims trailing "-" and "." after cutting at 63 characters (Lynq only cuts), so the name stays valid`,
        );
      }
    }
  }
  return notes;
}
