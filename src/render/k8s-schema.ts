import { createRequire } from 'node:module';

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
  const apiVersion = String(manifest.apiVersion);
  const kind = String(manifest.kind);
  const key = `${apiVersion} ${kind}`;
  let validator = validators.get(key);
  if (!validators.has(key)) validators.set(key, (validator = loadValidator(apiVersion, kind)));
  if (validator === undefined) return undefined;
  if (validator === 'unknown-kind') return { path: 'kind', message: `${kind} is not a kind of ${apiVersion} in the Kubernetes OpenAPI schema` };
  try {
    validator.call(manifest);
    return undefined;
  } catch (error) {
    const errors = (error as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors) || errors.length === 0) throw error;
    return describe(errors);
  }
}

function loadValidator(apiVersion: string, kind: string): ValidateMethod | 'unknown-kind' | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  let module: string | undefined;
  if (BUILT_IN_GROUPS.has(group)) module = `kubernetes-models/${apiVersion}/${kind}`;
  else if (group === 'argoproj.io' && ARGO_CD_KINDS.has(kind)) module = `@kubernetes-models/argo-cd/${apiVersion}/${kind}`;
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
    return (require(module) as Record<string, ModelClass | undefined>)[kind];
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
  const parts = pointer === '' ? [] : pointer.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (child !== undefined) parts.push(child);
  return parts
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z0-9_-]+$/.test(part) ? `${i === 0 ? '' : '.'}${part}` : `[${JSON.stringify(part)}]`))
    .join('');
}
