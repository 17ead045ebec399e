import { isRemoteUrl } from '../config/repo-url.ts';
import type { Hub } from '../config/load.ts';
import { RenderError } from '../errors.ts';
import { toCanonicalYaml } from '../render/canonical-yaml.ts';
import { sha256, stableJson } from '../render/hash.ts';
import { argoApplication } from './argocd.ts';
import { fluxKustomizations } from './flux.ts';
import { perClusterFlux } from './clusters.ts';
import { validateManifest } from '../config/k8s-schema.ts';
import type { EngineFiles, EngineNode, ResolvedGitops } from './types.ts';

const resolved = new WeakMap<Hub, ResolvedGitops>();

/** The hub's engine settings with defaults from `spec.publish` and `metadata.namespace`; memoised per hub. */
export function resolveGitops(hub: Hub): ResolvedGitops {
  const known = resolved.get(hub);
  if (known !== undefined) return known;
  const { gitops, publish } = hub.spec;
  const repo = publish.repo !== undefined && isRemoteUrl(publish.repo) ? publish.repo : undefined;
  const settings = {
    engine: gitops.engine,
    appsRoot: gitops.appsRoot.replace(/^\.\//, '').replace(/\/+$/, ''),
    namespace: hub.namespace,
    // A missing URL is a config error found when the hub is loaded; '' only reaches engine `none`.
    argocd: {
      ...gitops.argocd,
      repoURL: gitops.argocd.repoURL ?? repo ?? '',
      targetRevision: gitops.argocd.targetRevision ?? publish.branch,
    },
    flux: withoutDefaultLayout(gitops.flux),
    clusters: gitops.clusters,
  };
  // Only what shapes the output: the settings of an engine not in use change no file (nor do clusters a hub does not list: its hash stays).
  const used = {
    engine: settings.engine,
    appsRoot: settings.appsRoot,
    namespace: settings.namespace,
    [settings.engine]: settings[settings.engine as 'argocd' | 'flux'],
    ...(gitops.clusters === undefined ? {} : { clusters: gitops.clusters, defaultCluster: gitops.defaultCluster }),
  };
  const result: ResolvedGitops = { ...settings, hash: sha256(stableJson(used)) };
  resolved.set(hub, result);
  return result;
}

/** `flux.layout: management` said out loud is the default: the same settings, so the same hash and no node rewritten. */
function withoutDefaultLayout(flux: Hub['spec']['gitops']['flux']): Hub['spec']['gitops']['flux'] {
  if (flux.layout !== 'management') return flux;
  const { layout: _layout, ...rest } = flux;
  return rest;
}

/**
 * `<appsRoot>/<hub>/<form>/<uid>.yaml`, or, for Flux with one instance per cluster
 * (`flux.layout: per-cluster`), `<appsRoot>/<hub>/<cluster>/<form>/<uid>.yaml`: the path
 * that cluster's Flux reconciles. The segments are checked DNS labels by the time they get here.
 */
export function appFilePath(
  gitops: Pick<ResolvedGitops, 'appsRoot' | 'engine' | 'flux'>,
  hub: string,
  form: string,
  uid: string,
  cluster?: string,
): string {
  if (cluster !== undefined && perClusterFlux(gitops))
    return `${gitops.appsRoot}/${hub}/${cluster}/${form}/${uid}.yaml`;
  return `${gitops.appsRoot}/${hub}/${form}/${uid}.yaml`;
}

/**
 * The node's engine objects: one Argo CD Application, or one Flux Kustomization per DAG
 * level, in one file under `<appsRoot>`. They are checked against their CRD schema once
 * per hub and form: the objects of a form's nodes differ only in strings (names, paths,
 * label values, each checked where it is made), never in shape, so one check speaks for
 * all and 10,000 nodes do not pay for it 10,000 times. A problem fails the node, naming
 * the object and the field.
 */
export function engineFiles(gitops: ResolvedGitops, node: EngineNode): EngineFiles {
  if (gitops.engine === 'none') return { appFile: undefined, nodeFiles: [], objects: [] };
  const built =
    gitops.engine === 'argocd'
      ? { objects: [argoApplication(gitops, node)], nodeFiles: [] }
      : fluxKustomizations(gitops, node);
  let checked = validatedForms.get(gitops);
  if (checked === undefined) validatedForms.set(gitops, (checked = new Set()));
  const formKey = `${node.form}@${node.formHash}`;
  if (!checked.has(formKey)) {
    for (const object of built.objects) {
      const problem = validateManifest(withoutUndefined(object) as Record<string, unknown>);
      if (problem === undefined) continue;
      const { kind, metadata } = object as { kind: string; metadata: { name: string } };
      throw new RenderError(
        `the ${kind} ${metadata.name} does not validate against its CRD schema: ${problem.message}`,
        {
          hub: node.hub,
          form: node.form,
          uid: node.uid,
          field: problem.path,
        },
      );
    }
    checked.add(formKey);
  }
  return {
    appFile: {
      path: appFilePath(gitops, node.hub, node.form, node.uid, node.cluster?.name),
      content: built.objects.map((object) => toCanonicalYaml(object)).join('---\n'),
    },
    nodeFiles: built.nodeFiles,
    objects: built.objects.map((object) => {
      const metadata = object.metadata as { name: string; namespace: string };
      return {
        apiVersion: object.apiVersion as string,
        kind: object.kind as string,
        name: metadata.name,
        namespace: metadata.namespace,
      };
    }),
  };
}

/**
 * Per hub (its resolved settings, memoised per Hub object): the forms, by name and content,
 * whose engine objects passed the schema check. A changed form is checked again; a
 * reloaded hub is a new object, so nothing stale outlives it.
 */
const validatedForms = new WeakMap<ResolvedGitops, Set<string>>();

/** Optional fields are built as undefined; drop them, so the schema check sees what the YAML says. */
export function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = withoutUndefined(item);
  return out;
}
