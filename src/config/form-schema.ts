import { z } from 'zod';
import { JsonPathError, toArgoIgnorePath } from './json-path.ts';
import { Metadata, ObjectName } from './hub-schema.ts';
import { LYNQ_POLICY_DEFAULTS as DEFAULTS } from './policy-defaults.ts';

/** A resource id names a file (`<id>.yaml`), so it must be a safe path segment. */
const ResourceId = z
  .string()
  .max(100)
  .regex(
    /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/,
    'must be letters, digits, ".", "_" and "-", starting and ending alphanumeric',
  )
  .refine((id) => !['kustomization', 'lynqnode'].includes(id.toLowerCase()), {
    message: 'is reserved: kustomization.yaml and lynqnode.yaml are written by the bridge',
  });

/** Lynq's JSONPath (`$.spec.replicas`); checked here because Argo CD's ignoreDifferences is made from it. */
const IgnoreField = z.string().superRefine((path, ctx) => {
  try {
    toArgoIgnorePath(path);
  } catch (error) {
    if (!(error instanceof JsonPathError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
  }
});

/**
 * A row selector (`plan == "enterprise"`): one template expression over the row's
 * variables, read as `bool` reads a value. Checked for syntax at load (row-selector.ts),
 * against the hub's variables and the sandbox by `lynq validate` and before any row renders.
 */
/** A form's `spec.rollout.progressDeadlineSeconds` when it sets none; also the deadline a node of a form without `spec.rollout` is watched by (`lynq_nodes_past_progress_deadline`). */
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;

export const RowCondition = z
  .string()
  .min(1)
  .max(2000)
  .refine((expression) => !/\{\{|\}\}|\{%|%\}|\{#|#\}/.test(expression), {
    message: 'is an expression, not a template: write it without {{ }} (plan == "enterprise")',
  });

/** One entry of a form's resource lists, with Lynq's field names and defaults. */
export const TResource = z.strictObject({
  id: ResourceId,
  spec: z.record(z.string(), z.unknown()),
  nameTemplate: z.string().optional(),
  labelsTemplate: z.record(z.string(), z.string()).default({}),
  annotationsTemplate: z.record(z.string(), z.string()).default({}),
  targetNamespace: z.string().optional(),
  dependIds: z.array(z.string()).default([]),
  creationPolicy: z.enum(['Once', 'WhenNeeded']).default(DEFAULTS.creationPolicy),
  deletionPolicy: z.enum(['Delete', 'Retain']).default(DEFAULTS.deletionPolicy),
  conflictPolicy: z.enum(['Stuck', 'Force']).default(DEFAULTS.conflictPolicy),
  patchStrategy: z.enum(['apply', 'merge', 'replace']).default(DEFAULTS.patchStrategy),
  waitForReady: z.boolean().default(DEFAULTS.waitForReady),
  timeoutSeconds: z.number().int().min(1).max(3600).default(DEFAULTS.timeoutSeconds),
  /** JSONPath of fields the engine should not revert (Argo CD ignoreDifferences). */
  ignoreFields: z.array(IgnoreField).default([]),
  skipOnDependencyFailure: z.boolean().default(DEFAULTS.skipOnDependencyFailure),
  /** Bridge extension: the resource is rendered only for rows where this holds (a premium add-on). */
  when: RowCondition.optional(),
});
export type TResource = z.infer<typeof TResource>;

/** Lynq's 16 resource lists, in Lynq's order; the list names the expected kind. */
export const RESOURCE_LISTS = {
  serviceAccounts: 'ServiceAccount',
  deployments: 'Deployment',
  statefulSets: 'StatefulSet',
  daemonSets: 'DaemonSet',
  services: 'Service',
  ingresses: 'Ingress',
  configMaps: 'ConfigMap',
  secrets: 'Secret',
  persistentVolumeClaims: 'PersistentVolumeClaim',
  jobs: 'Job',
  cronJobs: 'CronJob',
  podDisruptionBudgets: 'PodDisruptionBudget',
  networkPolicies: 'NetworkPolicy',
  horizontalPodAutoscalers: 'HorizontalPodAutoscaler',
  namespaces: 'Namespace',
  manifests: undefined,
} as const satisfies Record<string, string | undefined>;
export type ResourceList = keyof typeof RESOURCE_LISTS;
export const RESOURCE_LIST_NAMES = Object.keys(RESOURCE_LISTS) as ResourceList[];

const resourceLists = Object.fromEntries(RESOURCE_LIST_NAMES.map((list) => [list, z.array(TResource).default([])])) as {
  [K in ResourceList]: z.ZodDefault<z.ZodArray<typeof TResource>>;
};

export const FormSpec = z.strictObject({
  hubId: ObjectName,
  /** Bridge extension: which of the hub's active rows get a node of this form; all of them when absent. */
  rows: z.strictObject({ when: RowCondition }).optional(),
  ...resourceLists,
  /** How a change of this form reaches its nodes (sync/rollout-gate.ts); not part of any node's hash. */
  rollout: z
    .strictObject({
      /** At most this many of the form's nodes changed and not yet Ready at a time; 0: no limit. */
      maxSkew: z.number().int().min(0).default(0),
      /** A node not Ready this long after its commit halts the rollout. */
      progressDeadlineSeconds: z.number().int().min(60).max(3600).default(DEFAULT_PROGRESS_DEADLINE_SECONDS),
      /** A column the hub maps (extraValueMappings) that orders the nodes; else the uid. */
      orderBy: z.string().min(1).optional(),
      /** uids changed first, in this order. */
      canary: z.array(z.string().min(1)).default([]),
      /** Gate row changes and new rows too (Lynq does); by default only form, hub and bridge changes wait. */
      gateRowChanges: z.boolean().default(false),
    })
    .optional(),
});
export type FormSpec = z.infer<typeof FormSpec>;

export const FormFile = z.strictObject({
  apiVersion: z.literal('operator.lynq.sh/v1'),
  kind: z.literal('LynqForm'),
  metadata: Metadata,
  spec: FormSpec,
});
export type FormFile = z.infer<typeof FormFile>;
