import type { Form, FormResource, Hub } from '../config/load.ts';
import { RenderError, type ErrorWhere } from '../errors.ts';
import { engineFiles, resolveGitops, type EngineFiles, type ResolvedGitops } from '../gitops/engine.ts';
import { policyAnnotations } from '../gitops/policies.ts';
import { validateManifest } from '../gitops/validation.ts';
import type { HubRow } from '../sources/rows.ts';
import { isPlainObject, toCanonicalYaml } from './canonical-yaml.ts';
import { gitBlobId, sha256, stableJson } from './hash.ts';
import { CLUSTER_SCOPED_KINDS, labelKeyProblem, labelValueProblem, nameProblem, namespaceProblem } from './k8s-validation.ts';
import { toDnsLabel } from './names.ts';
import { checkUid, nodeDir } from './paths.ts';
import { ANNOTATION_OUTPUT_HASH, seal, UNSEALED } from './output-seal.ts';
import { hasSopsBlock, refusePlaintextSecret } from './secrets.ts';
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
};

export type RenderContext = {
  hub: Hub;
  form: Form;
  /** `formHash(form)`, computed once per form and run. */
  formHash: string;
  engine: TemplateEngine;
  root: string;
  bridgeVersion: string;
  /** `resolveGitops(hub)`; resolved (and memoised per hub) when not given. */
  gitops?: ResolvedGitops;
};

/** Hash of what a form means (its name and parsed spec, defaults applied), not of its text. */
export function formHash(form: Form): string {
  return sha256(stableJson({ name: form.name, spec: form.spec }));
}

export function columnHashes(values: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) out[name] = sha256(`${name}=${value}`).slice(0, 12);
  return out;
}

/**
 * Render one node: every resource of the form for one row, leaf by leaf. Any problem
 * throws a RenderError naming hub, form, uid and resource; the caller fails this node
 * only and keeps what Git has for it. `known`: the row's input hashes, when the caller
 * has computed them already.
 */
export function renderNode(context: RenderContext, row: HubRow, known?: InputHashes): RenderedNode {
  const { hub, form } = context;
  const gitops = context.gitops ?? resolveGitops(hub);
  const where: ErrorWhere = { hub: hub.name, form: form.name, uid: row.uid };
  checkUid(row.uid, where);
  const dir = nodeDir(context.root, hub.name, form.name, row.uid);
  const vars: TemplateVars = { ...row.values, hubId: hub.name, templateRef: form.name };
  const lynqLabels = {
    [LABEL_HUB]: hub.name,
    [LABEL_FORM]: form.name,
    [LABEL_UID]: row.uid,
    [LABEL_NODE]: toDnsLabel(`${row.uid}-${form.name}`),
  };

  const files: NodeFile[] = [];
  const resources: RenderedResource[] = [];
  for (const resource of form.resources) {
    const manifest = renderResource(context, resource, vars, lynqLabels, { ...where, resource: resource.id });
    const metadata = manifest.metadata as Record<string, unknown>;
    const file = `${resource.id}.yaml`;
    const written = nodeFile(file, toCanonicalYaml(manifest));
    files.push(written);
    resources.push({
      id: resource.id,
      apiVersion: manifest.apiVersion as string,
      kind: manifest.kind as string,
      name: metadata.name as string,
      namespace: metadata.namespace as string | undefined,
      file,
      level: resource.level,
      blob: written.blob,
      creationPolicy: resource.creationPolicy,
      conflictPolicy: resource.conflictPolicy,
    });
  }
  const engine =
    gitops.engine === 'none'
      ? NO_ENGINE
      : engineFiles(gitops, {
          hub: hub.name,
          form: form.name,
          uid: row.uid,
          dir,
          labels: lynqLabels,
          resources: resources.map((rendered, i) => ({ ...rendered, ...pickEnginePolicies(form.resources[i]!) })),
        });

  const { rowHash, inputHash } = known ?? nodeInputHash(context, gitops, row);
  const hashes = columnHashes(row.values);
  const lynqNode = {
    apiVersion: 'operator.lynq.sh/v1',
    kind: 'LynqNode',
    metadata: {
      name: `${row.uid}-${form.name}`,
      namespace: hub.namespace,
      labels: lynqLabels,
      annotations: {
        [ANNOTATION_INPUT_HASH]: `sha256:${inputHash}`,
        [ANNOTATION_OUTPUT_HASH]: UNSEALED,
        [ANNOTATION_ROW_HASH]: `sha256:${rowHash}`,
        [ANNOTATION_FORM_HASH]: `sha256:${context.formHash}`,
        [ANNOTATION_HUB_HASH]: `sha256:${gitops.hash}`,
        [ANNOTATION_BRIDGE_VERSION]: context.bridgeVersion,
      },
    },
    spec: {
      uid: row.uid,
      templateRef: form.name,
      hubId: hub.name,
      inputs: { columns: hashes },
      resources: resources.map((rendered, i) => lynqNodeResource(rendered, form.resources[i]!)),
      gitops: engine.objects.length > 0 ? { engine: gitops.engine, objects: engine.objects } : undefined,
    },
  };
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [...resources.map((resource) => resource.file), LYNQNODE_FILE],
  };
  files.push(nodeFile(KUSTOMIZATION_FILE, toCanonicalYaml(kustomization)));
  for (const file of engine.nodeFiles) files.push(nodeFile(file.name, file.content));
  const appFile = engine.appFile === undefined ? undefined : { ...engine.appFile, blob: gitBlobId(engine.appFile.content) };
  // Sealed over every other file, so it comes last.
  files.push(nodeFile(LYNQNODE_FILE, seal(toCanonicalYaml(lynqNode), { files: files.map((file) => [file.name, file.blob] as const), app: appFile })));
  return {
    hub: hub.name,
    form: form.name,
    uid: row.uid,
    dir,
    files,
    appFile,
    resources,
    inputHash,
    formHash: `sha256:${context.formHash}`,
    hubHash: `sha256:${gitops.hash}`,
    bridgeVersion: context.bridgeVersion,
    columnHashes: hashes,
  };
}

