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
  }),
});
export type LynqNodeFile = z.infer<typeof LynqNodeFile>;
