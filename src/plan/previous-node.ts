import { parse } from 'yaml';
import { LynqNodeFile } from '../config/node-schema.ts';
import {
  ANNOTATION_BRIDGE_VERSION,
  ANNOTATION_FORM_HASH,
  ANNOTATION_HUB_HASH,
  ANNOTATION_ROW_HASH,
} from '../render/node.ts';

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
  /** Its engine objects' cluster (`valueMappings.cluster`), when it had engine objects; undefined: the hub's destination. */
  engine?: { name: 'argocd' | 'flux'; cluster: string | undefined };
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
    resources: new Map(
      parsed.data.spec.resources.map((resource) => [
        resource.file,
        { blob: resource.blob, creationPolicy: resource.creationPolicy },
      ]),
    ),
    objects: parsed.data.spec.resources.map(({ apiVersion, kind, namespace, name }) => ({
      apiVersion,
      kind,
      namespace,
      name,
    })),
    engine:
      parsed.data.spec.gitops === undefined
        ? undefined
        : { name: parsed.data.spec.gitops.engine, cluster: parsed.data.spec.gitops.cluster },
  };
}

/** What a LynqNode records its node was rendered from: the hashes of its form, hub settings and row, and the bridge's version. */
export type RecordedInputs = { formHash: string; hubHash: string; rowHash: string; version: string };

/**
 * The inputs a sealed LynqNode records, read from its annotation lines without parsing the
 * YAML (a YAML parse costs about a millisecond: 10,000 of them are most of a rollout step).
 * Only for a text whose seal holds (render/output-seal.ts): then it is the canonical YAML
 * the bridge wrote, annotations four spaces under metadata. Undefined when a line is not
 * there as the bridge writes it (a version that needs quotes, an older LynqNode): parse it.
 */
export function readRecordedInputs(sealedText: string): RecordedInputs | undefined {
  const formHash = FORM_HASH_LINE.exec(sealedText)?.[1];
  const hubHash = HUB_HASH_LINE.exec(sealedText)?.[1];
  const rowHash = ROW_HASH_LINE.exec(sealedText)?.[1];
  const versionLine = VERSION_LINE.exec(sealedText);
  const version = versionLine?.[2] ?? versionLine?.[3] ?? versionLine?.[1];
  if (formHash === undefined || hubHash === undefined || rowHash === undefined || version === undefined)
    return undefined;
  return { formHash, hubHash, rowHash, version };
}

const annotationLine = (annotation: string, value: string) =>
  new RegExp(`\n {4}${annotation.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: (${value})\n`);
const FORM_HASH_LINE = annotationLine(ANNOTATION_FORM_HASH, 'sha256:[0-9a-f]{64}');
const HUB_HASH_LINE = annotationLine(ANNOTATION_HUB_HASH, 'sha256:[0-9a-f]{64}');
const ROW_HASH_LINE = annotationLine(ANNOTATION_ROW_HASH, 'sha256:[0-9a-f]{64}');
// Plain, or quoted as the writer quotes what YAML could read as another type ("0.4.0"), in
// characters that need no escape; anything else is left to the parser.
const VERSION_LINE = annotationLine(
  ANNOTATION_BRIDGE_VERSION,
  `[0-9A-Za-z][0-9A-Za-z.+_-]*|"([0-9A-Za-z.+_-]+)"|'([0-9A-Za-z.+_-]+)'`,
);
