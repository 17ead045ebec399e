import { z } from 'zod';
import { DnsLabel } from './dns-label.ts';
import { isRemoteUrl } from './repo-url.ts';

const Name = DnsLabel;

/** A Go duration as Flux accepts it: `30s`, `5m`, `1h30m`. */
const Duration = z.string().regex(/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/, 'must be a duration like 30s, 5m or 1h30m');

/** A repository folder: relative, of plain folder names, not inside .git. Checked against `publish.root` in hub-schema. */
const Folder = z
  .string()
  .min(1)
  .refine(
    (folder) => {
      const segments = folder.replace(/\/+$/, '').split('/');
      return (
        !folder.startsWith('/') &&
        segments.every(
          (segment) => /^[A-Za-z0-9._-]+$/.test(segment) && segment !== '.' && segment !== '..' && segment !== '.git',
        )
      );
    },
    { message: 'must be a folder inside the repository, like "apps"' },
  );

export const ArgoCdSettings = z.strictObject({
  /** Where the Applications live (the namespace Argo CD watches). */
  namespace: Name.default('argocd'),
  project: z.string().min(1).default('default'),
  /** `CreateNamespace=true` on every node Application: Argo CD creates the destination namespace. Default false (optional, so hubs without it keep their settings hash). */
  createNamespace: z.boolean().optional(),
  /** The manifests repository as Argo CD reaches it; default: `spec.publish.repo` when that is a URL. */
  repoURL: z.string().min(1).optional(),
  /** Default: `spec.publish.branch`. */
  targetRevision: z.string().min(1).optional(),
  destination: z
    .strictObject({
      /** The cluster's API server; default `https://kubernetes.default.svc` (the cluster Argo CD runs in) unless `name` is given. */
      server: z.string().min(1).optional(),
      /** A cluster registered in Argo CD, by name, instead of `server`. */
      name: z.string().min(1).optional(),
      /** Default namespace of the node's resources; default: the hub's `metadata.namespace`. */
      namespace: Name.optional(),
    })
    .refine((destination) => destination.server === undefined || destination.name === undefined, {
      message: 'give server or name, not both',
    })
    .prefault({}),
  syncPolicy: z
    .strictObject({
      /** Sync on every change in Git; without it, someone presses Sync. */
      automated: z.boolean().default(true),
      /** With `automated`: delete resources that left the node folder. */
      prune: z.boolean().default(true),
      /** With `automated`: revert changes made in the cluster. */
      selfHeal: z.boolean().default(true),
      /** More Application-level sync options, such as `CreateNamespace=true`. */
      syncOptions: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
});
export type ArgoCdSettings = z.infer<typeof ArgoCdSettings>;

export const FluxSettings = z.strictObject({
  /** Where the Kustomizations live. */
  namespace: Name.default('flux-system'),
  /** The GitRepository the node Kustomizations read; `flux bootstrap` makes one named flux-system. */
  sourceRef: z
    .strictObject({
      name: Name.default('flux-system'),
      /** Default: the Kustomizations' namespace. */
      namespace: Name.optional(),
    })
    .prefault({}),
  /** When given, `lynq bootstrap` also prints the GitRepository (named `sourceRef.name`) for the manifests repository. */
  gitRepository: z
    .strictObject({
      /** Default: `spec.publish.repo` when that is a URL. */
      url: z.string().min(1).optional(),
      /** A Secret with the credentials Flux uses to read the repository. */
      secretRef: z.strictObject({ name: Name }).optional(),
      interval: Duration.default('1m'),
    })
    .optional(),
  interval: Duration.default('10m'),
  retryInterval: Duration.optional(),
  /** Delete what left the node, and everything when the node goes. */
  prune: z.boolean().default(true),
  /** Wait for the node's resources to be ready (those with waitForReady) before the Kustomization is Ready. */
  wait: z.boolean().default(true),
  /** Default: the longest timeoutSeconds of the resources the Kustomization applies. */
  timeout: Duration.optional(),
  serviceAccountName: Name.optional(),
  targetNamespace: Name.optional(),
  /** SOPS decryption, for SOPS-encrypted Secrets under `manifests`. */
  decryption: z
    .strictObject({ provider: z.literal('sops'), secretRef: z.strictObject({ name: Name }).optional() })
    .optional(),
  /**
   * For a hub whose rows name clusters: `management` (the default) — one Flux in a
   * management cluster, each node Kustomization reaching its cluster through
   * `kubeConfig.secretRef`, every node file under `<appsRoot>/<hub>/`; `per-cluster` — one
   * Flux per cluster, each reconciling its own path `<appsRoot>/<hub>/<cluster>/`, the node
   * Kustomizations applying in the cluster they live in. Optional, so hubs without it keep
   * their settings hash.
   */
  layout: z.enum(['management', 'per-cluster']).optional(),
});
export type FluxSettings = z.infer<typeof FluxSettings>;

/**
 * A cluster a row may name (`valueMappings.cluster`), as Argo CD's cluster generator sees a
 * registered cluster: its name, and its API server when Argo CD should be given that.
 */
export const GitopsCluster = z.strictObject({
  /** A DNS label: it becomes part of the node's engine object names. */
  name: Name,
  /** Argo CD: the Application's `destination.server`; without it, `destination.name` is the cluster's name. */
  server: z
    .url({ protocol: /^https?$/, error: 'must be the cluster API server URL, like https://eu-1.example.com:6443' })
    .optional(),
  /** Flux: the Secret (in the Kustomizations' namespace) holding the cluster's kubeconfig, for `kubeConfig.secretRef`; default `<name>-kubeconfig`. */
  kubeConfigSecret: Name.optional(),
});
export type GitopsCluster = z.infer<typeof GitopsCluster>;

export const GitopsEngine = z.enum(['argocd', 'flux', 'none']);
export type GitopsEngine = z.infer<typeof GitopsEngine>;

/** `spec.gitops` on a hub: which engine applies the nodes, and its settings. */
export const Gitops = z.strictObject({
  engine: GitopsEngine.default('none'),
  /** Folder of the per-node Applications or Kustomizations: `<appsRoot>/<hub>/<form>/<uid>.yaml`. */
  appsRoot: Folder.default('apps'),
  /** After a push, ask the engine to apply the changed nodes now (Argo CD's refresh annotation, Flux's requestedAt) instead of at its next poll. Needs a cluster. */
  refresh: z.boolean().default(false),
  argocd: ArgoCdSettings.prefault({}),
  flux: FluxSettings.prefault({}),
  /** The clusters rows may name through `valueMappings.cluster`: each node goes to its row's cluster. */
  clusters: z
    .array(GitopsCluster)
    .min(1)
    .refine((clusters) => new Set(clusters.map((cluster) => cluster.name)).size === clusters.length, {
      message: 'names each cluster once',
    })
    .optional(),
  /** The cluster of a row whose cluster column is empty; without it, such a row's nodes fail, named. */
  defaultCluster: Name.optional(),
  /**
   * Pause a node by an annotation on its LynqNode in the cluster (`lynq.sh/paused: "true"`,
   * with an optional `lynq.sh/paused-reason`): each sync lists the hub's LynqNodes before
   * planning, and fails the hub when it cannot. Off by default: a sync then never asks the
   * cluster. Shapes no file, so it is in no hash.
   */
  pauseFromLynqNode: z.boolean().optional(),
});
export type Gitops = z.infer<typeof Gitops>;

type IssueSink = { addIssue(issue: { code: 'custom'; path: Array<string | number>; message: string }): void };

/**
 * Rules that span `spec.gitops` and `spec.publish`: an engine needs a URL it can reach
 * (a local `publish.repo` is only good for the bridge), and the apps folder must not
 * share a path with the node folders.
 */
export function checkGitopsAgainstPublish(
  spec: { gitops: Gitops; publish: { repo?: string | undefined; root: string } },
  ctx: IssueSink,
): void {
  const { gitops, publish } = spec;
  const url = publish.repo !== undefined && isRemoteUrl(publish.repo);
  if (gitops.engine === 'argocd' && gitops.argocd.repoURL === undefined && !url) {
    ctx.addIssue({
      code: 'custom',
      path: ['gitops', 'argocd', 'repoURL'],
      message: 'is required: Argo CD needs the URL of the manifests repository, and spec.publish.repo is not a URL',
    });
  }
  if (
    gitops.engine === 'flux' &&
    gitops.flux.gitRepository !== undefined &&
    gitops.flux.gitRepository.url === undefined &&
    !url
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['gitops', 'flux', 'gitRepository', 'url'],
      message: 'is required: Flux needs the URL of the manifests repository, and spec.publish.repo is not a URL',
    });
  }
  if (gitops.engine === 'flux' && gitops.flux.layout === 'per-cluster' && gitops.clusters === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['gitops', 'flux', 'layout'],
      message:
        'per-cluster needs spec.gitops.clusters (and spec.valueMappings.cluster): it gives each cluster a path of its own; without clusters, leave layout out',
    });
  }
  if (
    gitops.defaultCluster !== undefined &&
    !(gitops.clusters ?? []).some((cluster) => cluster.name === gitops.defaultCluster)
  ) {
    ctx.addIssue({
      code: 'custom',
      path: ['gitops', 'defaultCluster'],
      message: `must be one of spec.gitops.clusters (${(gitops.clusters ?? []).map((cluster) => cluster.name).join(', ') || 'none'})`,
    });
  }
  const apps = trimFolder(gitops.appsRoot);
  const root = trimFolder(publish.root);
  if (apps === root || apps.startsWith(`${root}/`) || root.startsWith(`${apps}/`)) {
    ctx.addIssue({
      code: 'custom',
      path: ['gitops', 'appsRoot'],
      message: `must be a folder apart from spec.publish.root (${publish.root})`,
    });
  }
}

function trimFolder(folder: string): string {
  return folder.replace(/^\.\//, '').replace(/\/+$/, '');
}
