// What scope each built-in kind has, read from the schemas the bridge ships with: the API
// paths of @kubernetes/client-node's generated clients (generated from Kubernetes' OpenAPI:
// a namespaced resource has a /namespaces/{namespace}/ path, a cluster-scoped one none) and
// the kind names of kubernetes-models (the same OpenAPI), matched by plural.
// scripts/write-k8s-scopes.ts writes src/config/k8s-scopes.ts from it; test/cluster-scope.test.ts
// checks the file is what this gives today.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

export type Scope = 'Cluster' | 'Namespaced';

/** The plural Kubernetes gives a kind (lowercased): the rules its API uses for the built-in kinds. */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('endpoints')) return lower;
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** group ("" for core) → kind → scope, every kind of every version the client knows. */
export function builtInScopes(): Record<string, Record<string, Scope>> {
  const apis = path.join(path.dirname(require.resolve('@kubernetes/client-node/package.json')), 'dist', 'gen', 'apis');
  const plurals = new Map<string, Map<string, Scope>>();
  for (const file of readdirSync(apis).filter((name) => name.endsWith('Api.js'))) {
    for (const match of readFileSync(path.join(apis, file), 'utf8').matchAll(
      /localVarPath = '\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/([^']*)'/g,
    )) {
      const group = match[1] !== undefined ? '' : match[2]!;
      const version = match[1] ?? match[3]!;
      const rest = match[4]!.split('/');
      const namespaced = rest[0] === 'namespaces' && rest[1] === '{namespace}' && rest[2] !== undefined;
      const plural = namespaced ? rest[2]! : rest[0]!;
      if (plural === '' || plural.includes('{') || plural === 'watch') continue;
      const key = `${group}/${version}`;
      let known = plurals.get(key);
      if (known === undefined) plurals.set(key, (known = new Map()));
      // A namespaced path wins: cluster-wide LIST paths exist for namespaced kinds too (/api/v1/pods).
      if (namespaced || !known.has(plural)) known.set(plural, namespaced ? 'Namespaced' : 'Cluster');
    }
  }
  const models = path.dirname(require.resolve('kubernetes-models/package.json'));
  const scopes: Record<string, Record<string, Scope>> = {};
  for (const [key, byPlural] of plurals) {
    const [group, version] = key.split('/') as [string, string];
    const dir = path.join(models, group === '' ? '' : group, version);
    let kinds: string[];
    try {
      kinds = readdirSync(dir)
        .filter((name) => name.endsWith('.d.ts') && name !== 'index.d.ts')
        .map((name) => name.slice(0, -'.d.ts'.length));
    } catch {
      continue;
    }
    for (const kind of kinds) {
      const scope = byPlural.get(pluralOf(kind));
      if (scope === undefined) continue;
      (scopes[group] ??= {})[kind] = scope;
    }
  }
  const sorted: Record<string, Record<string, Scope>> = {};
  for (const group of Object.keys(scopes).sort())
    sorted[group] = Object.fromEntries(Object.entries(scopes[group]!).sort(([a], [b]) => (a < b ? -1 : 1)));
  return sorted;
}

export function scopesModule(): string {
  return `// Written by scripts/write-k8s-scopes.ts from @kubernetes/client-node's API paths and kubernetes-models' kinds; do not edit.
// test/cluster-scope.test.ts fails when it is not what the installed packages give.

/** Built-in kinds by API group ("" is the core group): Cluster or Namespaced. */
export const BUILT_IN_SCOPES: Readonly<Record<string, Readonly<Record<string, 'Cluster' | 'Namespaced'>>>> = ${JSON.stringify(builtInScopes(), null, 2)};
`;
}
