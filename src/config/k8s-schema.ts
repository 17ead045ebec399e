import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { closestName } from './did-you-mean.ts';
import { BUNDLED_MODELS } from './k8s-bundled-models.ts';
import { FILTER_FOR_TYPE, TYPED_LEAF } from './typed-leaf.ts';

/**
 * Schema validation of rendered manifests, against the Kubernetes OpenAPI schema for
 * built-in kinds (`kubernetes-models`) and the projects' CRD schemas for Argo CD
 * (`@kubernetes-models/argo-cd`) and Flux (`@kubernetes-models/flux-cd`). The packages
 * ship validators precompiled by ajv, one module per kind, so nothing is compiled at run
 * time; each kind's module is loaded on first use (synchronously, through require, since
 * rendering is synchronous) and kept for the run. Kinds of other API groups (CRDs the
 * bridge has no schema for) are not checked.
 */

const require = createRequire(import.meta.url);

/** Where a field failed: a path into the manifest (`spec.template.spec.containers[0].name`) and why. */
export type SchemaProblem = { path: string; message: string };

type AjvError = { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> };
type ValidateMethod = (this: unknown) => void;
type ModelClass = { apiVersion: string; kind: string; prototype: { validate: ValidateMethod } };

/** The built-in API groups that `kubernetes-models` covers, with "" for the core group. */
const BUILT_IN_GROUPS = new Set([
  '',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'apps',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
]);
const ARGO_CD_KINDS = new Set(['Application', 'ApplicationSet', 'AppProject']);

/** undefined: a kind we have no schema for. */
const validators = new Map<string, ValidateMethod | 'unknown-kind' | undefined>();

/**
 * Check one manifest against its kind's schema. Returns the first problem (the path of
 * the bad field and why), or undefined when it is valid or its kind has no schema here.
 */
export function validateManifest(manifest: Record<string, unknown>): SchemaProblem | undefined {
  const result = schemaErrors(manifest);
  if (result === undefined) return undefined;
  if ('unknownKind' in result) return { path: 'kind', message: result.unknownKind };
  return describe(result.errors);
}

/**
 * Check the parts of a form's manifest that are known before any row is read: every
 * schema problem except those at (or inside) a templated leaf, whose value only a row
 * gives (`replicas: "{{ replicas | int }}"` is a string here and an integer after rendering).
 */
export function staticSchemaProblems(
  manifest: Record<string, unknown>,
  templateAt: (path: readonly string[]) => string | undefined,
): SchemaProblem[] {
  const result = schemaErrors(manifest);
  if (result === undefined) return [];
  if ('unknownKind' in result) return [{ path: 'kind', message: result.unknownKind }];
  // Grouped by field, so an int-or-string that is neither says both reasons at once.
  const byField = new Map<string, AjvError[]>();
  const untyped: SchemaProblem[] = [];
  // A field that is a union (a Quantity is a string or a number) takes a string leaf as it is.
  const unions = new Set(
    result.errors.filter((error) => ['anyOf', 'oneOf'].includes(error.keyword)).map((error) => error.instancePath),
  );
  for (const error of result.errors) {
    const parts = pointerParts(error.instancePath);
    // A union's errors say little on their own; the branches' own errors say what is wrong.
    if (['anyOf', 'oneOf', 'if'].includes(error.keyword)) continue;
    const template = templateAt(parts);
    const filter =
      error.keyword === 'type' && !unions.has(error.instancePath)
        ? FILTER_FOR_TYPE[String(error.params.type)]
        : undefined;
    // A template that renders text where the schema wants a number or a boolean fails on every row.
    if (template !== undefined && filter !== undefined && !TYPED_LEAF.test(template)) {
      untyped.push({
        path: pointerToPath(error.instancePath),
        message: untypedMessage(template, String(error.params.type), filter),
      });
      continue;
    }
    if (parts.some((_, i) => templateAt(parts.slice(0, i + 1)) !== undefined)) continue;
    const key =
      error.keyword === 'required'
        ? `${error.instancePath} required ${String(error.params.missingProperty)}`
        : error.instancePath;
    byField.set(key, [...(byField.get(key) ?? []), error]);
  }
  const problems = new Map<string, SchemaProblem>();
  for (const errors of byField.values()) problems.set(JSON.stringify(describe(errors)), describe(errors));
  return [...problems.values(), ...untyped];
}

function untypedMessage(template: string, type: string, filter: string): string {
  const typed = template.replace(/\s*-?\}\}\s*$/, ` | ${filter} }}`);
  return `must be ${article(type)} ${type}, and the template ${JSON.stringify(template)} gives a string: end it with | ${filter}, as in ${JSON.stringify(typed)} (the typed-value idiom)`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function schemaErrors(manifest: Record<string, unknown>): { errors: AjvError[] } | { unknownKind: string } | undefined {
  const apiVersion = String(manifest.apiVersion);
  const kind = String(manifest.kind);
  const key = `${apiVersion} ${kind}`;
  let validator = validators.get(key);
  if (!validators.has(key)) validators.set(key, (validator = loadValidator(apiVersion, kind)));
  if (validator === undefined) return undefined;
  if (validator === 'unknown-kind')
    return {
      unknownKind: `${kind} is not a kind of ${apiVersion} in the Kubernetes OpenAPI schema${kindHint(apiVersion, kind)}`,
    };
  try {
    validator.call(manifest);
    return undefined;
  } catch (error) {
    const errors = (error as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors) || errors.length === 0) throw error;
    return { errors };
  }
}

