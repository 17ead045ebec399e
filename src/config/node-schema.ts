import { z } from 'zod';

/**
 * The `lynqnode.yaml` the bridge writes into every node folder: Lynq's `uid` and
 * `templateRef`, plus the bridge's record of what the node was rendered from. It is read
 * back on later syncs (to say why a node changed), so it is validated like any input.
 */
export const NodeResourceRef = z.strictObject({
  id: z.string(),
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string().optional(),
  file: z.string(),
  /** DAG level from dependIds (0 = no dependencies). */
  level: z.number().int().min(0),
  /**
   * Git blob id of the file as rendered. A later sync compares it with what Git has: a
   * difference is an edit made in Git by someone else (conflictPolicy decides). Optional,
   * like the policies below, so LynqNodes written before it still read.
   */
  blob: z
    .string()
    .regex(/^[0-9a-f]{40}$/)
    .optional(),
  dependIds: z.array(z.string()).optional(),
  /** The resource's Lynq policies, for health read-back (Degraded after timeoutSeconds, skipped when a dependency failed). */
  creationPolicy: z.enum(['Once', 'WhenNeeded']).optional(),
  deletionPolicy: z.enum(['Delete', 'Retain']).optional(),
  conflictPolicy: z.enum(['Stuck', 'Force']).optional(),
  patchStrategy: z.enum(['apply', 'merge', 'replace']).optional(),
  waitForReady: z.boolean().optional(),
  timeoutSeconds: z.number().int().min(1).optional(),
  skipOnDependencyFailure: z.boolean().optional(),
});

/** An Argo CD Application or Flux Kustomization that applies the node: where health read-back looks. */
export const NodeEngineObject = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  namespace: z.string(),
});

export const LynqNodeFile = z.looseObject({
  apiVersion: z.literal('operator.lynq.sh/v1'),
  kind: z.literal('LynqNode'),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.looseObject({
    uid: z.string(),
    templateRef: z.string(),
    hubId: z.string(),
    inputs: z.looseObject({
      /** Short hash per row variable: tells a later sync which columns changed. */
      columns: z.record(z.string(), z.string()),
    }),
    resources: z.array(NodeResourceRef),
    /** Absent when the hub's engine is `none`. */
    gitops: z
      .strictObject({
        engine: z.enum(['argocd', 'flux']),
        /** The row's cluster (`valueMappings.cluster`); absent for a hub without one. */
        cluster: z.string().optional(),
        objects: z.array(NodeEngineObject),
      })
      .optional(),
  }),
});
export type LynqNodeFile = z.infer<typeof LynqNodeFile>;
