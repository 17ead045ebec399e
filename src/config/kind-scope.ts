import { CLUSTER_SCOPED_KINDS } from './cluster-scoped.ts';
import { BUILT_IN_SCOPES } from './k8s-scopes.ts';

/** Whether a kind's objects live in a namespace (`Namespaced`) or in the cluster (`Cluster`, no metadata.namespace). */
export type KindScope = 'Cluster' | 'Namespaced';

/**
 * Kinds of projects the bridge's users apply often, whose CRDs it does not ship: their
 * scope as those CRDs declare it. Any other CRD kind's scope a hub declares
 * (`spec.kindScopes`), or it is unknown.
 */
const KNOWN_CRD_SCOPES: Readonly<Record<string, Readonly<Record<string, KindScope>>>> = {
  'argoproj.io': { Application: 'Namespaced', ApplicationSet: 'Namespaced', AppProject: 'Namespaced' },
  'kustomize.toolkit.fluxcd.io': { Kustomization: 'Namespaced' },
  'source.toolkit.fluxcd.io': {
    GitRepository: 'Namespaced',
    HelmRepository: 'Namespaced',
    OCIRepository: 'Namespaced',
    Bucket: 'Namespaced',
  },
  'helm.toolkit.fluxcd.io': { HelmRelease: 'Namespaced' },
  'operator.lynq.sh': { LynqNode: 'Namespaced', LynqHub: 'Namespaced', LynqForm: 'Namespaced' },
  'bitnami.com': { SealedSecret: 'Namespaced' },
  'external-secrets.io': {
    ExternalSecret: 'Namespaced',
    SecretStore: 'Namespaced',
    ClusterSecretStore: 'Cluster',
    ClusterExternalSecret: 'Cluster',
    PushSecret: 'Namespaced',
  },
  'cert-manager.io': {
    Certificate: 'Namespaced',
    Issuer: 'Namespaced',
    ClusterIssuer: 'Cluster',
    CertificateRequest: 'Namespaced',
  },
  'snapshot.storage.k8s.io': {
    VolumeSnapshot: 'Namespaced',
    VolumeSnapshotClass: 'Cluster',
    VolumeSnapshotContent: 'Cluster',
  },
  'gateway.networking.k8s.io': {
    GatewayClass: 'Cluster',
    Gateway: 'Namespaced',
    HTTPRoute: 'Namespaced',
    GRPCRoute: 'Namespaced',
    TCPRoute: 'Namespaced',
    TLSRoute: 'Namespaced',
    UDPRoute: 'Namespaced',
    ReferenceGrant: 'Namespaced',
    BackendTLSPolicy: 'Namespaced',
  },
  'monitoring.coreos.com': { ServiceMonitor: 'Namespaced', PodMonitor: 'Namespaced', PrometheusRule: 'Namespaced' },
};

/** The API group of an apiVersion ("" for the core group: `v1`, `core/v1`). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  if (slash === -1) return '';
  const group = apiVersion.slice(0, slash).trim();
  return group === 'core' ? '' : group;
}

/**
 * The scope of a kind: from the schemas of the built-in kinds (k8s-scopes.ts), then a
 * hub's declaration (`spec.kindScopes`, by `Kind.group` or by `Kind`), then the known CRD
 * kinds above; undefined when none says (the object is rendered namespaced, and the
 * bridge warns).
 */
export function kindScope(
  apiVersion: string,
  kind: string,
  declared: Readonly<Record<string, KindScope>> = {},
): KindScope | undefined {
  const group = groupOf(apiVersion);
  const builtIn = BUILT_IN_SCOPES[group]?.[kind];
  if (builtIn !== undefined) return builtIn;
  const own = declared[group === '' ? kind : `${kind}.${group}`] ?? declared[kind];
  if (own !== undefined) return own;
  const known = KNOWN_CRD_SCOPES[group]?.[kind];
  if (known !== undefined) return known;
  // The list the bridge had before it read schemas, by kind alone: kept so no form that worked changes.
  return CLUSTER_SCOPED_KINDS.has(kind) ? 'Cluster' : undefined;
}

/** Per resource of a form whose kind and apiVersion are written out: one line for each of unknown scope. */
export function unknownScopes(
  forms: ReadonlyArray<{
    name: string;
    file: string;
    resources: ReadonlyArray<{ id: string; spec: Readonly<Record<string, unknown>> }>;
  }>,
  declared: Readonly<Record<string, KindScope>> | undefined,
): string[] {
  const lines: string[] = [];
  for (const form of forms) {
    for (const resource of form.resources) {
      const { apiVersion, kind } = resource.spec;
      if (
        typeof apiVersion !== 'string' ||
        typeof kind !== 'string' ||
        apiVersion.includes('{{') ||
        kind.includes('{{')
      )
        continue;
      if (kindScope(apiVersion, kind, declared) !== undefined) continue;
      const key = groupOf(apiVersion) === '' ? kind : `${kind}.${groupOf(apiVersion)}`;
      lines.push(
        `${form.file}, form ${form.name}, resource ${resource.id}: the scope of kind ${kind} (${apiVersion}) is unknown: it is rendered namespaced; if it is cluster-scoped, declare it in the hub (spec.kindScopes: { ${key}: Cluster })`,
      );
    }
  }
  return lines;
}