export type InputHashes = { rowHash: string; inputHash: string };

/**
 * What a node is rendered from, as one hash: the row's values, the form, the hub's
 * output settings and the bridge version. Rendering is a pure function of these, which
 * is what lets a sync skip a node whose LynqNode recorded the same hash (output-seal.ts).
 */
export function nodeInputHash(context: Pick<RenderContext, 'formHash' | 'bridgeVersion'>, gitops: Pick<ResolvedGitops, 'hash'>, row: HubRow): InputHashes {
  const rowHash = sha256(stableJson(row.values));
  return { rowHash, inputHash: sha256(`${rowHash}\n${context.formHash}\n${gitops.hash}\n${context.bridgeVersion}`) };
}

function nodeFile(name: string, content: string): NodeFile {
  return { name, content, blob: gitBlobId(content) };
}

const NO_ENGINE: EngineFiles = { appFile: undefined, nodeFiles: [], objects: [] };

function pickEnginePolicies(resource: FormResource): { waitForReady: boolean; timeoutSeconds: number; ignoreFields: readonly string[] } {
  return { waitForReady: resource.waitForReady, timeoutSeconds: resource.timeoutSeconds, ignoreFields: resource.ignoreFields };
}

/**
 * The LynqNode's record of one resource: where it is, the blob the bridge wrote, and the
 * policies health read-back needs. A policy is written only when it is not Lynq's
 * default (absent means the default), which keeps 10,000 LynqNodes small.
 */
function lynqNodeResource(rendered: RenderedResource, resource: FormResource): Record<string, unknown> {
  const policy = <K extends keyof typeof LYNQ_DEFAULTS>(key: K): FormResource[K] | undefined => (resource[key] === LYNQ_DEFAULTS[key] ? undefined : resource[key]);
  return {
    id: rendered.id,
    apiVersion: rendered.apiVersion,
    kind: rendered.kind,
    name: rendered.name,
    namespace: rendered.namespace,
    file: rendered.file,
    level: rendered.level,
    blob: rendered.blob,
    dependIds: resource.dependIds.length > 0 ? resource.dependIds : undefined,
    creationPolicy: policy('creationPolicy'),
    deletionPolicy: policy('deletionPolicy'),
    conflictPolicy: policy('conflictPolicy'),
    patchStrategy: policy('patchStrategy'),
    waitForReady: policy('waitForReady'),
    timeoutSeconds: policy('timeoutSeconds'),
    skipOnDependencyFailure: policy('skipOnDependencyFailure'),
  };
}

/** Lynq's defaults of the per-resource policies (as in form-schema.ts). */
const LYNQ_DEFAULTS = {
  creationPolicy: 'WhenNeeded',
  deletionPolicy: 'Delete',
  conflictPolicy: 'Stuck',
  patchStrategy: 'apply',
  waitForReady: true,
  timeoutSeconds: 300,
  skipOnDependencyFailure: true,
} as const satisfies Partial<Record<keyof FormResource, unknown>>;

