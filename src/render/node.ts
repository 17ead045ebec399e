import type { FormResource, Hub } from '../config/load.ts';
import { RenderError, type ErrorWhere } from '../errors.ts';
import { validateManifest } from '../config/k8s-schema.ts';
import { isPlainObject } from './canonical-yaml.ts';
import { kindScope } from '../config/kind-scope.ts';
import { labelKeyProblem, labelValueProblem, nameProblem, namespaceProblem } from './k8s-validation.ts';
import { hasSopsBlock, refusePlaintextSecret } from './secrets.ts';
import { keepDataStrings } from './typed-data.ts';
import type { TemplateEngine, TemplateVars } from './template.ts';

export const LABEL_HUB = 'lynq.sh/hub';
export const LABEL_FORM = 'lynq.sh/form';
export const LABEL_UID = 'lynq.sh/uid';
export const LABEL_NODE = 'lynq.sh/node';
export const ANNOTATION_INPUT_HASH = 'lynq.sh/input-hash';
export const ANNOTATION_FORM_HASH = 'lynq.sh/form-hash';
export const ANNOTATION_ROW_HASH = 'lynq.sh/row-hash';
export const ANNOTATION_BRIDGE_VERSION = 'lynq.sh/bridge-version';
export const ANNOTATION_HUB_HASH = 'lynq.sh/hub-hash';

export const KUSTOMIZATION_FILE = 'kustomization.yaml';
export const LYNQNODE_FILE = 'lynqnode.yaml';

export type RenderedResource = {
  id: string;
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
  file: string;
  level: number;
  /** Git blob id of the rendered file, recorded in the LynqNode: a later sync tells a hand edit from its own. */
  blob: string;
  creationPolicy: FormResource['creationPolicy'];
  conflictPolicy: FormResource['conflictPolicy'];
};

/** A file and its git blob id (computed once, so comparing with a tree listing costs nothing more). */
export type NodeFile = { name: string; content: string; blob: string };

export type RenderedNode = {
  hub: string;
  form: string;
  uid: string;
  /** `<root>/<hub>/<form>/<uid>` */
  dir: string;
  /** Every file of the node folder: resources in dependency order, the kustomization (then Flux's per-level kustomizations), the LynqNode last. */
  files: NodeFile[];
  /** `<appsRoot>/<hub>/<form>/<uid>.yaml`: the node's Argo CD Application or Flux Kustomization(s); none for engine `none`. */
  appFile: { path: string; content: string; blob: string } | undefined;
  resources: RenderedResource[];
  inputHash: string;
  /** `sha256:<hex>` of the form and of the hub's output settings, and the bridge version, as recorded in the LynqNode. */
  formHash: string;
  hubHash: string;
  bridgeVersion: string;
  /** Short hash per row variable, recorded in the LynqNode so a later sync can say which columns changed. */
  columnHashes: Record<string, string>;
  /** The cluster its row names (`valueMappings.cluster`), recorded in the LynqNode; undefined for a hub without one. */
  cluster: string | undefined;
};

/** What rendering one resource needs: the hub (its default namespace) and the template engine. */
export type ResourceContext = { hub: Hub; engine: TemplateEngine };

/**
 * Render one resource of a form for one row: its manifest with name, namespace and labels
 * filled in and checked, and its own annotations (the policies' annotations are added by
 * the node, plan/node.ts). Throws a RenderError naming the resource and field.
 */