/** Is `apiVersion` one of Kubernetes' built-in API groups (where every kind has a schema here)? */
export function isBuiltInApiVersion(apiVersion: string): boolean {
  const slash = apiVersion.indexOf('/');
  return BUILT_IN_GROUPS.has(slash < 0 ? '' : apiVersion.slice(0, slash));
}

/** The apiVersions under which a built-in kind exists (`Deployment` → `apps/v1`), from the models package. */
export function builtInApiVersionsOf(kind: string): string[] {
  return builtInKinds().get(kind) ?? [];
}

/**
 * Is `kind` a built-in kind of exactly this `apiVersion`? One file check, where
 * builtInApiVersionsOf reads the whole models package: the common case (a kind under its
 * right apiVersion) needs no index.
 */
export function isBuiltInKindOf(apiVersion: string, kind: string): boolean {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (
    !BUILT_IN_GROUPS.has(group) ||
    !/^[A-Z][A-Za-z0-9]*$/.test(kind) ||
    kind.endsWith('List') ||
    !/^v[0-9][a-z0-9]*$/.test(version)
  )
    return false;
  const root = path.dirname(require.resolve('kubernetes-models/package.json'));
  if (group === '') return version === 'v1' && existsSync(path.join(root, 'v1', `${kind}.js`));
  return existsSync(path.join(root, group, version, `${kind}.js`));
}

/** Built-in kinds, for "did you mean" hints. */
export function builtInKindNames(): string[] {
  return [...builtInKinds().keys()];
}

let kindIndex: Map<string, string[]> | undefined;

function builtInKinds(): Map<string, string[]> {
  if (kindIndex !== undefined) return kindIndex;
  kindIndex = new Map();
  const root = path.dirname(require.resolve('kubernetes-models/package.json'));
  for (const group of readdirSync(root, { withFileTypes: true })) {
    if (!group.isDirectory() || group.name.startsWith('_') || group.name === 'node_modules') continue;
    const groupName = group.name === 'v1' ? '' : group.name;
    const versions = groupName === '' ? [''] : readdirSync(path.join(root, group.name));
    for (const version of versions) {
      const dir = path.join(root, group.name, version);
      if (!/^v[0-9]/.test(path.basename(dir)) || !BUILT_IN_GROUPS.has(groupName)) continue;
      const apiVersion = groupName === '' ? 'v1' : `${groupName}/${version}`;
      for (const file of readdirSync(dir)) {
        const kind = /^([A-Z][A-Za-z0-9]*)\.js$/.exec(file)?.[1];
        if (kind === undefined || kind.endsWith('List') || !/^[A-Z]/.test(kind)) continue;
        kindIndex.set(kind, [...(kindIndex.get(kind) ?? []), apiVersion]);
      }
    }
  }
  return kindIndex;
}

function kindHint(apiVersion: string, kind: string): string {
  const closest = closestName(kind, builtInKindNames());
  if (closest === undefined) return '';
  const versions = builtInApiVersionsOf(closest);
  return `: did you mean ${closest}${versions.includes(apiVersion) ? '' : ` (${versions.join(', ')})`}?`;
}

function loadValidator(apiVersion: string, kind: string): ValidateMethod | 'unknown-kind' | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  let module: string | undefined;
  if (BUILT_IN_GROUPS.has(group)) module = `kubernetes-models/${apiVersion}/${kind}`;
  else if (group === 'argoproj.io' && ARGO_CD_KINDS.has(kind))
    module = `@kubernetes-models/argo-cd/${apiVersion}/${kind}`;
  else if (group.endsWith('.toolkit.fluxcd.io')) module = `@kubernetes-models/flux-cd/${apiVersion}/${kind}`;
  if (module === undefined) return undefined;
  // The kind and version become part of a module path: accept only what a kind can look like.
  const plausible = /^[A-Z][A-Za-z0-9]*$/.test(kind) && /^v[0-9]+((alpha|beta)[0-9]+)?$/.test(version);
  const model = plausible ? loadModel(module, kind) : undefined;
  if (model !== undefined && model.kind === kind && model.apiVersion === apiVersion) return model.prototype.validate;
  // Unknown Flux kinds may be newer than the package; unknown built-in kinds are typos.
  return BUILT_IN_GROUPS.has(group) ? 'unknown-kind' : undefined;
}

function loadModel(module: string, kind: string): ModelClass | undefined {
  try {
    return ((BUNDLED_MODELS.get(module)?.() ?? require(module)) as Record<string, ModelClass | undefined>)[kind];
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return undefined;
    throw error;
  }
}

/** The first failing field, with every reason ajv gave for that field (an int-or-string fails twice). */
function describe(errors: readonly AjvError[]): SchemaProblem {
  const first = errors[0]!;
  const missing = first.keyword === 'required' ? String(first.params.missingProperty) : undefined;
  const path = pointerToPath(first.instancePath, missing);
  if (missing !== undefined) return { path, message: 'is required' };
  const messages = errors
    .filter((error) => error.instancePath === first.instancePath && !['anyOf', 'oneOf', 'if'].includes(error.keyword))
    .map((error) => error.message ?? error.keyword);
  return { path, message: [...new Set(messages)].join(' or ') };
}

/** `/spec/template/spec/containers/0/name` → `spec.template.spec.containers[0].name`. */
export function pointerToPath(pointer: string, child?: string): string {
  const parts = pointerParts(pointer);
  if (child !== undefined) parts.push(child);
  return parts
    .map((part, i) =>
      /^\d+$/.test(part)
        ? `[${part}]`
        : /^[A-Za-z0-9_-]+$/.test(part)
          ? `${i === 0 ? '' : '.'}${part}`
          : `[${JSON.stringify(part)}]`,
    )
    .join('');
}

function pointerParts(pointer: string): string[] {
  return pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}
