import type { Form, FormResource, Hub } from '../config/load.ts';
import { LYNQ_POLICY_DEFAULTS } from '../config/policy-defaults.ts';
import type { ErrorWhere } from '../errors.ts';
import { nodeCluster } from '../gitops/clusters.ts';
import { engineFiles, resolveGitops } from '../gitops/engine.ts';
import { policyAnnotations } from '../gitops/policies.ts';
import type { EngineFiles, ResolvedGitops } from '../gitops/types.ts';
import { isPlainObject, toCanonicalYaml } from '../render/canonical-yaml.ts';
import { gitBlobId, sha256, stableJson } from '../render/hash.ts';
import { toDnsLabel } from '../render/names.ts';
import {
  ANNOTATION_BRIDGE_VERSION,
  ANNOTATION_FORM_HASH,
  ANNOTATION_HUB_HASH,
  ANNOTATION_INPUT_HASH,
  ANNOTATION_ROW_HASH,
  KUSTOMIZATION_FILE,
  LABEL_FORM,
  LABEL_HUB,
  LABEL_NODE,
  LABEL_UID,
  LYNQNODE_FILE,
  renderResource,
  type NodeFile,
  type RenderedNode,
  type RenderedResource,
} from '../render/node.ts';
import { ANNOTATION_OUTPUT_HASH, seal, UNSEALED } from '../render/output-seal.ts';
import { checkUid, nodeDir } from '../render/paths.ts';
import type { TemplateEngine, TemplateVars } from '../render/template.ts';
import type { HubRow } from '../sources/rows.ts';

/*
 * One node, assembled: the form's resources rendered for one row (render/node.ts), the
 * policies' annotations, the kustomization, the engine's objects (gitops/) and the
 * LynqNode that records and seals it all.
 */

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

/**
 * Hash of what a form means (its name and parsed spec, defaults applied), not of its text.
 * `spec.rollout` and `spec.rows` are left out: the pace of a rollout and which rows get a
 * node render nothing in a node, so changing them must not rewrite every node (a form
 * without them hashes as before). A resource's `when` is in: it changes what a node has.
 */
export function formHash(form: Form): string {
  const { rollout: _pace, rows: _selection, ...spec } = form.spec;
  return sha256(stableJson({ name: form.name, spec }));
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

  // Checked first: a row naming no known cluster fails before anything is rendered.
  const cluster = gitops.engine === 'none' ? undefined : nodeCluster(gitops, row.values.cluster, where);
  const files: NodeFile[] = [];
  const resources: RenderedResource[] = [];
  // The form's resources this row gets (a resource's `when`), in the order of `resources`.
  const included = form.resources.filter(
    (resource) =>
      resource.when === undefined ||
      context.engine.selects(resource.when, vars, { ...where, resource: resource.id }, 'when'),
  );
  for (const resource of included) {
    const manifest = renderResource(context, resource, vars, lynqLabels, { ...where, resource: resource.id });
    const metadata = manifest.metadata as Record<string, unknown>;
    addPolicyAnnotations(metadata, resource);
    const file = fileOf(resource);
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
          formHash: context.formHash,
          labels: lynqLabels,
          resources: resources.map((rendered, i) => ({ ...rendered, ...pickEnginePolicies(included[i]!) })),
          cluster,
        });

  const { rowHash, inputHash } = known ?? nodeInputHash(context, gitops, row);
  const hashes = columnHashes(row.values);
  const lynqNode = {
    apiVersion: 'operator.lynq.sh/v1',
    kind: 'LynqNode',
    metadata: {
      name: lynqNodeName(row.uid, form.name),
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
      resources: resources.map((rendered, i) => lynqNodeResource(rendered, included[i]!)),
      gitops:
        engine.objects.length > 0
          ? { engine: gitops.engine, cluster: cluster?.name, objects: engine.objects }
          : undefined,
    },
  };
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [...resources.map((resource) => resource.file), LYNQNODE_FILE],
  };
  files.push(nodeFile(KUSTOMIZATION_FILE, toCanonicalYaml(kustomization)));
  for (const file of engine.nodeFiles) files.push(nodeFile(file.name, file.content));
  const appFile =
    engine.appFile === undefined ? undefined : { ...engine.appFile, blob: gitBlobId(engine.appFile.content) };
  // Sealed over every other file, so it comes last.
  files.push(
    nodeFile(
      LYNQNODE_FILE,
      seal(toCanonicalYaml(lynqNode), { files: files.map((file) => [file.name, file.blob] as const), app: appFile }),
    ),
  );
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
    cluster: cluster?.name,
  };
}

export type InputHashes = { rowHash: string; inputHash: string };

/** The hash of a row's values, the part of a node's input hash that is the row's. */
export function rowHashOf(row: HubRow): string {
  return sha256(stableJson(row.values));
}

/**
 * What a node is rendered from, as one hash: the row's values, the form, the hub's
 * output settings and the bridge version. Rendering is a pure function of these, which
 * is what lets a sync skip a node whose LynqNode recorded the same hash (output-seal.ts).
 */
export function nodeInputHash(
  context: Pick<RenderContext, 'formHash' | 'bridgeVersion'>,
  gitops: Pick<ResolvedGitops, 'hash'>,
  row: HubRow,
  rowHash = rowHashOf(row),
): InputHashes {
  return { rowHash, inputHash: sha256(`${rowHash}\n${context.formHash}\n${gitops.hash}\n${context.bridgeVersion}`) };
}

/** A resource's file name, one string per form resource: every node keeps it (its files and resources), 100,000 nodes five each. */
const fileNames = new WeakMap<FormResource, string>();
function fileOf(resource: FormResource): string {
  let name = fileNames.get(resource);
  if (name === undefined) fileNames.set(resource, (name = `${resource.id}.yaml`));
  return name;
}

function nodeFile(name: string, content: string): NodeFile {
  return { name, content, blob: gitBlobId(content) };
}

const NO_ENGINE: EngineFiles = { appFile: undefined, nodeFiles: [], objects: [] };

function pickEnginePolicies(resource: FormResource): {
  waitForReady: boolean;
  timeoutSeconds: number;
  ignoreFields: readonly string[];
} {
  return {
    waitForReady: resource.waitForReady,
    timeoutSeconds: resource.timeoutSeconds,
    ignoreFields: resource.ignoreFields,
  };
}

/**
 * The LynqNode's record of one resource: where it is, the blob the bridge wrote, and the
 * policies health read-back needs. A policy is written only when it is not Lynq's
 * default (absent means the default), which keeps 10,000 LynqNodes small.
 */
function lynqNodeResource(rendered: RenderedResource, resource: FormResource): Record<string, unknown> {
  const policy = <K extends keyof typeof LYNQ_POLICY_DEFAULTS>(key: K): FormResource[K] | undefined =>
    resource[key] === LYNQ_POLICY_DEFAULTS[key] ? undefined : resource[key];
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

/** The annotations that carry the resource's Lynq policies to Argo CD and Flux, after its own. */
function addPolicyAnnotations(metadata: Record<string, unknown>, resource: FormResource): void {
  const own: Record<string, string> = {};
  if (isPlainObject(metadata.annotations))
    for (const [key, value] of Object.entries(metadata.annotations)) own[key] = String(value);
  const policies = policyAnnotations(resource, own);
  if (Object.keys(policies).length > 0) metadata.annotations = { ...own, ...policies };
}

/** The LynqNode's name, as Lynq names it: `<uid>-<form>` (in the hub's namespace). */
export function lynqNodeName(uid: string, form: string): string {
  return `${uid}-${form}`;
}
