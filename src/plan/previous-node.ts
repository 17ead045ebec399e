import { parse } from 'yaml';
import { LynqNodeFile } from '../config/node-schema.ts';
import { ANNOTATION_BRIDGE_VERSION, ANNOTATION_FORM_HASH, ANNOTATION_HUB_HASH } from '../render/node.ts';

/** What a node's previous LynqNode recorded: what it was rendered from, and each resource file's blob. */
export type PreviousNode = {
  formHash: string | undefined;
  hubHash: string | undefined;
  version: string | undefined;
  columns: Record<string, string>;
  /** By file name: the blob id the bridge wrote, and the creation policy it had then. */
  resources: Map<string, { blob: string | undefined; creationPolicy: string | undefined }>;
  /** The objects the node rendered, as Kubernetes names them. */
  objects: Array<{ apiVersion: string; kind: string; namespace: string | undefined; name: string }>;
};

/** Undefined when the file is not YAML or not a LynqNode of ours (edited by hand): nothing is known then. */
export function readPreviousNode(text: string): PreviousNode | undefined {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return undefined;
  }
  const parsed = LynqNodeFile.safeParse(raw);
  if (!parsed.success) return undefined;
  const annotations = parsed.data.metadata.annotations ?? {};
  return {
    formHash: annotations[ANNOTATION_FORM_HASH],
    hubHash: annotations[ANNOTATION_HUB_HASH],
    version: annotations[ANNOTATION_BRIDGE_VERSION],
    columns: parsed.data.spec.inputs.columns,
    resources: new Map(parsed.data.spec.resources.map((resource) => [resource.file, { blob: resource.blob, creationPolicy: resource.creationPolicy }])),
    objects: parsed.data.spec.resources.map(({ apiVersion, kind, namespace, name }) => ({ apiVersion, kind, namespace, name })),
  };
}