function renderResource(
  context: RenderContext,
  resource: FormResource,
  vars: TemplateVars,
  lynqLabels: Record<string, string>,
  where: ErrorWhere,
): Record<string, unknown> {
  const { engine } = context;
  const manifest = renderTree(engine, resource.spec, vars, where, 'spec');
  if (!isPlainObject(manifest)) throw new RenderError('spec did not render to a mapping', where);
  for (const field of ['apiVersion', 'kind'] as const) {
    if (typeof manifest[field] !== 'string' || manifest[field] === '') throw new RenderError(`the manifest has no ${field}`, { ...where, field: `spec.${field}` });
  }
  const kind = manifest.kind as string;
  if (resource.expectedKind !== undefined && kind !== resource.expectedKind) {
    throw new RenderError(`is in the ${resource.list} list, so its kind must be ${resource.expectedKind}, not ${kind}`, { ...where, field: 'spec.kind' });
  }
  refusePlaintextSecret(manifest, where);

  const metadata = isPlainObject(manifest.metadata) ? { ...manifest.metadata } : {};
  manifest.metadata = metadata;
  if (resource.nameTemplate !== undefined) metadata.name = engine.render(resource.nameTemplate, vars, { ...where, field: 'nameTemplate' });
  const name = metadata.name;
  if (typeof name !== 'string' || name === '') throw new RenderError('the manifest has no name: set nameTemplate or spec.metadata.name', { ...where, field: 'nameTemplate' });
  const badName = nameProblem(name);
  if (badName !== undefined) throw new RenderError(`name ${JSON.stringify(name)} ${badName}`, { ...where, field: 'metadata.name' });

  if (CLUSTER_SCOPED_KINDS.has(kind)) {
    delete metadata.namespace;
  } else {
    const namespace =
      resource.targetNamespace !== undefined
        ? engine.render(resource.targetNamespace, vars, { ...where, field: 'targetNamespace' })
        : typeof metadata.namespace === 'string' && metadata.namespace !== ''
          ? metadata.namespace
          : context.hub.namespace;
    if (typeof namespace !== 'string') throw new RenderError('targetNamespace did not render to a string', { ...where, field: 'targetNamespace' });
    const badNamespace = namespaceProblem(namespace);
    if (badNamespace !== undefined) throw new RenderError(`namespace ${JSON.stringify(namespace)} ${badNamespace}`, { ...where, field: 'targetNamespace' });
    metadata.namespace = namespace;
  }

  const labels = { ...stringMap(metadata.labels), ...renderMap(engine, resource.labelsTemplate, vars, where, 'labelsTemplate'), ...lynqLabels };
  for (const [key, value] of Object.entries(labels)) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem !== undefined) throw new RenderError(`label ${key}=${JSON.stringify(value)} ${problem}`, { ...where, field: `metadata.labels.${key}` });
  }
  metadata.labels = labels;
  const own = { ...stringMap(metadata.annotations), ...renderMap(engine, resource.annotationsTemplate, vars, where, 'annotationsTemplate') };
  const annotations = { ...own, ...policyAnnotations(resource, own) };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  const problem = hasSopsBlock(manifest) ? undefined : validateManifest(manifest);
  if (problem !== undefined) throw new RenderError(`${problem.message} (${kind} schema)`, { ...where, field: `spec.${problem.path}` });
  return manifest;
}

/** Every string leaf is its own template; map keys are not templated; row data is never re-parsed. */
function renderTree(engine: TemplateEngine, value: unknown, vars: TemplateVars, where: ErrorWhere, at: string): unknown {
  if (typeof value === 'string') return engine.render(value, vars, { ...where, field: at });
  if (Array.isArray(value)) return value.map((item, index) => renderTree(engine, item, vars, where, `${at}[${index}]`));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderTree(engine, item, vars, where, `${at}.${key}`);
    return out;
  }
  return value;
}

function renderMap(engine: TemplateEngine, templates: Readonly<Record<string, string>>, vars: TemplateVars, where: ErrorWhere, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, template] of Object.entries(templates)) out[key] = String(engine.render(template, vars, { ...where, field: `${field}.${key}` }));
  return out;
}

function stringMap(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) return {};
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) out[key] = String(item);
  return out;
}
