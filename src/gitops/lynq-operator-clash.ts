import { z } from 'zod';

/** On the bridge's LynqNode CRD (output-schema/lynqnode-crd.yaml): whose CRD it is. */
export const CRD_OWNER_ANNOTATION = 'lynq.sh/crd-owner';
export const CRD_OWNER = 'lynq-gitops-bridge';
export const LYNQNODE_CRD_NAME = 'lynqnodes.operator.lynq.sh';

export type CrdVerdict = { ours: true } | { ours: false; message: string };

// What a CustomResourceDefinition from the API server must look like for this check; the
// rest is ignored (zod at the edge: the object comes from a cluster).
const Crd = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.looseObject({
    group: z.string(),
    names: z.looseObject({ kind: z.string() }),
    versions: z
      .array(
        z.looseObject({
          name: z.string(),
          schema: z
            .looseObject({
              openAPIV3Schema: z.looseObject({
                properties: z
                  .looseObject({
                    spec: z.looseObject({ properties: z.record(z.string(), z.unknown()).optional() }).optional(),
                  })
                  .optional(),
              }),
            })
            .optional(),
        }),
      )
      .default([]),
  }),
});

const MIGRATE =
  'See "Coming from Lynq" (docs/coming-from-lynq.md): stop the operator, take its LynqNodes off the resources it created (they keep running), remove its CRDs, then apply output-schema/lynqnode-crd.yaml';

/**
 * Whether the cluster's LynqNode CRD is the bridge's. The bridge's node record keeps Lynq's
 * group and kind (operator.lynq.sh/v1 LynqNode, the output contract), so where the Lynq
 * operator is installed its CRD has the same name with Lynq's spec, and its controller would
 * reconcile the bridge's LynqNodes. Ours carries the `lynq.sh/crd-owner` annotation; one from
 * before the annotation is recognised by its spec (`inputs`, `resources`), Lynq's by its
 * resource lists (`deployments`, `configMaps`…). Pure: the caller fetches the CRD.
 */
export function checkLynqNodeCrd(object: unknown): CrdVerdict {
  const parsed = Crd.safeParse(object);
  if (!parsed.success)
    return {
      ours: false,
      message: `the object is not a CustomResourceDefinition the bridge can read (${parsed.error.issues[0]!.message} at ${parsed.error.issues[0]!.path.join('.')})`,
    };
  const crd = parsed.data;
  if (
    crd.metadata.name !== LYNQNODE_CRD_NAME ||
    crd.spec.group !== 'operator.lynq.sh' ||
    crd.spec.names.kind !== 'LynqNode'
  ) {
    return {
      ours: false,
      message: `CRD ${crd.metadata.name} is not the LynqNode CRD (${LYNQNODE_CRD_NAME}, group operator.lynq.sh, kind LynqNode)`,
    };
  }
  if (crd.metadata.annotations?.[CRD_OWNER_ANNOTATION] === CRD_OWNER) return { ours: true };
  const v1 = crd.spec.versions.find((version) => version.name === 'v1');
  const fields = Object.keys(v1?.schema?.openAPIV3Schema.properties?.spec?.properties ?? {});
  if (fields.includes('inputs') && fields.includes('resources')) return { ours: true };
  const lynq = ['deployments', 'configMaps', 'services', 'manifests'].filter((field) => fields.includes(field));
  const whose =
    lynq.length > 0
      ? `the Lynq operator's (its spec has ${lynq.join(', ')}: the resolved resources Lynq applies itself)`
      : `not the bridge's (no ${CRD_OWNER_ANNOTATION}: ${CRD_OWNER} annotation, and its spec has no inputs and resources)`;
  return {
    ours: false,
    message: `the cluster's LynqNode CRD (${LYNQNODE_CRD_NAME}) is ${whose}. The bridge's LynqNodes have the same group and kind with a different spec, so they cannot live under it, and a running Lynq operator would reconcile them. ${MIGRATE}.`,
  };
}
