/**
 * Lynq's defaults of the per-resource policies, written once: the form schema fills them
 * in, the LynqNode leaves a policy out when it is the default, and `lynq validate`'s notes
 * compare against them.
 */
export const LYNQ_POLICY_DEFAULTS = {
  creationPolicy: 'WhenNeeded',
  deletionPolicy: 'Delete',
  conflictPolicy: 'Stuck',
  patchStrategy: 'apply',
  waitForReady: true,
  timeoutSeconds: 300,
  skipOnDependencyFailure: true,
} as const;
