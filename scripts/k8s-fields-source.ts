// The fields of every built-in kind, read from the schemas the bridge ships with: the models
// @kubernetes/client-node generates from Kubernetes' OpenAPI (each model's attributeTypeMap
// names its JSON fields and their types), for the kinds kubernetes-models has.
// scripts/write-k8s-fields.ts writes src/config/k8s-fields.ts from it; test/unknown-fields.test.ts
// checks the file is what this gives today. Validation itself never loads the client (it is
// large, and `lynq validate` must start fast), so the table is written ahead of time.
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { BUILT_IN_SCOPES } from '../src/config/k8s-scopes.ts';

const require = createRequire(import.meta.url);

type Attribute = { baseName: string; type: string };
type Models = Record<string, { attributeTypeMap?: Attribute[] } | undefined>;

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/** `Array<V1Container>` → `V1Container[]`, a map of models → `V1X{}`, anything else (scalars, free maps) → undefined. */
function typeRef(type: string, models: Models): string | undefined {
  const array = ARRAY.exec(type);
  if (array !== undefined && array !== null) {
    const inner = typeRef(array[1]!, models);
    return inner === undefined || inner.endsWith('[]') || inner.endsWith('{}') ? undefined : `${inner}[]`;
  }
  const map = MAP.exec(type);
  if (map !== null) {
    const inner = typeRef(map[1]!, models);
    return inner === undefined || inner.endsWith('[]') || inner.endsWith('{}') ? undefined : `${inner}{}`;
  }
  return models[type]?.attributeTypeMap !== undefined ? type : undefined;
}

/** The client's model class for a kind: `V1Deployment`, or with its group where names clash (`EventsV1Event`). */
function modelOf(group: string, version: string, kind: string, models: Models): string | undefined {
  const cap = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);
  const prefix = group === '' ? 'Core' : cap(group.split('.')[0]!);
  for (const name of [`${cap(version)}${kind}`, `${prefix}${cap(version)}${kind}`]) {
    const fields = models[name]?.attributeTypeMap?.map((attribute) => attribute.baseName) ?? [];
    if (fields.includes('apiVersion') && fields.includes('kind')) return name;
  }
  return undefined;
}

/** `group/version Kind` → model, and model → its fields (`name` for a leaf, `name:Type`, `name:Type[]`, `name:Type{}`), every model a kind reaches. */
export function builtInFields(): { kinds: Record<string, string>; types: Record<string, string> } {
  const models = require('@kubernetes/client-node') as Models;
  const root = path.dirname(require.resolve('kubernetes-models/package.json'));
  const kinds: Record<string, string> = {};
  const pending: string[] = [];
  for (const [group, byKind] of Object.entries(BUILT_IN_SCOPES)) {
    const dir = group === '' ? root : path.join(root, group);
    const versions = group === '' ? ['v1'] : readdirSync(dir).filter((name) => /^v[0-9]/.test(name));
    for (const version of versions) {
      for (const kind of Object.keys(byKind)) {
        const model = modelOf(group, version, kind, models);
        if (model === undefined) continue;
        kinds[`${group === '' ? '' : `${group}/`}${version} ${kind}`] = model;
        pending.push(model);
      }
    }
  }
  const types: Record<string, string> = {};
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (types[name] !== undefined) continue;
    const fields = (models[name]?.attributeTypeMap ?? []).map((attribute) => {
      const ref = typeRef(attribute.type, models);
      if (ref !== undefined) pending.push(ref.replace(/(\[\]|\{\})$/, ''));
      return ref === undefined ? attribute.baseName : `${attribute.baseName}:${ref}`;
    });
    types[name] = fields.join(' ');
  }
  const sorted = (record: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
  return { kinds: sorted(kinds), types: sorted(types) };
}

export function fieldsModule(): string {
  const { kinds, types } = builtInFields();
  const lines = (record: Record<string, string>): string =>
    Object.entries(record)
      .map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`)
      .join('\n');
  return `// Written by scripts/write-k8s-fields.ts from @kubernetes/client-node's models and kubernetes-models' kinds; do not edit.
// test/unknown-fields.test.ts fails when it is not what the installed packages give.

/** \`group/version Kind\` → the model that describes it. */
export const BUILT_IN_KIND_MODELS: Readonly<Record<string, string>> = {
${lines(kinds)}
};

/** Model → its JSON fields, space-separated: \`name\` (a value), \`name:Model\`, \`name:Model[]\` (a list), \`name:Model{}\` (a map). */
export const BUILT_IN_MODEL_FIELDS: Readonly<Record<string, string>> = {
${lines(types)}
};
`;
}
