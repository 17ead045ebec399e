import { requireBundled } from './bundled-require.ts';

/**
 * The schema validators of the kinds nearly every hub uses: those of Lynq's resource lists
 * (at the apiVersions Kubernetes serves today) and the engines' own objects. Each is
 * required by its name, which lets the build bundle it into dist/ (scripts/build.ts), so
 * its code is compiled once and kept between runs (bin/lynq.mjs); from node_modules, a
 * kind's ~150 schema modules are read and compiled on every start (a Deployment: about a
 * sixth of a sync's start-up). Other kinds are required by path (k8s-schema.ts).
 */

type Module = Record<string, unknown>;

/** Module name (kubernetes-models/apps/v1/Deployment) → the module. */
export const BUNDLED_MODELS: ReadonlyMap<string, () => Module> = new Map<string, () => Module>([
  [
    'kubernetes-models/v1/ServiceAccount',
    () => requireBundled('kubernetes-models/v1/ServiceAccount', () => require('kubernetes-models/v1/ServiceAccount')),
  ],
  [
    'kubernetes-models/apps/v1/Deployment',
    () => requireBundled('kubernetes-models/apps/v1/Deployment', () => require('kubernetes-models/apps/v1/Deployment')),
  ],
  [
    'kubernetes-models/apps/v1/StatefulSet',
    () =>
      requireBundled('kubernetes-models/apps/v1/StatefulSet', () => require('kubernetes-models/apps/v1/StatefulSet')),
  ],
  [
    'kubernetes-models/apps/v1/DaemonSet',
    () => requireBundled('kubernetes-models/apps/v1/DaemonSet', () => require('kubernetes-models/apps/v1/DaemonSet')),
  ],
  [
    'kubernetes-models/v1/Service',
    () => requireBundled('kubernetes-models/v1/Service', () => require('kubernetes-models/v1/Service')),
  ],
  [
    'kubernetes-models/networking.k8s.io/v1/Ingress',
    () =>
      requireBundled('kubernetes-models/networking.k8s.io/v1/Ingress', () =>
        require('kubernetes-models/networking.k8s.io/v1/Ingress'),
      ),
  ],
  [
    'kubernetes-models/v1/ConfigMap',
    () => requireBundled('kubernetes-models/v1/ConfigMap', () => require('kubernetes-models/v1/ConfigMap')),
  ],
  [
    'kubernetes-models/v1/Secret',
    () => requireBundled('kubernetes-models/v1/Secret', () => require('kubernetes-models/v1/Secret')),
  ],
  [
    'kubernetes-models/v1/PersistentVolumeClaim',
    () =>
      requireBundled('kubernetes-models/v1/PersistentVolumeClaim', () =>
        require('kubernetes-models/v1/PersistentVolumeClaim'),
      ),
  ],
  [
    'kubernetes-models/batch/v1/Job',
    () => requireBundled('kubernetes-models/batch/v1/Job', () => require('kubernetes-models/batch/v1/Job')),
  ],
  [
    'kubernetes-models/batch/v1/CronJob',
    () => requireBundled('kubernetes-models/batch/v1/CronJob', () => require('kubernetes-models/batch/v1/CronJob')),
  ],
  [
    'kubernetes-models/policy/v1/PodDisruptionBudget',
    () =>
      requireBundled('kubernetes-models/policy/v1/PodDisruptionBudget', () =>
        require('kubernetes-models/policy/v1/PodDisruptionBudget'),
      ),
  ],
  [
    'kubernetes-models/networking.k8s.io/v1/NetworkPolicy',
    () =>
      requireBundled('kubernetes-models/networking.k8s.io/v1/NetworkPolicy', () =>
        require('kubernetes-models/networking.k8s.io/v1/NetworkPolicy'),
      ),
  ],
  [
    'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
    () =>
      requireBundled('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', () =>
        require('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'),
      ),
  ],
  [
    'kubernetes-models/v1/Namespace',
    () => requireBundled('kubernetes-models/v1/Namespace', () => require('kubernetes-models/v1/Namespace')),
  ],
  [
    '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application',
    () =>
      requireBundled('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application', () =>
        require('@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application'),
      ),
  ],
  [
    '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization',
    () =>
      requireBundled('@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization', () =>
        require('@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1/Kustomization'),
      ),
  ],
  [
    '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository',
    () =>
      requireBundled('@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository', () =>
        require('@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/GitRepository'),
      ),
  ],
]);