export function renderResource(
  context: ResourceContext,
  resource: FormResource,
  vars: TemplateVars,
  lynqLabels: Record<string, string>,
  where: ErrorWhere,
): Record<string, unknown> {
  const { engine } = context;
  const manifest = specRenderer(engine, resource.spec)(vars, where);
  if (!isPlainObject(manifest)) throw new RenderError('spec did not render to a mapping', where);
  keepDataStrings(manifest, resource.spec);
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof manifest[field] !== 'string' || manifest[field] === '')
      throw new RenderError(`the manifest has no ${field}`, { ...where, field: `spec.${field}` });
  }
  const kind = manifest.kind as string;
  if (resource.expectedKind !== undefined && kind !== resource.expectedKind) {
    throw new RenderError(
      `is in the ${resource.list} list, so its kind must be ${resource.expectedKind}, not ${kind}`,
      { ...where, field: 'spec.kind' },
    );
  }
  refusePlaintextSecret(manifest, where);

  const metadata = isPlainObject(manifest.metadata) ? { ...manifest.metadata } : {};
  manifest.metadata = metadata;
  if (resource.nameTemplate !== undefined)
    metadata.name = engine.renderPrepared(engine.prepare(resource.nameTemplate), vars, where, 'nameTemplate');
  const name = metadata.name;
  if (typeof name !== 'string' || name === '')
    throw new RenderError('the manifest has no name: set nameTemplate or spec.metadata.name', {
      ...where,
      field: 'nameTemplate',
    });
  const badName = nameProblem(name);
  if (badName !== undefined)
    throw new RenderError(`name ${JSON.stringify(name)} ${badName}`, { ...where, field: 'metadata.name' });

  if (kindScope(manifest.apiVersion as string, kind, context.hub.spec.kindScopes) === 'Cluster') {
    delete metadata.namespace;
  } else {
    const namespace =
      resource.targetNamespace !== undefined
        ? engine.renderPrepared(engine.prepare(resource.targetNamespace), vars, where, 'targetNamespace')
        : typeof metadata.namespace === 'string' && metadata.namespace !== ''
          ? metadata.namespace
          : context.hub.namespace;
    if (typeof namespace !== 'string')
      throw new RenderError('targetNamespace did not render to a string', { ...where, field: 'targetNamespace' });
    const badNamespace = namespaceProblem(namespace);
    if (badNamespace !== undefined)
      throw new RenderError(`namespace ${JSON.stringify(namespace)} ${badNamespace}`, {
        ...where,
        field: 'targetNamespace',
      });
    metadata.namespace = namespace;
  }

  const labels = {
    ...stringMap(metadata.labels),
    ...renderMap(engine, resource.labelsTemplate, vars, where, 'labelsTemplate'),
    ...lynqLabels,
  };
  for (const [key, value] of Object.entries(labels)) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem !== undefined)
      throw new RenderError(`label ${key}=${JSON.stringify(value)} ${problem}`, {
        ...where,
        field: `metadata.labels.${key}`,
      });
  }
  metadata.labels = labels;
  const annotations = {
    ...stringMap(metadata.annotations),
    ...renderMap(engine, resource.annotationsTemplate, vars, where, 'annotationsTemplate'),
  };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  const problem = hasSopsBlock(manifest) ? undefined : validateManifest(manifest);
  if (problem !== undefined)
    throw new RenderError(`${problem.message} (${kind} schema)`, { ...where, field: `spec.${problem.path}` });
  return manifest;
}

/** A spec rendered for one row: a new tree, every string leaf rendered as a template. */
type TreeRenderer = (vars: TemplateVars, where: ErrorWhere) => unknown;

/** Per engine (a hub's run) and form spec: the tree is walked once, not once per node. */
const specRenderers = new WeakMap<TemplateEngine, WeakMap<object, TreeRenderer>>();

function specRenderer(engine: TemplateEngine, spec: Readonly<Record<string, unknown>>): TreeRenderer {
  let byEngine = specRenderers.get(engine);
  if (byEngine === undefined) specRenderers.set(engine, (byEngine = new WeakMap()));
  let renderer = byEngine.get(spec);
  if (renderer === undefined) byEngine.set(spec, (renderer = compileTree(engine, spec, 'spec')));
  return renderer;
}

/**
 * Every string leaf is its own template; map keys are not templated; row data is never
 * re-parsed. Each node gets new maps and lists (later steps fill in its metadata), built
 * in the spec's key order, leaf by leaf in that order, so the first bad leaf is the one
 * reported, with its field path, worked out here once.
 */
function compileTree(engine: TemplateEngine, value: unknown, at: string): TreeRenderer {
  if (typeof value === 'string') {
    const leaf = engine.prepare(value);
    if (leaf.constant) return () => value;
    return (vars, where) => engine.renderPrepared(leaf, vars, where, at);
  }
  if (Array.isArray(value)) {
    const items = value.map((item, index) => compileTree(engine, item, `${at}[${index}]`));
    return (vars, where) => items.map((item) => item(vars, where));
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(
      ([key, item]) => [key, compileTree(engine, item, `${at}.${key}`)] as const,
    );
    return (vars, where) => {
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) out[key] = item(vars, where);
      return out;
    };
  }
  return () => value;
}

function renderMap(
  engine: TemplateEngine,
  templates: Readonly<Record<string, string>>,
  vars: TemplateVars,
  where: ErrorWhere,
  field: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, template] of Object.entries(templates))
    out[key] = String(engine.renderPrepared(engine.prepare(template), vars, where, `${field}.${key}`));
  return out;
}

function stringMap(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) out[key] = String(item);
  return out;
}
